"""Pre-split data (data.train, data.validation, data.test): read, cleaned, checked, and trained on."""
import csv
import json
import os
import random

import pytest
from sklearn.model_selection import train_test_split

from tfbig.config import load_config
from tfbig.data.given_splits import read_given_splits
from tfbig.errors import UserError
from tfbig.testing import WORDS, tiny_run_overrides
from tfbig.train.fit import fingerprint

TRAIN = [("the club won the game", "sport"), ("shares  fell\tat the bank", "market"),
         ("players win a game", "sport"), ("the market price of shares", "market"),
         ("players win a game", "sport"), ("the vote in parliament", "politics"),
         ("a new law was passed", "politics")]
VALIDATION = [("the best players", "sport"), ("sales growth for the firm", "market"),
              ("   ", "politics")]
TEST = [("a game to win", "sport"), ("the bank said shares fell", "market"), ("the minister said", "politics")]


def _write(path, rows, fmt):
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows), encoding="utf-8")
    else:
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f, delimiter="\t" if fmt == "tsv" else ",")
            writer.writerow(["text", "label"])
            writer.writerows(rows)
    return str(path)


def _given(tmp_path, fmt, train=TRAIN, validation=VALIDATION, test=TEST, *extra):
    paths = {"train": _write(tmp_path / f"train.{fmt}", train, fmt),
             "test": _write(tmp_path / f"test.{fmt}", test, fmt)}
    if validation is not None:
        paths["validation"] = _write(tmp_path / f"validation.{fmt}", validation, fmt)
    cfg = load_config(None, [f"data.{k}={v}" for k, v in paths.items()] + list(extra))
    return cfg, paths


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "tsv"])
def test_given_splits_are_read_cleaned_and_kept_apart(tmp_path, fmt):
    cfg, paths = _given(tmp_path, fmt)
    splits, stats = read_given_splits(cfg.data)
    assert splits.labels == ["market", "politics", "sport"]
    # Whitespace normalised, the second "players win a game" dropped, order kept.
    assert splits.train.texts == ["the club won the game", "shares fell at the bank", "players win a game",
                                  "the market price of shares", "the vote in parliament", "a new law was passed"]
    assert splits.train.labels == ["sport", "market", "sport", "market", "politics", "politics"]
    assert (splits.val.texts, splits.val.labels) == (["the best players", "sales growth for the firm"],
                                                     ["sport", "market"])
    assert (splits.test.texts, splits.test.labels) == ([t for t, _ in TEST], [y for _, y in TEST])
    assert stats["train"] == {"read": 7, "empty": 0, "duplicates": 1, "conflicting_labels": 0, "kept": 6}
    assert stats["validation"]["empty"] == 1 and stats["test"]["kept"] == 3
    assert stats["leaks_dropped"] == {"train": 0, "validation": 0} and stats["validation_held_out"] == 0
    assert stats["given_splits"] == paths


def test_no_given_train_is_none():
    assert read_given_splits(load_config(None, []).data) is None


def test_a_folder_per_class_and_a_jsonl_file_mix(tmp_path):
    for text, label in TRAIN[:4]:
        os.makedirs(tmp_path / "train" / label, exist_ok=True)
        (tmp_path / "train" / label / f"{len(os.listdir(tmp_path / 'train' / label))}.txt").write_text(text)
    test = _write(tmp_path / "test.jsonl", TEST[:2], "jsonl")
    splits, _ = read_given_splits(load_config(None, [f"data.train={tmp_path / 'train'}", f"data.test={test}",
                                                     "data.val_fraction=0"]).data)
    assert splits.labels == ["market", "sport"] and len(splits.train) == 4 and len(splits.val) == 0
    assert sorted(splits.train.texts) == sorted(["the club won the game", "shares fell at the bank",
                                                 "players win a game", "the market price of shares"])


def _many(n_per_class, seed=0):
    rng = random.Random(seed)
    words = [w for w in WORDS if w.isalpha()]
    return [(" ".join(rng.choice(words) for _ in range(8)) + f" {i}", f"c{i % 3}") for i in range(3 * n_per_class)]


def test_without_validation_a_stratified_seeded_part_of_train_is_held_out(tmp_path):
    train = _many(10)
    cfg, _ = _given(tmp_path, "csv", train, None, [("held", "c0"), ("other", "c2")], "data.val_fraction=0.2",
                    "data.seed=3")
    splits, stats = read_given_splits(cfg.data)
    labels = [y for _, y in train]
    rest, held = train_test_split(list(range(30)), test_size=0.2, stratify=labels, random_state=3)
    assert splits.val.texts == [train[i][0] for i in sorted(held)]
    assert splits.train.texts == [train[i][0] for i in sorted(rest)]
    assert sorted(splits.val.labels) == ["c0", "c0", "c1", "c1", "c2", "c2"]  # 2 of each class's 10
    assert stats["validation_held_out"] == 0.2
    again, _ = read_given_splits(cfg.data)
    assert again == splits


