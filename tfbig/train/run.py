"""One training run from a RunConfig: data → model → fit → test report → SavedModel."""
import logging
import os
import time
from dataclasses import dataclass

import numpy as np

from tfbig._keras import keras, tf
from tfbig.config import RunConfig, save_config
from tfbig.data.clean import clean
from tfbig.data.pipeline import make_dataset, split_dataset
from tfbig.data.readers import Examples
from tfbig.data.shard_reader import ShardErrors
from tfbig.data.shard_source import presplit_shards
from tfbig.data.sources import load_examples
from tfbig.data.split import Splits, stratified_split
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.distribute import backup_callbacks, make_strategy, shard_per_worker
from tfbig.distribute.cluster import num_workers
from tfbig.io_utils import atomic_write_json, atomic_write_text
from tfbig.models.backbone import build_backbone
from tfbig.models.classifier import TextClassifier
from tfbig.models.folder import check_model_folder, default_model_dir
from tfbig.train.callbacks import write_test_summaries
from tfbig.train.epoch_data import EpochData
from tfbig.train.fit import fit_resumable
from tfbig.train.optimizers import build_optimizer
from tfbig.train.precision import set_precision, wrap_optimizer
from tfbig.train.resume import checkpointable_dropout

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    splits: Splits
    tokenizer: BertTextTokenizer
    model_dir: str
    cleaning: dict


def limit_per_class(examples: Examples, n: int) -> Examples:
    if n <= 0:
        return examples
    out, seen = Examples(), {}
    for text, label in zip(examples.texts, examples.labels):
        if seen.get(label, 0) < n:
            seen[label] = seen.get(label, 0) + 1
            out.add(text, label)
    return out


def prepare(cfg: RunConfig) -> Prepared:
    """Reads, cleans and splits the data and builds the tokenizer of the model folder."""
    model_dir = cfg.model.model_dir or default_model_dir()
    check_model_folder(model_dir)
    presplit = presplit_shards(cfg.data)  # a shard folder with train/ (val/, test/): streamed as it is
    if presplit is not None:
        return Prepared(presplit, BertTextTokenizer.from_model_dir(model_dir, cfg.data.max_length), model_dir,
                        {"presplit_shards": cfg.data.source})
    examples, stats = clean(load_examples(cfg.data))
    examples = limit_per_class(examples, cfg.data.limit_per_class)
    d = cfg.data
    splits = stratified_split(examples, d.test_fraction, d.val_fraction, d.seed)
    log.info("split: %d train, %d validation, %d test; labels %s", len(splits.train), len(splits.val),
             len(splits.test), splits.labels)
    return Prepared(splits, BertTextTokenizer.from_model_dir(model_dir, d.max_length), model_dir, stats)


def label_ids(examples: Examples, labels: list) -> list:
    index = {name: i for i, name in enumerate(labels)}
    return [index[label] for label in examples.labels]


def build_classifier(cfg: RunConfig, model_dir: str, num_classes: int) -> TextClassifier:
    m, t = cfg.model, cfg.train
    backbone = build_backbone(m.backbone, model_dir, m.backbone_dropout)
    model = TextClassifier(backbone, num_classes, dropout=m.dropout, l2=t.l2, l1=t.l1,
                           penalty_exclude=t.penalty_exclude, accumulation_steps=t.accumulation_steps,
                           name="classifier")
    length = min(8, cfg.data.max_length)
    model({"input_ids": tf.ones([1, length], tf.int32), "attention_mask": tf.ones([1, length], tf.int32),
           "token_type_ids": tf.zeros([1, length], tf.int32)})
    return model


