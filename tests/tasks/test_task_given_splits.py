"""Given splits (data.train, data.validation, data.test) for regression, multilabel, pairs and tagging: each file
read by the task's own reader, leaks dropped on the task's key, the task fitted on train, the held-out
validation cut by the task's split, unknown targets refused naming the file, and one run end to end."""
import csv
import json
import random

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from tfbig.config import load_config
from tfbig.errors import UserError
from tfbig.tasks.registry import get_task
from tfbig.testing import tiny_run_overrides

WORDS = ["game", "club", "players", "win", "bank", "shares", "market", "growth", "sales", "price"]


def _jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def _csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _read_given(kind, paths, *sets):
    cfg = load_config(None, [f"task={kind}"] + [f"data.{k}={v}" for k, v in paths.items()] + list(sets))
    task = get_task(kind).configure(cfg)
    splits, stats = task.read_given(cfg.data)
    return task, splits, stats


def _texts(n, seed):
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(5)) + f" {seed}-{i}" for i in range(n)]


# --- regression ----------------------------------------------------------------------------------------------
def test_regression_reads_float_targets_drops_leaks_and_standardises_on_train(tmp_path):
    train = [{"text": t, "score": float(i)} for i, t in enumerate(_texts(8, 0))]
    train += [{"text": train[2]["text"].replace(" ", "  "), "score": 9.0},  # a duplicate after cleaning
              {"text": "seen in test", "score": 1.0}, {"text": "seen in validation", "score": 2.0}]
    validation = [{"text": "seen in validation", "score": 3.0}, {"text": "seen in test", "score": 3.0},
                  {"text": "only validation", "score": 4.0}]
    test = [{"text": "seen in test", "score": 5.0}, {"text": "only test", "score": 6.0}]
    paths = {"train": _jsonl(tmp_path / "train.jsonl", train), "validation": _jsonl(tmp_path / "val.jsonl", validation),
             "test": _jsonl(tmp_path / "test.jsonl", test)}
    task, splits, stats = _read_given("regression", paths, "data.label_column=score")

    assert (len(splits.train), len(splits.val), len(splits.test)) == (8, 2, 2)
    assert stats["leaks_dropped"] == {"train": 2, "validation": 1} and stats["validation_held_out"] == 0
    assert stats["train"]["duplicates"] == 1 and stats["given_splits"] == paths
    assert splits.val.texts == ["seen in validation", "only validation"]
    assert splits.train.labels == [(float(i),) for i in range(8)]
    assert task.labels == ["score"] and splits.labels == ["score"]
    assert task.mean == pytest.approx([3.5]) and task.std == pytest.approx([np.std(range(8))])


def test_regression_holds_out_a_seeded_random_part_of_train_and_names_a_bad_target(tmp_path):
    texts = _texts(20, 1)
    paths = {"train": _csv(tmp_path / "train.csv", ["text", "y"], [(t, i) for i, t in enumerate(texts)]),
             "test": _csv(tmp_path / "test.csv", ["text", "y"], [("a test text", 1)])}
    task, splits, stats = _read_given("regression", paths, "data.label_column=y", "data.val_fraction=0.25",
                                      "data.seed=4")
    rest, held = train_test_split(list(range(20)), test_size=0.25, random_state=4)
    assert splits.val.texts == [texts[i] for i in sorted(held)]
    assert splits.train.texts == [texts[i] for i in sorted(rest)]
    assert stats["validation_held_out"] == 0.25 and stats["leaks_dropped"] == {"train": 0}
    assert task.mean == pytest.approx([np.mean(sorted(rest))])  # fitted on what trains, not on all of train
    _csv(tmp_path / "test.csv", ["text", "y"], [("a test text", 1), ("another", "high")])
    with pytest.raises(UserError, match=r"test.csv, line 3: target 'y' is 'high', not a finite number"):
        _read_given("regression", paths, "data.label_column=y")


# --- multilabel ----------------------------------------------------------------------------------------------
def _label_rows(n, seed):
    rng = random.Random(seed)
    return [{"text": t, "tags": sorted(set(rng.sample(["a", "b", "c"], rng.randint(1, 2))))}
            for t in _texts(n, seed)]


