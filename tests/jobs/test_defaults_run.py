"""A tiny run on the defaults: epochs auto plans its budget, the floor is computed beside the model, and a
run that does not beat it ends with the warning line and its cause."""
import json
import logging
import os

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tfbig._keras import keras, tf
from tfbig.config import load_config
from tfbig.jobs.train_job import train_run
from tfbig.reports.floor import compare_to_floor, never_predicted
from tfbig.testing import tiny_run_overrides, write_tiny_folder_dataset


class ValLoss(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.values = []

    def on_epoch_end(self, epoch, logs=None):
        self.values.append(float(logs["val_loss"]))


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture(scope="module")
def weak_run(tmp_path_factory, tiny_bert_dir):
    """epochs auto (min_steps 12 → 2 epochs of 6 steps) at a learning rate too small to learn: below its floor.
    Balanced class weights go through the skeleton too (7 training texts of each class: every weight 1)."""
    tmp = str(tmp_path_factory.mktemp("weak"))
    data = write_tiny_folder_dataset(os.path.join(tmp, "data"))
    sets = tiny_run_overrides(tmp, data, tiny_bert_dir, "weak", **{
        "train.epochs": "auto", "train.min_steps": 12, "train.learning_rate": 1e-7,
        "train.early_stopping_patience": 1, "train.checkpoint_every_steps": 0, "train.class_weights": "balanced"})
    cfg = load_config(None, sets)
    val_loss, records, logger = ValLoss(), Records(), logging.getLogger("tfbig")
    logger.addHandler(records)
    level, logger.level = logger.level, logging.INFO
    try:
        report = train_run(cfg, extra_callbacks=[val_loss])
    finally:
        logger.removeHandler(records)
        logger.setLevel(level)
    return {"cfg": cfg, "report": report, "val_loss": val_loss.values, "records": records.records}


def test_auto_budget_is_planned_logged_and_recorded(weak_run):
    report = weak_run["report"]
    assert weak_run["cfg"].train.epochs == "auto"
    assert report["budget"] == {"steps_per_epoch": 6, "epochs": 2, "planned_steps": 12, "patience": 2,
                                "why": report["budget"]["why"]}
    assert report["steps_planned"] == 12 and report["steps"] == 12  # patience 2: 2 epochs cannot stop early
    messages = [r.getMessage() for r in weak_run["records"]]
    assert any(m.startswith("budget: 2 epoch(s) × 6 step(s) = 12 steps planned (epochs auto") for m in messages)


def test_the_floor_is_beside_the_model_in_every_output(weak_run):
    report, run_dir = weak_run["report"], weak_run["cfg"].run_dir
    base = report["baseline"]
    assert report["floor"] == compare_to_floor({"accuracy": report["accuracy"], "macro_f1": report["macro"]["f1"]},
                                               {"accuracy": base["accuracy"], "macro_f1": base["macro"]["f1"]})
    with open(os.path.join(run_dir, "report.json")) as f:
        assert json.load(f)["floor"] == report["floor"]
    with open(os.path.join(run_dir, "report.md")) as f:
        md = f.read()
    assert "## The floor" in md and f"| accuracy | {report['accuracy']:.4f} | {base['accuracy']:.4f} |" in md
    acc = EventAccumulator(os.path.join(run_dir, "logs", "test"), size_guidance={"tensors": 0})
    acc.Reload()
    got = {tag: float(tf.make_ndarray(acc.Tensors(tag)[0].tensor_proto)) for tag in ("floor_accuracy", "floor_macro_f1")}
    assert got == pytest.approx({"floor_accuracy": base["accuracy"], "floor_macro_f1": base["macro"]["f1"]})


def test_a_run_below_its_floor_ends_with_the_warning_and_the_cause(weak_run):
    report, records, val_loss = weak_run["report"], weak_run["records"], weak_run["val_loss"]
    assert not all(m["beats"] for m in report["floor"].values())
    last = records[-1]
    assert last.levelno == logging.WARNING and last.name == "tfbig.jobs.skeleton"
    line = last.getMessage()
    assert line.startswith("the model does not beat its floor (TF-IDF + logistic regression) on the test split: ")
    assert sum("does not beat its floor" in r.getMessage() for r in records) == 1  # once
    # The causes the run itself shows, read independently of the check.
    assert ("validation loss was still falling" in line) == (val_loss[-1] < val_loss[-2] and val_loss[-1] <= min(val_loss))
    missing = never_predicted(report)
    assert ("never predicted: " + ", ".join(missing) in line) == bool(missing)
    assert "Likely cause: " in line and "no cause stands out" not in line


def test_balanced_class_weights_are_recorded(weak_run):
    assert weak_run["report"]["class_weights"] == {"c0": 1.0, "c1": 1.0, "c2": 1.0}
