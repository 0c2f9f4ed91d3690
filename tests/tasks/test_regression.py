"""task: regression — the loss on 2 examples by hand, the readers' errors, a run end to end and its export
served in a fresh process."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.config import load_config
from tfbig.errors import UserError
from tfbig.tasks.metrics import MeanPearson
from tfbig.tasks.registry import get_task
from tfbig.testing import tiny_run_overrides

WORDS = ["game", "club", "players", "win", "bank", "shares", "market", "growth", "sales", "price"]


def _features(n: int = 2, length: int = 5):
    ids = tf.constant(np.arange(5, 5 + n * length).reshape(n, length) % 40 + 5, tf.int32)
    return {"input_ids": ids, "attention_mask": tf.ones_like(ids), "token_type_ids": tf.zeros_like(ids)}


def _tiny_regressor(folder, task):
    from tfbig.models.backbone import HFBertBackbone
    from tfbig.models.hf_bert import load_hf_bert
    from tfbig.train.task_model import TaskModel

    model = TaskModel(HFBertBackbone(load_hf_bert(folder, dropout=0.0), name="backbone"), task, dropout=0.0)
    model(_features())
    return model


@pytest.mark.parametrize("loss", ["mse", "huber"])
def test_the_loss_and_its_gradient_on_two_examples_by_hand(tiny_bert_dir, loss):
    task = get_task("regression", ["a", "b"])
    task.loss_kind, task.huber_delta = loss, 0.5
    task.fit([(1.0, 10.0), (3.0, 30.0), (2.0, 50.0)])  # mean (2, 30), std (√(2/3), √(800/3))
    np.testing.assert_allclose(task.mean, [2.0, 30.0])
    np.testing.assert_allclose(task.std, [np.sqrt(2 / 3), np.sqrt(800 / 3)])
    model = _tiny_regressor(tiny_bert_dir, task)
    x, y = _features(), tf.constant([[1.5, 70.0], [2.5, 20.0]])
    with tf.GradientTape() as tape:
        objective = model.compute_objective(x, y, training=True)
    bias = model.head.dense.bias
    grad = tape.gradient(objective["loss"], bias).numpy()

    # By hand: out = z·std + mean, d = (out − y)/std = z − (y − mean)/std; loss = mean over (i, k) of ℓ(d).
    out = model(x).numpy().astype(np.float64)
    std = np.asarray(task.std)
    d = (out - y.numpy()) / std
    if loss == "mse":
        value, dl = d**2, 2 * d
    else:
        a = np.abs(d)
        value = np.where(a <= 0.5, 0.5 * d**2, 0.5 * (a - 0.25))
        dl = np.where(a <= 0.5, d, 0.5 * np.sign(d))
    assert float(objective["loss"]) == pytest.approx(value.mean(), rel=1e-5)
    # ∂loss/∂b_k = Σ_i ℓ'(d_ik) / (B·K): z moves one for one with the bias.
    np.testing.assert_allclose(grad, dl.sum(axis=0) / 4, rtol=1e-4, atol=1e-7)
    # The outputs are in the targets' own units: the head de-standardises with the fitted stats.
    z = model.head.dense(model.backbone(x)["pooled_output"]).numpy()
    np.testing.assert_allclose(out, z * std + np.asarray(task.mean), rtol=1e-5)


def test_distillation_is_the_mse_to_the_teachers_weighted_prediction():
    task = get_task("regression", ["a"])
    task.fit([(0.0,), (2.0,)])  # std 1
    targets = task.soft_targets([tf.constant([[1.0], [3.0]]), tf.constant([[3.0], [5.0]])], [0.25, 0.75], 2.0)
    np.testing.assert_allclose(targets.numpy(), [[2.5], [4.5]])
    np.testing.assert_allclose(task.distill_loss(targets, targets, 2.0).numpy(), [0.0, 0.0])
    np.testing.assert_allclose(task.distill_loss(tf.constant([[3.5], [4.5]]), targets, 2.0).numpy(), [1.0, 0.0])


def test_the_streaming_pearson_equals_corrcoef_over_all_rows():
    rng = np.random.default_rng(0)
    y, p = rng.normal(size=(10, 2)), rng.normal(size=(10, 2))
    metric = MeanPearson(2)
    metric.update_state(y[:3], p[:3])
    metric.update_state(y[3:], p[3:])
    want = np.mean([np.corrcoef(y[:, k], p[:, k])[0, 1] for k in range(2)])
    assert float(metric.result()) == pytest.approx(want, abs=1e-6)


def test_a_non_numeric_target_names_file_line_and_value(tmp_path):
    cfg = load_config(None, [f"data.source={tmp_path / 'scores.csv'}", "data.label_column=x,y", "task=regression"])
    (tmp_path / "scores.csv").write_text("text,x,y\nfirst,1.5,2\nsecond,0.5,high\n")
    with pytest.raises(UserError, match=r"scores.csv, line 3: target 'y' is 'high', not a finite number"):
        get_task("regression").read_examples(cfg.data)
    (tmp_path / "scores.csv").write_text("text,x,y\nfirst,1.5,2\nsecond,0.5,-1e1\n")
    examples, _ = get_task("regression").read_examples(cfg.data)
    assert examples.labels == [(1.5, 2.0), (0.5, -10.0)]
    cfg.data.on_error = "skip"
    (tmp_path / "scores.csv").write_text("text,x,y\nfirst,1.5,2\nsecond,nan,1\n")
    examples, _ = get_task("regression").read_examples(cfg.data)
    assert examples.texts == ["first"] and examples.skipped == 1


def _write_scores(path: str, n: int = 48) -> None:
    """Two targets: the share of sports words and 10× the share of market words."""
    rng = np.random.default_rng(0)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            words = list(rng.choice(WORDS, size=6))
            sports = sum(w in WORDS[:4] for w in words) / 6
            f.write(json.dumps({"text": " ".join(words) + f" {i}", "sport": sports, "market": 10 * (1 - sports)}) + "\n")


CHILD = r"""
import json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401
texts = json.load(open(sys.argv[2], encoding="utf-8"))
out = tf.saved_model.load(sys.argv[3]).signatures["serving_default"](text=tf.constant(texts))
np.save(sys.argv[1], out["predictions"].numpy())
"""


def test_a_run_trains_reports_and_its_export_serves_in_a_fresh_process(tmp_path, tiny_bert_dir):
    from tfbig.jobs.train_job import train_run
    from tfbig.runs.folder import RunFolder
    from tfbig.train.data import load_run_data
    from tfbig.train.evaluation import predict_outputs

    data = str(tmp_path / "scores.jsonl")
    _write_scores(data)
    sets = tiny_run_overrides(str(tmp_path), data, tiny_bert_dir, "reg") + [
        "task=regression", "data.label_column=sport,market", "train.monitor=val_pearson", "train.baseline=true",
        "data.test_fraction=0.25", "data.val_fraction=0.25", "train.learning_rate=3e-3", "train.precision=float32",
        "train.epochs=1"]
    cfg = load_config(None, sets)
    report = train_run(cfg)

    assert report["task"] == "regression" and report["split_sizes"] == {"train": 24, "val": 12, "test": 12}
    assert set(report["per_target"]) == {"sport", "market"} and report["num_examples"] == 12
    assert report["best"]["monitor"] == "val_pearson"
    assert report["baseline"]["model"] == "TF-IDF + ridge" and "pearson" in report["baseline"]
    run_dir = os.path.join(str(tmp_path), "runs", "reg")
    assert os.path.getsize(os.path.join(run_dir, "scatter.png")) > 1000

    # The report is in the targets' units: recomputed from the in-memory model's outputs on the test split.
    run_data = load_run_data(cfg)
    test = run_data.splits.test
    train_y = np.asarray(run_data.splits.train.labels)
    rebuilt = RunFolder(run_dir).load_model()  # target mean/std come back with the weights
    np.testing.assert_allclose(rebuilt.head.target_mean.numpy(), train_y.mean(0), rtol=1e-5)
    np.testing.assert_allclose(rebuilt.head.target_std.numpy(), train_y.std(0), rtol=1e-5)
    predicted = predict_outputs(rebuilt, test.texts, run_data.tokenizer, 4)
    want = np.asarray(test.labels)
    assert report["mae"] == pytest.approx(np.mean(np.abs(predicted - want).mean(0)), rel=1e-4)
    meta = json.loads(open(os.path.join(report["export"], "assets", "tfbig_export.json")).read())
    assert meta["task"] == "regression" and meta["labels"] == ["sport", "market"]
    np.testing.assert_allclose(meta["target_mean"], train_y.mean(0), rtol=1e-5)

    # A fresh process with TensorFlow and tensorflow-text only serves the same predictions.
    (tmp_path / "texts.json").write_text(json.dumps(test.texts))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_USE_LEGACY_KERAS")}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "served.npy"), str(tmp_path / "texts.json"),
                           report["export"]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "served.npy"), predicted, atol=1e-4, rtol=1e-5)


def test_the_head_keeps_its_stats_in_float32_under_mixed_precision():
    from tfbig._keras import keras
    from tfbig.tasks.regression import RegressionHead

    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    head = RegressionHead(1, dropout=0.0, mean=[30.05], std=[1e-3])
    out = head({"pooled_output": tf.zeros([2, 4], tf.bfloat16)})
    assert out.dtype == tf.float32
    np.testing.assert_allclose(out.numpy()[:, 0], [30.05, 30.05], rtol=1e-7)