def test_multilabel_reads_label_lists_drops_leaks_and_holds_out_by_iterative_stratification(tmp_path):
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    train = _label_rows(24, 2)
    test = _label_rows(4, 3) + [{"text": train[5]["text"], "tags": ["a"]}]
    paths = {"train": _jsonl(tmp_path / "train.jsonl", train), "test": _jsonl(tmp_path / "test.jsonl", test)}
    task, splits, stats = _read_given("multilabel", paths, "data.label_column=tags", "data.val_fraction=0.25",
                                      "data.seed=2")
    assert stats["leaks_dropped"] == {"train": 1} and stats["validation_held_out"] == 0.25
    kept = [r for i, r in enumerate(train) if i != 5]
    y = np.asarray([[name in r["tags"] for name in "abc"] for r in kept], np.int64)
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=0.25, random_state=2)
    rest, held = next(splitter.split(np.zeros(len(kept)), y))
    assert splits.val.texts == [kept[i]["text"] for i in sorted(held)]
    assert splits.train.labels == [tuple(kept[i]["tags"]) for i in sorted(rest)]
    assert (len(splits.train), len(splits.val), len(splits.test)) == (len(rest), len(held), 5)
    assert task.labels == ["a", "b", "c"] == splits.labels


def test_multilabel_refuses_a_label_train_never_holds_naming_it_and_the_file(tmp_path):
    paths = {"train": _jsonl(tmp_path / "train.jsonl", _label_rows(6, 4)),
             "validation": _jsonl(tmp_path / "val.jsonl", [{"text": "x", "tags": ["a", "zebra"]}]),
             "test": _jsonl(tmp_path / "test.jsonl", _label_rows(2, 5))}
    with pytest.raises(UserError, match=rf"^{paths['validation']} \(the validation split; train: {paths['train']}\): "
                                        r"labels \['zebra'\] are not among the training labels \['a', 'b', 'c'\]"):
        _read_given("multilabel", paths, "data.label_column=tags")


# --- sentence pairs ------------------------------------------------------------------------------------------
def test_pairs_are_judged_on_the_pair_and_a_held_out_validation_is_stratified(tmp_path):
    texts = _texts(12, 6)
    train = [(t, f"second {i}", "same" if i % 2 else "other") for i, t in enumerate(texts)]
    train += [("shared first", "shared second", "same"),  # the test's pair: dropped
              ("shared first", "another second", "other")]  # the same first text, another pair: kept
    test = [("shared first", "shared second", "same"), ("t", "u", "other")]
    header = ["text", "second", "label"]
    paths = {"train": _csv(tmp_path / "train.csv", header, train), "test": _csv(tmp_path / "test.csv", header, test)}
    task, splits, stats = _read_given("classification", paths, "data.text_pair_column=second",
                                      "data.val_fraction=0.25", "data.seed=1")
    kept = train[:12] + train[13:]
    rest, held = train_test_split(list(range(13)), test_size=0.25, stratify=[r[2] for r in kept], random_state=1)
    assert stats["leaks_dropped"] == {"train": 1} and stats["validation_held_out"] == 0.25
    assert splits.val.texts == [kept[i][:2] for i in sorted(held)]
    assert splits.train.texts == [kept[i][:2] for i in sorted(rest)]
    assert ("shared first", "another second") in splits.train.texts + splits.val.texts
    assert splits.test.texts == [("shared first", "shared second"), ("t", "u")]
    assert task.labels == ["other", "same"] and task.text_pair_column == "second"

    _csv(tmp_path / "test.csv", header, test + [("v", "w", "unrelated")])
    with pytest.raises(UserError, match=rf"^{paths['test']} \(the test split; train: {paths['train']}\): labels "
                                        r"\['unrelated'\] are not among the training labels \['other', 'same'\]"):
        _read_given("classification", paths, "data.text_pair_column=second")
    (tmp_path / "test.jsonl").write_text('{"text": "a", "second": "b", "label": "same"}\n{"text": "c", "label": "x"}\n')
    with pytest.raises(UserError, match=r"test.jsonl, line 2: no field 'second'"):
        _read_given("classification", {**paths, "test": str(tmp_path / "test.jsonl")}, "data.text_pair_column=second")


def test_pair_regression_reads_its_float_targets_from_each_file(tmp_path):
    header = ["text", "second", "sim"]
    paths = {"train": _csv(tmp_path / "train.csv", header, [(t, "b", i / 10) for i, t in enumerate(_texts(6, 7))]),
             "validation": _csv(tmp_path / "val.csv", header, [("c", "d", 0.5)]),
             "test": _csv(tmp_path / "test.csv", header, [("e", "f", 0.25), ("g", "h", 1.0)])}
    task, splits, stats = _read_given("regression", paths, "data.text_pair_column=second", "data.label_column=sim")
    assert (len(splits.train), len(splits.val), len(splits.test)) == (6, 1, 2)
    assert splits.test.texts == [("e", "f"), ("g", "h")] and splits.test.labels == [(0.25,), (1.0,)]
    assert task.mean == pytest.approx([0.25])