def predict_logits(model, texts, tokenizer, batch_size: int) -> np.ndarray:
    """Logits in input order (no bucketing, which would reorder)."""
    from tfbig.progress import progress

    ds = make_dataset(texts, None, tokenizer, batch_size, bucketing=False)
    batches = progress(ds, desc="predicting", total=-(-len(texts) // batch_size), unit="batch")
    # Not predict_on_batch: with steps_per_execution > 1 it reads that many batches from a one-batch iterator.
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return np.concatenate([forward(x).numpy() for x, _ in batches], axis=0) if len(texts) else np.zeros((0,))


def train_run(cfg: RunConfig, extra_callbacks: list | None = None) -> dict:
    """Trains, evaluates on the test split, writes the run folder and exports; returns the report.

    extra_callbacks: Keras callbacks added to fit's (benchmarks use one to time accuracy per epoch).
    The run folder is locked from its creation to the end: a second job on it is refused at once
    (tfbig.runs.lock). A cluster's non-chief workers lock their own `.workers/` folders (make_strategy).
    """
    from tfbig.runs import RunFolder

    strategy = make_strategy(cfg)  # first: multi-worker setup and logical devices must precede any TF op
    keras.utils.set_random_seed(cfg.seed)
    set_precision(cfg.train.precision)  # before any layer is built: layers take the global policy
    with RunFolder(cfg.run_dir).lock():  # after make_strategy, which points a worker at its own folder
        return _train_run(cfg, strategy, extra_callbacks)


def _train_run(cfg: RunConfig, strategy, extra_callbacks: list | None) -> dict:
    run_dir = cfg.run_dir
    os.makedirs(run_dir, exist_ok=True)
    save_config(cfg, os.path.join(run_dir, "config.yaml"))
    prep = prepare(cfg)
    splits, tok, d, t = prep.splits, prep.tokenizer, cfg.data, cfg.train
    atomic_write_text(os.path.join(run_dir, "labels.txt"), "\n".join(splits.labels) + "\n")

    train = EpochData.from_split(splits.train, splits.labels, tok, d.batch_size * t.accumulation_steps,
                                 seed=cfg.seed, bucketing=d.bucketing, static_shapes=d.static_shapes,
                                 on_error=d.on_error)
    val_ds = None
    if len(splits.val):
        val_ds = split_dataset(splits.val, splits.labels, tok, d.batch_size, bucketing=d.bucketing,
                               static_shapes=d.static_shapes, on_error=d.on_error)
    val_ds = shard_per_worker(val_ds)
    with ShardErrors():  # a bad shard record: one line naming the file and record, not a traceback
        steps_per_epoch = train.steps_per_epoch
    with strategy.scope(), checkpointable_dropout():
        model = build_classifier(cfg, prep.model_dir, len(splits.labels))
        optimizer = wrap_optimizer(build_optimizer(t, steps_per_epoch * t.epochs), t.precision)
        model.compile(optimizer=optimizer, steps_per_execution=t.steps_per_execution)

    start = time.time()
    # A cluster restores through Keras' BackupAndRestore, which every worker reads; a single process uses
    # tfbig's own resume (exact data position and RNG). Both at once would fight over fit's state.
    backups = backup_callbacks(cfg.runtime) if num_workers() > 1 else []
    with ShardErrors():
        fit = fit_resumable(cfg, model, train, val_ds, splits.labels, run_dir, transform=shard_per_worker,
                            extra_callbacks=backups + list(extra_callbacks or []), own_resume=not backups)
        train_seconds = time.time() - start
        report = evaluate_split(model, splits.test, splits.labels, tok, d.batch_size)
    epochs_run = len(fit.history.epoch) if fit.history else 0  # in this process: a resumed run counts the rest
    report.update({"train_seconds": round(train_seconds, 1), "epochs_run": epochs_run,
                   "resumed_from_step": fit.start_step, "steps": fit.end_step, "best": fit.best,
                   "split_sizes": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
                   "cleaning": prep.cleaning})
    if t.baseline and isinstance(splits.train, Examples):
        from tfbig.evaluate.baseline import tfidf_baseline

        report["baseline_tfidf_logreg"] = tfidf_baseline(
            splits.train.texts + splits.val.texts, label_ids(splits.train, splits.labels) +
            label_ids(splits.val, splits.labels), splits.test.texts, label_ids(splits.test, splits.labels),
            splits.labels, seed=cfg.seed)
    from tfbig.evaluate.report import plot_confusion_matrix

    plot_confusion_matrix(report["confusion_matrix"], splits.labels, os.path.join(run_dir, "confusion_matrix.png"))
    write_test_summaries(run_dir, report, step=t.epochs)
    from tfbig.export.saved_model import export_saved_model

    with open(os.path.join(run_dir, "config.yaml"), encoding="utf-8") as f:
        config_text = f.read()
    report["export"] = export_saved_model(model, tok, splits.labels, os.path.join(cfg.export_dir, cfg.name),
                                          assets={"config.yaml": config_text})
    model.save_weights(os.path.join(run_dir, "final.weights"))
    atomic_write_json(os.path.join(run_dir, "report.json"), report)
    return report


def evaluate_split(model, examples: Examples, labels: list, tokenizer, batch_size: int) -> dict:
    """The classification report of a split: in-memory Examples or a ShardSplit read from its files."""
    from tfbig.evaluate.report import classification_report

    predicted, true = [], []
    for x, y in split_dataset(examples, labels, tokenizer, batch_size, bucketing=False):
        predicted.append(np.asarray(model.predict_on_batch(x)).argmax(-1))
        true.append(y.numpy())
    if not true:
        return classification_report([], [], labels)
    return classification_report(np.concatenate(true).tolist(), np.concatenate(predicted).tolist(), labels)
