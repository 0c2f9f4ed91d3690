"""task: multilabel — BCE on 2 examples by hand, label lists read and counted, thresholds tuned on validation
only, an iterative-stratification split, a run end to end and its export served in a fresh process."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.config import load_config
from tfbig.errors import UserError
from tfbig.reports.multilabel import GRID, tune_thresholds
from tfbig.tasks.registry import get_task
from tfbig.testing import tiny_run_overrides

WORDS = ["game", "club", "players", "win", "bank", "shares", "market", "growth", "sales", "price"]


def _features(n: int = 2, length: int = 5):
    ids = tf.constant(np.arange(n * length).reshape(n, length) % 40 + 5, tf.int32)
    return {"input_ids": ids, "attention_mask": tf.ones_like(ids), "token_type_ids": tf.zeros_like(ids)}


def test_the_loss_and_its_gradient_on_two_examples_by_hand(tiny_bert_dir):
    from tfbig.models.backbone import HFBertBackbone
    from tfbig.models.hf_bert import load_hf_bert
    from tfbig.train.task_model import TaskModel

    task = get_task("multilabel").fit([("a", "c"), ("b",), ()])
    assert task.labels == ["a", "b", "c"]
    model = TaskModel(HFBertBackbone(load_hf_bert(tiny_bert_dir, dropout=0.0), name="backbone"), task, dropout=0.0)
    x = _features()
    y = tf.constant(task.encode([("a", "c"), ()]))
    np.testing.assert_array_equal(y.numpy(), [[1, 0, 1], [0, 0, 0]])
    with tf.GradientTape() as tape:
        objective = model.compute_objective(x, y, training=True)
    grad = tape.gradient(objective["loss"], model.head.dense.bias).numpy()
    z = model(x).numpy().astype(np.float64)
    p = 1 / (1 + np.exp(-z))
    bce = -(y.numpy() * np.log(p) + (1 - y.numpy()) * np.log(1 - p))
    assert float(objective["loss"]) == pytest.approx(bce.mean(), rel=1e-5)
    np.testing.assert_allclose(grad, (p - y.numpy()).sum(0) / 6, rtol=1e-4, atol=1e-7)  # ∂/∂b: (σ(z) − y)/(B·L)


def test_distillation_is_zero_for_the_teacher_and_positive_otherwise():
    task = get_task("multilabel", ["a", "b"])
    teacher = tf.constant([[2.0, -1.0], [0.5, 3.0]])
    q = task.soft_targets([teacher], [1.0], 2.0)
    np.testing.assert_allclose(q.numpy(), 1 / (1 + np.exp(-teacher.numpy() / 2)), rtol=1e-6)
    np.testing.assert_allclose(task.distill_loss(teacher, q, 2.0).numpy(), [0, 0], atol=1e-5)
    assert (task.distill_loss(teacher * 0, q, 2.0).numpy() > 0.01).all()


def test_thresholds_maximise_each_labels_f1_on_the_given_outputs():
    rng = np.random.default_rng(0)
    y = rng.random((40, 3)) < 0.4
    y[:, 2] = False  # no positive: keeps 0.5
    p = np.clip(y * 0.3 + rng.random((40, 3)) * 0.7, 0, 1)
    got = tune_thresholds(y, p)
    for k in range(2):
        f1 = [2 * ((p[:, k] >= t) & y[:, k]).sum() / max((p[:, k] >= t).sum() + y[:, k].sum(), 1) for t in GRID]
        assert got[k] in GRID[np.flatnonzero(np.isclose(f1, max(f1)))]
    assert got[2] == 0.5


def test_label_lists_are_read_from_jsonl_and_csv_and_empty_ones_counted(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "one", "label": ["x", "y", "x"]}\n{"text": "two", "label": []}\n'
                                      '{"text": "three", "label": "y"}\n')
    cfg = load_config(None, [f"data.source={tmp_path / 'a.jsonl'}", "task=multilabel"])
    examples, stats = get_task("multilabel").read_examples(cfg.data)
    assert examples.labels == [("x", "y"), (), ("y",)] and stats["empty_label_lists"] == 1
    (tmp_path / "a.csv").write_text("text,tags\none,x; y\ntwo,\n")
    cfg = load_config(None, [f"data.source={tmp_path / 'a.csv'}", "task=multilabel", "data.label_column=tags",
                             "data.label_separator=;"])
    examples, stats = get_task("multilabel").read_examples(cfg.data)
    assert examples.labels == [("x", "y"), ()] and stats["empty_label_lists"] == 1
    (tmp_path / "bad.jsonl").write_text('{"text": "one", "label": {"x": 1}}\n')
    cfg.data.source, cfg.data.label_column = str(tmp_path / "bad.jsonl"), "label"
    with pytest.raises(UserError, match=r"bad.jsonl, line 1: labels .* neither a list nor"):
        get_task("multilabel").read_examples(cfg.data)


def test_a_label_list_for_classification_says_multilabel_fits(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"text": "one", "label": "x"}\n{"text": "two", "label": ["x", "y"]}\n')
    cfg = load_config(None, [f"data.source={tmp_path / 'a.jsonl'}", "data.on_error=skip"])
    with pytest.raises(UserError, match=r"a.jsonl, line 2: 'label' is a list of labels .*task: multilabel"):
        get_task("classification").read_examples(cfg.data)


def _write_tagged(path: str, n: int = 60) -> None:
    """Tags: sport (a sports word), market (a market word), rare (the word 'price', ~1 in 10), some none."""
    rng = np.random.default_rng(1)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            words = list(rng.choice(WORDS + ["the", "of", "a", "and"], size=4))
            tags = sorted({"sport" for w in words if w in WORDS[:4]} | {"market" for w in words if w in WORDS[4:]}
                          | {"rare" for w in words if w == "price"})
            f.write(json.dumps({"text": " ".join(words) + f" {i}", "label": tags}) + "\n")


def test_the_iterative_split_puts_every_label_in_every_split(tmp_path):
    _write_tagged(str(tmp_path / "t.jsonl"))
    cfg = load_config(None, [f"data.source={tmp_path / 't.jsonl'}", "task=multilabel"])
    task = get_task("multilabel")
    examples, _ = task.read_examples(cfg.data)
    splits = task.split(examples, 0.25, 0.25, seed=0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (30, 15, 15)
    for part in (splits.train, splits.val, splits.test):
        assert {name for row in part.labels for name in row} == {"market", "rare", "sport"}
    assert sorted(splits.train.texts + splits.val.texts + splits.test.texts) == sorted(examples.texts)


CHILD = r"""
import json, sys
import numpy as np
import tensorflow as tf
import tensorflow_text  # noqa: F401
texts = json.load(open(sys.argv[2], encoding="utf-8"))
out = tf.saved_model.load(sys.argv[3]).signatures["serving_default"](text=tf.constant(texts))
np.save(sys.argv[1] + "_p.npy", out["probabilities"].numpy())
json.dump([s.decode() for s in out["labels"].numpy()], open(sys.argv[1] + "_labels.json", "w"))
"""


def test_a_run_tunes_on_validation_reports_and_its_export_serves_in_a_fresh_process(tmp_path, tiny_bert_dir):
    from tfbig.export.from_run import export_run
    from tfbig.jobs.train_job import train_run
    from tfbig.runs.folder import RunFolder
    from tfbig.train.data import load_run_data
    from tfbig.train.evaluation import predict_outputs

    data = str(tmp_path / "tags.jsonl")
    _write_tagged(data)
    sets = tiny_run_overrides(str(tmp_path), data, tiny_bert_dir, "ml") + [
        "task=multilabel", "train.monitor=val_micro_f1", "train.baseline=true", "data.test_fraction=0.25",
        "data.val_fraction=0.25", "train.learning_rate=3e-3", "train.precision=float32", "train.epochs=1"]
    cfg = load_config(None, sets)
    report = train_run(cfg)
    assert report["task"] == "multilabel" and report["labels"] == ["market", "rare", "sport"]
    assert report["best"]["monitor"] == "val_micro_f1" and 0 <= report["micro"]["f1"] <= 1
    assert report["baseline"]["model"] == "TF-IDF + one-vs-rest logistic regression"
    run_dir = os.path.join(str(tmp_path), "runs", "ml")
    assert os.path.getsize(os.path.join(run_dir, "per_label.png")) > 1000

    # The thresholds are those tuned on the validation split's outputs alone.
    run_data = load_run_data(cfg)
    val, test = run_data.splits.val, run_data.splits.test
    rebuilt = RunFolder(run_dir).load_model()
    val_p = 1 / (1 + np.exp(-predict_outputs(rebuilt, val.texts, run_data.tokenizer, 4).astype(np.float64)))
    want = tune_thresholds(rebuilt.task.encode(val.labels), val_p)
    np.testing.assert_allclose(report["thresholds"], want)
    np.testing.assert_allclose(rebuilt.head.thresholds.numpy(), want, rtol=1e-6)  # kept in the weights
    meta = json.loads(open(os.path.join(report["export"], "assets", "tfbig_export.json")).read())
    np.testing.assert_allclose(meta["thresholds"], want)
    again = export_run(run_dir, str(tmp_path / "again"))  # rebuilt from the run folder: the same thresholds
    np.testing.assert_allclose(json.loads(open(os.path.join(again, "assets", "tfbig_export.json")).read())["thresholds"],
                               want)

    # A fresh process serves the in-memory probabilities and the names above each label's threshold.
    logits = predict_outputs(rebuilt, test.texts, run_data.tokenizer, 4).astype(np.float64)
    probs = 1 / (1 + np.exp(-logits))
    (tmp_path / "texts.json").write_text(json.dumps(test.texts))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_USE_LEGACY_KERAS")}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "served"), str(tmp_path / "texts.json"),
                           report["export"]], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "served_p.npy"), probs, atol=1e-5)
    names = ["|".join(n for n, p, t in zip(report["labels"], row, want) if p >= t) for row in probs]
    assert json.loads((tmp_path / "served_labels.json").read_text()) == names


def test_the_summary_scalars_are_top_level_report_keys():
    """A distillation's report_extras reads report[key] for the first summary scalar (teacher vs student)."""
    ml = get_task("multilabel", ["a", "b"])
    report = ml.report(np.asarray([[1, 0], [0, 1], [0, 0]], np.float32), np.asarray([[2, -2], [-1, 3], [-4, -4.0]]))
    assert report["micro_f1"] == report["micro"]["f1"] == 1.0 and report["empty_label_lists"] == 1
    assert all(key in report for key in ml.summary_scalars(report))
    reg = get_task("regression", ["y"])
    reg.fit([(0.0,), (1.0,)])
    report = reg.report(np.asarray([[0.0], [1.0], [2.0]]), np.asarray([[0.1], [1.2], [1.9]]))
    assert all(key in report for key in reg.summary_scalars(report))