# --- tagging -------------------------------------------------------------------------------------------------
TAGS = {"the": "DT", "a": "DT", "club": "NN", "game": "NN", "bank": "NN", "players": "NNS", "win": "VB"}


def _sentences(n, seed):
    rng = random.Random(seed)
    return [[rng.choice(list(TAGS)) for _ in range(rng.randint(2, 5))] + [f"{seed}x{i}"] for i in range(n)]


def _conll(path, sentences, tags=TAGS):
    path.write_text("-DOCSTART-\tO\n\n" + "".join(
        "".join(f"{w}\t{tags.get(w, 'CD')}\n" for w in s) + "\n" for s in sentences), encoding="utf-8")
    return str(path)


def test_tagging_reads_each_format_drops_leaked_sentences_and_holds_out_at_random(tmp_path):
    train = _sentences(10, 8)
    test = _sentences(2, 9) + [train[3]]
    validation = [train[6], ["a", "new", "club"]]
    (tmp_path / "val.jsonl").write_text("".join(
        json.dumps({"tokens": s, "tags": [TAGS.get(w, "CD") for w in s]}) + "\n" for s in validation))
    paths = {"train": _conll(tmp_path / "train.conll", train), "validation": str(tmp_path / "val.jsonl"),
             "test": _conll(tmp_path / "test.conll", test)}
    task, splits, stats = _read_given("tagging", paths)
    assert stats["leaks_dropped"] == {"train": 2, "validation": 0} and stats["validation_held_out"] == 0
    assert splits.train.words == [s for i, s in enumerate(train) if i not in (3, 6)]
    assert splits.val.words == validation and splits.test.words == test
    assert task.labels == ["CD", "DT", "NN", "NNS", "VB"] == splits.labels

    del paths["validation"]
    task, splits, stats = _read_given("tagging", paths, "data.val_fraction=0.3", "data.seed=5")
    kept = [s for i, s in enumerate(train) if i != 3]
    order = list(range(9))
    random.Random(5).shuffle(order)  # TaggingTask.split's seeded shuffle: round(9 · 0.3) = 3 held out
    assert splits.val.words == [kept[i] for i in sorted(order[:3])]
    assert splits.train.words == [kept[i] for i in sorted(order[3:])]
    assert stats["validation_held_out"] == 0.3 and stats["leaks_dropped"] == {"train": 1}


def test_tagging_refuses_a_tag_train_never_holds_naming_it_and_the_file(tmp_path):
    paths = {"train": _conll(tmp_path / "train.conll", _sentences(4, 10)),
             "test": _conll(tmp_path / "test.conll", [["the", "game"]], {"the": "DT", "game": "B-NN"})}
    with pytest.raises(UserError, match=rf"^{paths['test']} \(the test split; train: {paths['train']}\): tags "
                                        r"\['B-NN'\] are not among the training tags"):
        _read_given("tagging", paths)
    (tmp_path / "test.conll").write_text("the\tDT\ngame\n")
    with pytest.raises(UserError, match=r"test.conll, line 2: no tag after the word 'game'"):
        _read_given("tagging", paths)


def test_a_tagging_run_on_given_files_trains_and_reports(tmp_path, tiny_bert_dir):
    from tfbig.jobs.skeleton import run_job
    from tfbig.jobs.train_job import TrainJob

    class TrainWithoutExport(TrainJob):  # the export of given-split data is no different: tested with the tasks
        def export(self, cfg, data, served, folder):
            return {}

    train = _sentences(16, 11)
    paths = {"train": _conll(tmp_path / "train.conll", train + [["the", "club", "1"]]),
             "test": _conll(tmp_path / "test.conll", _sentences(4, 12) + [["the", "club", "1"]])}
    sets = tiny_run_overrides(str(tmp_path), "bbc", tiny_bert_dir, "given_tags", **{"train.epochs": 1}) + [
        "task=tagging", "data.val_fraction=0.25", "train.monitor=val_token_accuracy", "train.baseline=false",
        "train.precision=float32", "data.bucketing=false",
        *(f"data.{k}={v}" for k, v in paths.items())]
    report = run_job(load_config(None, sets), TrainWithoutExport())
    assert report["task"] == "tagging" and report["split_sizes"] == {"train": 12, "val": 4, "test": 5}
    assert report["cleaning"]["leaks_dropped"] == {"train": 1}
    assert report["cleaning"]["given_splits"] == paths
    assert set(report["per_tag"]) <= {"CD", "DT", "NN", "NNS", "VB"} and report["num_tokens"] > 0
