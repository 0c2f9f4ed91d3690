from collections import Counter

import pytest

from tfbig.data.clean import clean, normalize_text
from tfbig.data.text_files import Examples
from tfbig.data.split import stratified_split
from tfbig.errors import UserError


def test_normalize_nfc_and_whitespace():
    assert normalize_text("  cafe\u0301 \t\n bar  ") == "caf\u00e9 bar"


def test_clean_drops_empty_and_duplicates_keeping_first():
    ex = Examples(texts=["a  b", "a b", " ", "c", "c"], labels=["x", "y", "x", "x", "x"])
    out, stats = clean(ex)
    assert out.texts == ["a b", "c"] and out.labels == ["x", "x"]
    assert stats == {"read": 5, "empty": 1, "duplicates": 2, "conflicting_labels": 1, "kept": 2}


def _examples(counts):
    ex = Examples()
    for label, n in counts.items():
        for i in range(n):
            ex.add(f"{label} {i}", label)
    return ex


def test_split_is_stratified_disjoint_and_seeded():
    ex = _examples({"a": 50, "b": 30, "c": 20})
    s = stratified_split(ex, test_fraction=0.2, val_fraction=0.1, seed=0)
    assert (len(s.train), len(s.val), len(s.test)) == (70, 10, 20)
    assert Counter(s.test.labels) == {"a": 10, "b": 6, "c": 4}
    assert not set(s.train.texts) & set(s.test.texts) and not set(s.val.texts) & set(s.test.texts)
    assert sorted(s.train.texts + s.val.texts + s.test.texts) == sorted(ex.texts)
    again = stratified_split(ex, test_fraction=0.2, val_fraction=0.1, seed=0)
    other = stratified_split(ex, test_fraction=0.2, val_fraction=0.1, seed=1)
    assert again.test.texts == s.test.texts and other.test.texts != s.test.texts
    assert s.labels == ["a", "b", "c"]


def test_too_small_class_is_named():
    with pytest.raises(UserError, match=r"class 'rare' has 2 example\(s\)"):
        stratified_split(_examples({"common": 40, "rare": 2}), val_fraction=0.1)
