"""A task is one file: a toy regression registered here trains, reports and exports through the skeleton."""
import json
import os

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from tfbig._keras import keras, tf
from tfbig.config import load_config
from tfbig.data.text_files import Examples
from tfbig.data.split import Splits
from tfbig.jobs.train_job import train_run
from tfbig.tasks.base import Task
from tfbig.tasks.registry import get_task, register_task, task_names
from tfbig.testing import tiny_run_overrides


class ScoreHead(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(1, name="dense")

    def call(self, backbone_outputs, training=False):
        return self.dense(backbone_outputs["pooled_output"])


@register_task
class ToyScore(Task):
    """One float per text: the mean squared error, reported as MSE and MAE."""

    name = "toy_score"
    loss_name = "mse"

    def fit(self, targets):
        self.labels = ["score"]
        return self

    def split(self, examples, test_fraction, val_fraction, seed):
        index = list(range(len(examples)))
        rest, test = train_test_split(index, test_size=test_fraction, random_state=seed)
        train, val = train_test_split(rest, test_size=val_fraction / (1 - test_fraction), random_state=seed)

        def take(ids):
            return Examples([examples.texts[i] for i in sorted(ids)], [examples.labels[i] for i in sorted(ids)])

        return Splits(take(train), take(val), take(test), ["score"])

    def encode(self, targets):
        return np.asarray([[float(t)] for t in targets], np.float32)

    def build_head(self, dropout):
        return ScoreHead(name="head")

    def loss(self, y, outputs):
        return tf.reduce_mean(tf.square(outputs - y), axis=-1)

    def metrics(self):
        return [keras.metrics.MeanAbsoluteError(name="mae")]

    def report(self, y_true, outputs):
        err = np.asarray(outputs, np.float64) - np.asarray(y_true, np.float64)
        return {"mse": float(np.mean(err**2)), "mae": float(np.mean(np.abs(err))), "num_examples": len(err)}

    def summary_scalars(self, report):
        return {"mse": report["mse"]}

    def serving_outputs(self, outputs):
        return {"score": outputs[:, 0]}


WORDS = ["game", "club", "players", "win", "bank", "shares", "market", "growth", "sales", "price"]


def _write_scores(path: str, n: int = 60) -> None:
    """Texts whose score is the share of sports words: learnable by a tiny model."""
    rng = np.random.default_rng(0)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            words = list(rng.choice(WORDS, size=6))
            score = sum(w in WORDS[:4] for w in words) / 6
            f.write(json.dumps({"text": " ".join(words) + f" {i}", "label": round(score, 4)}) + "\n")


def test_a_task_registered_in_a_test_file_trains_reports_and_exports(tmp_path, tiny_bert_dir):
    assert "toy_score" in task_names() and "classification" in task_names()
    data = str(tmp_path / "scores.jsonl")
    _write_scores(data)
    sets = tiny_run_overrides(str(tmp_path), data, tiny_bert_dir, "toy") + [
        "task=toy_score", "train.epochs=1", "train.monitor=val_loss", "data.test_fraction=0.25",
        "data.val_fraction=0.25", "train.learning_rate=3e-3"]
    report = train_run(load_config(None, sets))

    assert report["task"] == "toy_score" and report["split_sizes"] == {"train": 30, "val": 15, "test": 15}
    assert report["num_examples"] == 15 and report["mse"] >= 0 and report["mae"] > 0
    # The test report is the task's own numbers: recompute them from the export's outputs.
    import tensorflow_text  # noqa: F401  (the fast tokenizer's ops)

    served = tf.saved_model.load(report["export"])
    fn = served.signatures["serving_default"]
    assert set(fn.structured_outputs) == {"score"}
    run_dir = os.path.join(str(tmp_path), "runs", "toy")
    cfg = load_config(os.path.join(run_dir, "config.yaml"))
    assert cfg.task == "toy_score"
    from tfbig.train.data import load_run_data

    test = load_run_data(cfg).splits.test
    got = fn(text=tf.constant(test.texts))["score"].numpy()
    want = np.asarray([float(t) for t in test.labels])
    assert report["mse"] == pytest.approx(float(np.mean((got - want) ** 2)), rel=1e-4)
    # The run folder rebuilds the same model (its task from config.yaml) and predicts the same scores.
    from tfbig.runs.folder import RunFolder
    from tfbig.train.evaluation import predict_outputs

    rebuilt = RunFolder(run_dir).load_model()
    assert rebuilt.task.name == "toy_score"
    np.testing.assert_allclose(predict_outputs(rebuilt, test.texts, load_run_data(cfg).tokenizer, 4)[:, 0], got,
                               atol=1e-5)


def test_unknown_task_names_the_closest():
    from tfbig.errors import UserError

    with pytest.raises(UserError, match="task 'clasification' is not one of .*did you mean 'classification'"):
        get_task("clasification")