def test_limit_per_class_applies_to_each_split(tmp_path):
    cfg, _ = _given(tmp_path, "csv", _many(5), _many(4, seed=1), _many(4, seed=2), "data.limit_per_class=2")
    splits, _ = read_given_splits(cfg.data)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (6, 6, 6)
    assert splits.train.texts == [t for t, _ in _many(5)[:6]]


def test_a_label_train_never_saw_names_it_the_split_and_the_file(tmp_path):
    cfg, paths = _given(tmp_path, "jsonl", TRAIN, VALIDATION, TEST + [("a pop song", "music"), ("film", "cinema")])
    with pytest.raises(UserError, match=rf"^{paths['test']}: label\(s\) 'cinema', 'music' of the test split never "
                                        rf"appear in the train split \({paths['train']}\)"):
        read_given_splits(cfg.data)
    cfg, paths = _given(tmp_path, "csv", TRAIN, VALIDATION + [("jazz", "music")], TEST)
    with pytest.raises(UserError, match=rf"{paths['validation']}: label\(s\) 'music' of the validation split"):
        read_given_splits(cfg.data)


def test_a_text_in_a_later_split_is_dropped_from_the_earlier_and_counted(tmp_path):
    # In train: one test text (with other spacing) and one validation text; in validation: one test text.
    train = TRAIN + [("a game  to win", "sport"), ("the best players", "sport")]
    validation = VALIDATION + [("the minister said", "politics")]
    cfg, _ = _given(tmp_path, "csv", train, validation, TEST)
    splits, stats = read_given_splits(cfg.data)
    assert stats["leaks_dropped"] == {"train": 2, "validation": 1}
    assert len(splits.train) == 6 and "a game to win" not in splits.train.texts
    assert "the best players" not in splits.train.texts and "the best players" in splits.val.texts
    assert splits.val.texts == ["the best players", "sales growth for the firm"]
    assert splits.test.texts == [t for t, _ in TEST]


@pytest.mark.parametrize("sets, message", [
    (["data.train=a.csv"], r"data.train is 'a.csv' but data.test is empty"),
    (["data.train=a.csv", "data.validation=v.csv"], r"data.test is empty"),
    (["data.test=t.csv"], r"data.test is 't.csv' but data.train is empty"),
    (["data.validation=v.csv", "data.test=t.csv"], r"data.validation is 'v.csv' but data.train is empty"),
])
def test_train_and_test_come_together(sets, message):
    with pytest.raises(UserError, match=message):
        load_config(None, sets)


def test_a_missing_split_file_is_named(tmp_path):
    cfg = load_config(None, [f"data.train={tmp_path}/no.csv", f"data.test={tmp_path}/t.csv"])
    with pytest.raises(UserError, match=f"data file not found: {tmp_path}/no.csv"):
        read_given_splits(cfg.data)


def test_the_resume_fingerprint_holds_the_given_paths():
    a = fingerprint(load_config(None, ["data.train=a.csv", "data.test=t.csv"]))
    b = fingerprint(load_config(None, ["data.train=b.csv", "data.test=t.csv"]))
    assert a["data.train"] == "a.csv" and a != b and "data.validation" in a


def test_train_run_on_given_csv_splits(tmp_path, tiny_bert_dir):
    from tfbig.jobs.train_job import train_run

    rows = _many(6)
    files = {"train": rows[:12], "validation": rows[12:], "test": _many(2, seed=5)}
    paths = {k: _write(tmp_path / f"{k}.csv", v, "csv") for k, v in files.items()}
    sets = tiny_run_overrides(str(tmp_path), "bbc", tiny_bert_dir, "given", **{"train.epochs": 1},
                              **{f"data.{k}": v for k, v in paths.items()})
    report = train_run(load_config(None, sets))
    assert report["split_sizes"] == {"train": 12, "val": 6, "test": 6}
    assert sum(c["support"] for c in report["per_class"].values()) == 6
    assert report["cleaning"]["given_splits"] == paths
    with open(tmp_path / "runs" / "given" / "labels.txt") as f:
        assert f.read().split() == ["c0", "c1", "c2"]
