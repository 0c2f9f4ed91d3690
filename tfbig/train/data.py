"""A run's data: read, cleaned and split by its task, with the model folder's tokenizer."""
import logging
from dataclasses import dataclass

from tfbig.data.text_files import Examples
from tfbig.data.shard_splits import presplit_shards
from tfbig.data.split import Splits, limit_per_class
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.errors import UserError
from tfbig.model_folder import check_model_folder, default_model_dir
from tfbig.tasks.registry import get_task

log = logging.getLogger(__name__)


@dataclass
class RunData:
    splits: Splits  # splits.labels is the task's vocabulary
    tokenizer: BertTextTokenizer
    model_dir: str
    task: object  # tfbig.tasks.Task, fitted on the training split
    cleaning: dict  # what cleaning dropped, per reason


def model_folder(cfg) -> str:
    model_dir = cfg.model.model_dir or default_model_dir()
    check_model_folder(model_dir)
    return model_dir


def load_run_data(cfg) -> RunData:
    """Reads, cleans and splits the data `cfg.data` names, as `cfg.task` shapes it."""
    model_dir = model_folder(cfg)
    log.info("reading %s", cfg.data.train or cfg.data.source)
    tokenizer = BertTextTokenizer.from_model_dir(model_dir, cfg.data.max_length)
    task = get_task(getattr(cfg, "task", "classification"))
    task.configure(cfg)
    if cfg.data.train:  # given train (validation, test) files, each read by the task; fitted on train
        splits, stats = task.read_given(cfg.data)
        return RunData(splits, tokenizer, model_dir, task, stats)
    presplit = presplit_shards(cfg.data)  # a shard folder with train/ (val/, test/): streamed as it is
    if presplit is not None:
        if task.name != "classification":
            raise UserError(f"data.source {cfg.data.source}: shard folders hold classification records; "
                            f"task '{task.name}' needs a CSV/TSV/JSONL file")
        task.labels = list(presplit.labels)
        return RunData(presplit, tokenizer, model_dir, task, {"presplit_shards": cfg.data.source})
    examples, stats = task.read_examples(cfg.data)
    examples = limit_per_class(examples, cfg.data.limit_per_class)
    d = cfg.data
    splits = task.split(examples, d.test_fraction, d.val_fraction, d.seed)
    task.fit(splits.train.labels)
    splits.labels = list(task.labels)
    log.info("split: %d train, %d validation, %d test; labels %s", len(splits.train), len(splits.val),
             len(splits.test), splits.labels)
    return RunData(splits, tokenizer, model_dir, task, stats)


def label_ids(examples: Examples, labels: list) -> list:
    """The class id (index in `labels`) of each example's label."""
    index = {name: i for i, name in enumerate(labels)}
    return [index[label] for label in examples.labels]
