"""`tfbig train --seeds`: one run folder per seed and a summary whose means are those of their reports."""
import json
import math
import os
import statistics

import pytest

from tfbig.cli import main
from tfbig.errors import UserError
from tfbig.jobs.seeds import parse_seeds
from tfbig.reports.seeds import flatten_numbers, seeds_summary
from tfbig.testing import tiny_run_overrides, write_tiny_folder_dataset


def test_flatten_and_sample_std():
    report = {"accuracy": 0.5, "macro": {"f1": 0.25}, "ok": True, "labels": ["a"], "name": "x",
              "floor": {"accuracy": {"model": 0.5, "floor": 0.75, "beats": False}}}
    assert flatten_numbers(report) == {"accuracy": 0.5, "macro.f1": 0.25, "floor.accuracy.model": 0.5,
                                       "floor.accuracy.floor": 0.75}
    summary = seeds_summary({0: {"a": 1.0, "b": {"c": 2}}, 1: {"a": 2.0, "b": {"c": 4}}, 2: {"a": 6.0}})
    assert list(summary["metrics"]) == ["a"]  # b.c is missing from seed 2
    assert summary["metrics"]["a"] == {"mean": 3.0, "std": pytest.approx(math.sqrt(7.0)), "values": [1.0, 2.0, 6.0]}
    assert seeds_summary({5: {"a": 1.0}})["metrics"]["a"]["std"] == 0.0


@pytest.mark.parametrize("text", ["0,x", "1,1", ""])
def test_bad_seeds_are_refused(text):
    with pytest.raises(UserError, match="--seeds expects"):
        parse_seeds(text)


def test_seeds_write_one_run_each_and_the_summary_of_their_reports(tmp_path, tiny_bert_dir, capsys):
    tmp = str(tmp_path)
    data = write_tiny_folder_dataset(os.path.join(tmp, "data"))
    sets = tiny_run_overrides(tmp, data, tiny_bert_dir, "multi", **{"train.epochs": 1})
    assert main(["train", "--seeds", "3,7"] + [a for s in sets for a in ("--set", s)]) == 0
    root = os.path.join(tmp, "runs", "multi")
    reports = []
    for seed in (3, 7):
        with open(os.path.join(root, f"seed_{seed}", "report.json")) as f:
            reports.append(json.load(f))
        assert os.path.isdir(os.path.join(tmp, "exports", "multi", f"seed_{seed}", "1"))
    with open(os.path.join(root, "seeds_summary.json")) as f:
        summary = json.load(f)
    assert summary["seeds"] == [3, 7] and summary["std"] == "sample (n - 1)"
    for key, get in {"accuracy": lambda r: r["accuracy"], "macro.f1": lambda r: r["macro"]["f1"],
                     "train_seconds": lambda r: r["train_seconds"],
                     "baseline.accuracy": lambda r: r["baseline"]["accuracy"],
                     "per_class.c1.recall": lambda r: r["per_class"]["c1"]["recall"]}.items():
        values = [get(r) for r in reports]
        assert summary["metrics"][key]["values"] == values, key
        assert summary["metrics"][key]["mean"] == pytest.approx(statistics.mean(values)), key
        assert summary["metrics"][key]["std"] == pytest.approx(statistics.stdev(values)), key
    md = open(os.path.join(root, "seeds_summary.md")).read()
    m = summary["metrics"]["accuracy"]
    assert f"| accuracy | {m['mean']:.4f} ± {m['std']:.4f} |" in md
    assert f"accuracy             {m['mean']:.4f} ± {m['std']:.4f}" in capsys.readouterr().out
