"""`tfbig evaluate` for every task: labelled data read through the task's own reader with the run's config (a run
folder's config.yaml, or the config.yaml an export keeps in its assets), scored by `Task.report`, written by
`Task.write_report` and `Task.markdown`."""
import dataclasses
import logging
import os

import numpy as np

from tfbig.errors import UserError
from tfbig.io_utils import atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)


def export_config(export):
    """The training run's RunConfig, from the config.yaml an export keeps (assets/, else assets.extra/)."""
    from tfbig.config import load_config
    from tfbig.export.loader import ASSET_FOLDERS

    for folder in ASSET_FOLDERS:
        path = os.path.join(export.path, folder, "config.yaml")
        if os.path.isfile(path):
            return load_config(path, check_model=False)
    raise UserError(f"{export.path}: no config.yaml in {' or '.join(ASSET_FOLDERS)}: the export does not say how "
                    "its task reads labelled data")


def data_config(cfg, data: str, data_format: str | None, text_column: str | None, label_column: str | None):
    """The run's data section pointed at `data` (columns and format as the run read them unless given)."""
    given = {"source": data, "format": data_format, "text_column": text_column, "label_column": label_column}
    return dataclasses.replace(cfg.data, train="", **{k: v for k, v in given.items() if v})


def read_task_examples(task, data_cfg):
    """Examples of labelled data through the task's reader, their targets checked against its vocabulary."""
    examples, _ = task.read_examples(data_cfg)
    if not len(examples):
        raise UserError(f"{data_cfg.source}: no labelled examples")
    task.check_targets(examples.labels, data_cfg.source)
    return examples


def run_outputs(run_dir: str, data, options: dict, batch_size: int | None):
    """(task, encoded targets, outputs, data name) of a run folder's rebuilt model on `data` (None: its test split)."""
    from tfbig.runs.folder import RunFolder
    from tfbig.train.data import load_run_data, model_folder
    from tfbig.train.evaluation import split_outputs
    from tfbig.data.tokenizer import BertTextTokenizer

    folder = RunFolder(run_dir)
    folder.require_finished()
    cfg = folder.read_config()
    model = folder.load_model()
    task = model.task  # its head holds the tuned thresholds / target stats
    if data is None:
        examples, name = load_run_data(cfg).splits.test, "the run's test split"
    else:
        examples, name = read_task_examples(task, data_config(cfg, data, **options)), data
    tokenizer = BertTextTokenizer.from_model_dir(model_folder(cfg), cfg.data.max_length)
    y_true, outputs = split_outputs(model, examples, task, tokenizer, batch_size or cfg.data.batch_size)
    return task, y_true, outputs, name


def export_outputs(export, data, options: dict, batch_size: int | None):
    """(task, encoded targets, outputs, data name) of a SavedModel's serving_default on `data`."""
    if data is None:
        raise UserError("--data is required for a SavedModel")
    task = export.task
    examples = read_task_examples(task, data_config(export_config(export), data, **options))
    y_true, outputs = task.served_outputs(export, examples, batch_size or 64)
    return task, y_true, outputs, data


def evaluate_task(model_path: str, kind: str, data: str | None, out: str | None, options: dict,
                  batch_size: int | None) -> dict:
    """{"report", "out", "text"}: the task's report on the data, written to `out` (report.json, report.md, plots)."""
    if kind == "run":
        task, y_true, outputs, data_name = run_outputs(model_path, data, options, batch_size)
    else:
        from tfbig.export.loader import SavedTaskModel

        export = SavedTaskModel(model_path)
        task, y_true, outputs, data_name = export_outputs(export, data, options, batch_size)
        model_path = export.path
    report = task.report(np.asarray(y_true) if np.asarray(y_true).dtype != object else y_true, outputs)
    report.update({"task": task.name, "model": model_path, "model_kind": kind, "data": data_name})
    out = out or (os.path.join(model_path, "evaluation") if kind == "run" else "evaluation")
    os.makedirs(out, exist_ok=True)
    images = task.write_report(report, out, title=data_name)
    atomic_write_json(os.path.join(out, "report.json"), report)
    details = {"model": f"`{model_path}` ({kind})", "data": data_name}
    atomic_write_text(os.path.join(out, "report.md"), task.markdown(report, "Evaluation report", details, images))
    log.info("evaluation written to %s", out)
    return {"report": report, "out": out, "text": task.format_report(report)}
