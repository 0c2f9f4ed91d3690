"""One training run from a RunConfig: data → model → fit → test report → SavedModel."""
import logging
import os
import time
from dataclasses import dataclass

import numpy as np

from tfbig._keras import keras, tf
from tfbig.config import RunConfig, save_config
from tfbig.data.clean import clean
from tfbig.data.pipeline import make_dataset
from tfbig.data.readers import Examples
from tfbig.data.sources import load_examples
from tfbig.data.split import Splits, stratified_split
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.distribute import backup_callbacks, make_strategy, shard_per_worker
from tfbig.io_utils import atomic_write_json, atomic_write_text
from tfbig.models.backbone import build_backbone
from tfbig.models.classifier import TextClassifier
from tfbig.models.folder import check_model_folder, default_model_dir
from tfbig.train.optimizers import build_optimizer
from tfbig.train.precision import set_precision, wrap_optimizer

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
                           penalty_exclude=t.penalty_exclude, name="classifier")
    length = min(8, cfg.data.max_length)
    model({"input_ids": tf.ones([1, length], tf.int32), "attention_mask": tf.ones([1, length], tf.int32),
           "token_type_ids": tf.zeros([1, length], tf.int32)})
    return model


def predict_logits(model, texts, tokenizer, batch_size: int) -> np.ndarray:
    """Logits in input order (no bucketing, which would reorder)."""
    ds = make_dataset(texts, None, tokenizer, batch_size, bucketing=False)
    return np.concatenate([model.predict_on_batch(x) for x, _ in ds], axis=0) if len(texts) else np.zeros((0,))


def train_run(cfg: RunConfig) -> dict:
    """Trains, evaluates on the test split, writes the run folder and exports; returns the report."""
    strategy = make_strategy(cfg)  # first: multi-worker setup and logical devices must precede any TF op
    keras.utils.set_random_seed(cfg.seed)
    set_precision(cfg.train.precision)  # before any layer is built: layers take the global policy
    run_dir = cfg.run_dir
    os.makedirs(run_dir, exist_ok=True)
    save_config(cfg, os.path.join(run_dir, "config.yaml"))
    prep = prepare(cfg)
    splits, tok, d, t = prep.splits, prep.tokenizer, cfg.data, cfg.train
    atomic_write_text(os.path.join(run_dir, "labels.txt"), "\n".join(splits.labels) + "\n")

    train_ds = make_dataset(splits.train.texts, label_ids(splits.train, splits.labels), tok, d.batch_size,
                            shuffle=True, seed=cfg.seed, bucketing=d.bucketing, static_shapes=d.static_shapes)
    val_ds = None
    if len(splits.val):
        val_ds = make_dataset(splits.val.texts, label_ids(splits.val, splits.labels), tok, d.batch_size,
                              bucketing=d.bucketing, static_shapes=d.static_shapes)
    train_ds, val_ds = shard_per_worker(train_ds), shard_per_worker(val_ds)
    steps_per_epoch = -(-len(splits.train) // d.batch_size)
    with strategy.scope():
        model = build_classifier(cfg, prep.model_dir, len(splits.labels))
        optimizer = wrap_optimizer(build_optimizer(t, steps_per_epoch * t.epochs), t.precision)
        model.compile(optimizer=optimizer, steps_per_execution=t.steps_per_execution)

    callbacks = backup_callbacks(cfg.runtime) + [keras.callbacks.TensorBoard(os.path.join(run_dir, "logs"))]
    if val_ds is not None and t.early_stopping_patience > 0:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=t.monitor, mode="max" if "acc" in t.monitor or "f1" in t.monitor else "min",
            patience=t.early_stopping_patience, restore_best_weights=True))
    callbacks.append(keras.callbacks.ModelCheckpoint(
        os.path.join(run_dir, "checkpoints", "epoch-{epoch:02d}.weights"), save_weights_only=True))
    start = time.time()
    history = model.fit(train_ds, validation_data=val_ds, epochs=t.epochs, callbacks=callbacks, verbose=2)
    train_seconds = time.time() - start

    report = evaluate_split(model, splits.test, splits.labels, tok, d.batch_size)
    report.update({"train_seconds": round(train_seconds, 1), "epochs_run": len(history.epoch),
                   "split_sizes": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
                   "cleaning": prep.cleaning})
    if t.baseline:
        from tfbig.evaluate.baseline import tfidf_baseline

        report["baseline_tfidf_logreg"] = tfidf_baseline(
            splits.train.texts + splits.val.texts, label_ids(splits.train, splits.labels) +
            label_ids(splits.val, splits.labels), splits.test.texts, label_ids(splits.test, splits.labels),
            splits.labels, seed=cfg.seed)
    from tfbig.evaluate.report import plot_confusion_matrix

    plot_confusion_matrix(report["confusion_matrix"], splits.labels, os.path.join(run_dir, "confusion_matrix.png"))
    from tfbig.export.saved_model import export_saved_model

    with open(os.path.join(run_dir, "config.yaml"), encoding="utf-8") as f:
        config_text = f.read()
    report["export"] = export_saved_model(model, tok, splits.labels, os.path.join(cfg.export_dir, cfg.name),
                                          assets={"config.yaml": config_text})
    model.save_weights(os.path.join(run_dir, "final.weights"))
    atomic_write_json(os.path.join(run_dir, "report.json"), report)
    return report


def evaluate_split(model, examples: Examples, labels: list, tokenizer, batch_size: int) -> dict:
    from tfbig.evaluate.report import classification_report

    logits = predict_logits(model, examples.texts, tokenizer, batch_size)
    return classification_report(label_ids(examples, labels), logits.argmax(-1), labels)
