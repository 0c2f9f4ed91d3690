"""`tfbig evaluate` on each task's run folder and export: the written report is `Task.report` of the model's own
outputs on the data, read by the task's reader with the run's config; the task's plots are written."""
import json
import os

import numpy as np
import pytest

from tfbig.cli import main
from tfbig.train.evaluation import split_outputs

PNG = b"\x89PNG\r\n\x1a\n"
PLOTS = {"regression": "scatter.png", "multilabel": "per_label.png", "tagging": "confusion_matrix.png",
         "pairs": "scatter.png"}
KEYS = {"regression": ("pearson", "mae", "rmse"), "pairs": ("pearson", "mae", "rmse"),
        "multilabel": ("subset_accuracy", "samples_f1"), "tagging": ("token_accuracy", "num_tokens")}


def _reference(run):
    """Task.report of the in-memory model's outputs on the run's data, read as the run reads it."""
    task = run["task"]
    examples, _ = task.read_examples(run["cfg"].data)
    y, outputs = split_outputs(run["model"], examples, task, run["tokenizer"], 4)
    return task.report(y, outputs)


def _evaluate(run, kind, tmp_path, capsys):
    out = str(tmp_path / f"out-{kind}")
    source = run["run_dir"] if kind == "run" else os.path.dirname(run["export"])
    assert main(["evaluate", source, "--data", run["data"], "--out", out]) == 0
    printed = capsys.readouterr().out
    assert "report.md" in printed
    return json.load(open(os.path.join(out, "report.json"))), out


@pytest.mark.parametrize("task_kind", ["regression", "multilabel", "tagging", "pairs"])
@pytest.mark.parametrize("kind", ["run", "saved_model"])
def test_the_report_is_the_tasks_report_of_the_models_outputs(task_runs, task_kind, kind, tmp_path, capsys):
    run = task_runs(task_kind)
    report, out = _evaluate(run, kind, tmp_path, capsys)
    ref = _reference(run)
    assert report["task"] == run["task"].name and report["model_kind"] == kind
    for key in KEYS[task_kind]:
        # A random head's predictions vary little: their correlation moves with float rounding (batching).
        assert report[key] == pytest.approx(ref[key], abs=5e-3 if key == "pearson" else 1e-4), key
    if task_kind == "multilabel":
        assert report["micro"]["f1"] == pytest.approx(ref["micro"]["f1"], abs=1e-6)
        assert report["thresholds"] == pytest.approx([0.45, 0.55][:len(run["task"].labels)])
    if task_kind == "tagging":
        assert report["confusion_matrix"] == ref["confusion_matrix"]
    with open(os.path.join(out, PLOTS[task_kind]), "rb") as f:
        assert f.read(8) == PNG
    md = open(os.path.join(out, "report.md"), encoding="utf-8").read()
    assert PLOTS[task_kind] in md


def test_a_run_is_scored_on_its_test_split(task_runs, capsys):
    run = task_runs("regression")
    assert main(["evaluate", run["run_dir"]]) == 0
    report = json.load(open(os.path.join(run["run_dir"], "evaluation", "report.json")))
    assert report["data"] == "the run's test split" and report["num_examples"] == 4  # 16 rows, test 0.2


def test_a_missing_column_is_named(task_runs, tmp_path, capsys):
    run = task_runs("regression")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "the club", "sport": 0.5}) + "\n", encoding="utf-8")
    for source in (run["run_dir"], run["export"]):
        assert main(["evaluate", source, "--data", str(bad), "--out", str(tmp_path / "o")]) == 2
        assert "market" in capsys.readouterr().err
    pairs = task_runs("pairs")
    bad.write_text(json.dumps({"text": "the club", "market": 0.5}) + "\n", encoding="utf-8")
    assert main(["evaluate", pairs["export"], "--data", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "other" in capsys.readouterr().err
