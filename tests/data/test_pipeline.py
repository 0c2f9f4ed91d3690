"""Batching: fixed shapes on request, seeded shuffling, and length bucketing that pads less and loses nothing."""
import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.data.pipeline import make_dataset, pad_share
from tfbig.data.tokenizer import BertTextTokenizer, read_vocab


@pytest.fixture(scope="module")
def tok(tiny_bert_dir):
    import os

    return BertTextTokenizer(read_vocab(os.path.join(tiny_bert_dir, "vocab.txt")), max_length=64)


@pytest.fixture(scope="module")
def mixed_texts():
    """100 texts of 1 to 60 words: short ones dominate, as in fortunes."""
    rng = np.random.default_rng(0)
    words = "the club win game market bank shares growth price data".split()
    lengths = np.minimum(rng.geometric(0.08, size=100), 60)
    return [" ".join(rng.choice(words, size=n)) for n in lengths]


def _labels_per_epoch(ds):
    return [y for _, labels in ds for y in labels.numpy().tolist()]


def test_static_shapes_give_full_fixed_batches(tok, mixed_texts):
    ds = make_dataset(mixed_texts, list(range(100)), tok, batch_size=16, static_shapes=True)
    shapes = [tuple(x["input_ids"].shape) for x, _ in ds]
    assert shapes == [(16, 64)] * 6  # 100 // 16 batches; the remainder of 4 is dropped
    spec = ds.element_spec[0]["input_ids"]
    assert spec.shape.as_list() == [16, 64]


def test_dynamic_padding_pads_to_the_longest_in_the_batch(tok):
    ds = make_dataset(["the club", "the club win the game"], [0, 1], tok, batch_size=2, bucketing=False)
    x, y = next(iter(ds))
    np.testing.assert_array_equal(x["attention_mask"].numpy(), [[1, 1, 1, 1, 0, 0, 0], [1] * 7])
    assert y.numpy().tolist() == [0, 1]


def test_seeded_shuffle_is_reproducible_and_reshuffles_each_epoch(tok, mixed_texts):
    def epochs(seed):
        ds = make_dataset(mixed_texts, list(range(100)), tok, batch_size=8, shuffle=True, seed=seed)
        return [_labels_per_epoch(ds) for _ in range(2)]

    first, again, other = epochs(3), epochs(3), epochs(4)
    assert first == again
    assert first[0] != first[1]  # a new order each epoch
    assert first[0] != other[0]
    assert sorted(first[0]) == sorted(first[1]) == list(range(100))


def test_bucketing_pads_less_and_keeps_every_example_once(tok, mixed_texts):
    fixed = make_dataset(mixed_texts, list(range(100)), tok, batch_size=8, bucketing=False)
    bucketed = make_dataset(mixed_texts, list(range(100)), tok, batch_size=8, shuffle=True, seed=0)
    for _ in range(2):
        assert sorted(_labels_per_epoch(bucketed)) == list(range(100))
    assert pad_share(bucketed) < pad_share(fixed)
    padded_to_max = make_dataset(mixed_texts, list(range(100)), tok, batch_size=8, static_shapes=True)
    assert pad_share(fixed) < pad_share(padded_to_max)


def test_unlabelled_texts_keep_their_order(tok, mixed_texts):
    ds = make_dataset(mixed_texts, None, tok, batch_size=7, bucketing=False)
    rows = [r for x, _ in ds for r in x["input_ids"].numpy()]
    expected = tok.tokenize(tf.constant(mixed_texts)).to_list()
    assert [list(r[r != 0]) for r in rows] == [list(e) for e in expected]


@pytest.mark.parametrize("options", [dict(bucketing=False), dict(static_shapes=True), dict(bucketing=True)])
def test_float_and_tuple_targets_follow_their_texts(tok, options):
    """A task's float targets, and extra rows (cached teacher outputs), stay with their own text."""
    texts = ["the club win", "bank shares", "a game", "the market price of shares"] * 3
    scores = np.arange(12, dtype=np.float32)[:, None] / 10  # (N, 1) floats
    extra = np.arange(24, dtype=np.float32).reshape(12, 2)
    lengths = [len(t) for t in tok.tokenize(tf.constant(texts)).to_list()]
    for targets in (scores, (scores, extra)):
        seen = 0
        for x, y in make_dataset(texts, targets, tok, batch_size=4, shuffle=True, seed=3, **options):
            first = y[0] if isinstance(targets, tuple) else y
            assert first.dtype == tf.float32 and first.shape[1:] == (1,)
            for row, value in enumerate(first.numpy()[:, 0]):
                i = int(round(value * 10))
                assert int(x["attention_mask"][row].numpy().sum()) == lengths[i]
                if isinstance(targets, tuple):
                    np.testing.assert_array_equal(y[1].numpy()[row], extra[i])
                seen += 1
        assert seen == (12 if not options.get("static_shapes") else 12)
