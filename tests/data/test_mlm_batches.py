import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.data.mlm_batches import (CorpusEpochData, corpus_val_split, document_rows, mask_tokens, pack_sequences,
                                    pad_share)
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.errors import UserError
from tfbig.testing import tiny_vocab

CLS, SEP, PAD = 101, 102, 0


def _docs(*docs):
    return tf.data.Dataset.from_generator(lambda: iter(docs), output_signature=tf.TensorSpec([None], tf.int32))


def test_packing_concatenates_with_sep_and_has_no_padding():
    rows = list(pack_sequences(_docs([1, 2], [3, 4, 5], [6, 7, 8, 9, 10]), 5, CLS, SEP).as_numpy_iterator())
    # stream 1 2 S 3 4 5 S 6 7 8 9 10 S → blocks of 3; the final S is dropped
    assert np.array_equal(np.stack(rows), [[CLS, 1, 2, SEP, SEP], [CLS, 3, 4, 5, SEP], [CLS, SEP, 6, 7, SEP],
                                           [CLS, 8, 9, 10, SEP]])  # 13 ids // 3 rows
    assert all(PAD not in r for r in rows)


def test_one_document_per_row_cuts_long_documents_and_pads():
    rows = np.stack(list(document_rows(_docs([1, 2, 3, 4], [5]), 5, CLS, SEP, PAD).as_numpy_iterator()))
    assert np.array_equal(rows, [[CLS, 1, 2, 3, SEP], [CLS, 4, SEP, PAD, PAD], [CLS, 5, SEP, PAD, PAD]])


def _random_rows(b=512, t=128, vocab=1000, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(10, vocab, size=(b, t)).astype(np.int32)
    ids[:, 0], ids[:, -1] = CLS, SEP
    ids[::2, 100:] = PAD  # half the rows padded from 100 on
    ids[::2, 99] = SEP
    return ids, np.isin(ids, [CLS, SEP, PAD])


def test_masking_statistics_and_specials_never_chosen():
    ids, special = _random_rows()
    masked, pos, mlm_ids, w = (x.numpy() for x in mask_tokens(ids, special, 1000, mask_id=103, rate=0.15,
                                                              seed=(1, 2)))
    assert pos.shape == (512, 20)  # ceil(0.15 * 128)
    n_cand = (~special).sum(1)
    assert np.array_equal(w.sum(1), np.round(n_cand * 0.15))  # exactly round(15%) per row
    rows = np.repeat(np.arange(512)[:, None], 20, 1)
    chosen = w > 0
    assert not special[rows[chosen], pos[chosen]].any()
    assert np.array_equal(mlm_ids[chosen], ids[rows[chosen], pos[chosen]])
    assert len({(r, p) for r, p in zip(rows[chosen], pos[chosen])}) == chosen.sum()  # no position twice
    new = masked[rows[chosen], pos[chosen]]
    share_mask = np.mean(new == 103)
    share_kept = np.mean(new == mlm_ids[chosen])
    assert abs(share_mask - 0.8) < 0.02 and abs(share_kept - 0.1) < 0.02
    assert abs(1 - share_mask - share_kept - 0.1) < 0.02  # random ids (a random id equal to the original counts as kept)
    unchosen = np.ones_like(ids, bool)
    unchosen[rows[chosen], pos[chosen]] = False
    assert np.array_equal(masked[unchosen], ids[unchosen])
    assert np.all(mlm_ids[~chosen] == 0) and np.all(pos[~chosen] == 0)


def test_same_seed_same_mask_other_seed_other_mask():
    ids, special = _random_rows(b=8)
    a = [x.numpy() for x in mask_tokens(ids, special, 1000, 103, seed=(5, 0))]
    b = [x.numpy() for x in mask_tokens(ids, special, 1000, 103, seed=(5, 0))]
    c = [x.numpy() for x in mask_tokens(ids, special, 1000, 103, seed=(5, 1))]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_whole_word_masking_takes_all_pieces_of_a_word():
    rng = np.random.default_rng(0)
    b, t = 256, 64
    ids = rng.integers(200, 1000, size=(b, t)).astype(np.int32)  # no special id by chance
    ids[:, 0], ids[:, -1] = CLS, SEP
    starts = rng.random((b, t)) < 0.5  # words of 2 pieces on average
    starts[:, :2] = True
    special = np.isin(ids, [CLS, SEP])
    masked, pos, _, w = (x.numpy() for x in mask_tokens(ids, special, 1000, 103, whole_word=True,
                                                        word_starts=starts, seed=(3, 4)))
    word = np.cumsum(starts | special, 1) - 1  # a special token is a word of its own
    for r in range(b):
        chosen = set(pos[r][w[r] > 0])
        for wid in {word[r, p] for p in chosen}:
            pieces = set(np.flatnonzero(word[r] == wid))
            assert pieces <= chosen  # every piece of a chosen word is chosen
        assert len(chosen) <= np.round(0.15 * (t - 2))
    assert abs(w.sum() / (b * (t - 2)) - 0.15) < 0.02  # close to the rate (a word overshooting is left out)


@pytest.fixture(scope="module")
def tokenizer():
    return BertTextTokenizer(tiny_vocab(), max_length=16)


DOCS = [f"the {w} players win a game in the club" for w in ("bank", "market", "film", "music", "party", "phone",
                                                             "data", "price", "users", "firm", "labour", "sales")]


def test_epoch_data_batches_full_rows_and_masks_anew_each_epoch(tokenizer):
    data = CorpusEpochData(lambda: iter(DOCS), tokenizer, max_length=16, batch_size=2, seed=7)
    pieces = sum(len(tokenizer.wordpieces(tf.constant([d]))[0]) + 1 for d in DOCS)
    assert data.rows_per_epoch == pieces // 14 and data.steps_per_epoch == pieces // 14 // 2
    e0 = list(data.epoch(0).as_numpy_iterator())
    features, targets = e0[0]
    assert set(features) == {"input_ids", "attention_mask", "token_type_ids"}
    assert set(targets) == {"mlm_positions", "mlm_ids", "mlm_weights"}
    assert features["input_ids"].shape == (2, 16) and targets["mlm_positions"].shape == (2, 3)  # ceil(.15*16)
    assert all(f["attention_mask"].all() for f, _ in e0)  # packed: no padding
    again = list(data.epoch(0).as_numpy_iterator())
    e1 = list(data.epoch(1).as_numpy_iterator())
    assert all(np.array_equal(a[1]["mlm_positions"], b[1]["mlm_positions"]) for a, b in zip(e0, again))
    assert len(e1) == len(e0)
    assert not all(np.array_equal(a[1]["mlm_positions"], b[1]["mlm_positions"]) for a, b in zip(e0, e1))


def test_stream_resumed_mid_epoch_equals_the_uninterrupted_one(tokenizer):
    data = CorpusEpochData(lambda: iter(DOCS), tokenizer, max_length=16, batch_size=2, seed=3, whole_word=True)
    steps = data.steps_per_epoch
    full = list(data.stream(0, 2).as_numpy_iterator())
    assert len(full) == 2 * steps
    start = steps + 1
    resumed = list(CorpusEpochData(lambda: iter(DOCS), tokenizer, 16, 2, seed=3, whole_word=True)
                   .stream(start, 2).as_numpy_iterator())
    assert len(resumed) == len(full) - start
    for (fa, ta), (fb, tb) in zip(full[start:], resumed):
        for key in fa:
            np.testing.assert_array_equal(fa[key], fb[key])
        for key in ta:
            np.testing.assert_array_equal(ta[key], tb[key])


def test_unpacked_rows_and_fixed_validation_masks(tokenizer):
    data = CorpusEpochData(lambda: iter(DOCS[:5]), tokenizer, max_length=16, batch_size=2, packing=False)
    assert data.rows_per_epoch == 5  # each document fits one row
    assert pad_share(data.epoch(0)) > 0
    val1 = [t["mlm_positions"].numpy() for _, t in data.validation()]
    val2 = [t["mlm_positions"].numpy() for _, t in data.validation()]
    assert [v.shape[0] for v in val1] == [2, 2, 1]  # every row, the last batch short
    assert all(np.array_equal(a, b) for a, b in zip(val1, val2))


def test_bad_inputs(tokenizer):
    no_mask = BertTextTokenizer([t for t in tiny_vocab() if t != "[MASK]"], max_length=16)
    with pytest.raises(UserError, match=r"no \[MASK\]"):
        CorpusEpochData(lambda: iter(DOCS), no_mask, 16, 2)
    with pytest.raises(UserError, match="fewer than one batch of 64"):
        CorpusEpochData(lambda: iter(DOCS), tokenizer, 16, 64).steps_per_epoch


def test_epoch_seeds_agree_with_the_classifier_epochs():
    from tfbig.data.mlm_batches import epoch_seed
    from tfbig.train.epoch_data import epoch_seed as train_epoch_seed

    assert [epoch_seed(s, e) for s in (0, 7, 2**40) for e in (0, 1, 99)] == [
        train_epoch_seed(s, e) for s in (0, 7, 2**40) for e in (0, 1, 99)]


def test_val_split_is_stable_and_disjoint():
    docs = [f"document number {i}" for i in range(400)]
    train_fn, val_fn = corpus_val_split(lambda: iter(docs), 0.1, seed=0)
    train, val = list(train_fn()), list(val_fn())
    assert sorted(train + val) == sorted(docs) and not set(train) & set(val)
    assert 20 <= len(val) <= 60
    assert list(val_fn()) == val
    _, val_rev = corpus_val_split(lambda: iter(docs[::-1]), 0.1, seed=0)
    assert sorted(val_rev()) == sorted(val)


def test_whole_word_masking_on_real_word_pieces(tokenizer):
    docs = ["the quixotic zebra jumps over lazy wolves", "players win big zany jackpots"] * 3
    vocab = tokenizer.vocab
    data = CorpusEpochData(lambda: iter(docs), tokenizer, 16, 2, seed=0, packing=False, whole_word=True,
                           mask_rate=0.4)
    seen_multi = False
    for features, targets in data.epoch(0).as_numpy_iterator():
        original = features["input_ids"].copy()
        rows = np.arange(original.shape[0])[:, None]
        w = targets["mlm_weights"] > 0
        original[np.broadcast_to(rows, w.shape)[w], targets["mlm_positions"][w]] = targets["mlm_ids"][w]
        for r in range(original.shape[0]):
            starts = np.array([not vocab[i].startswith("##") for i in original[r]])
            word = np.cumsum(starts) - 1
            chosen = set(targets["mlm_positions"][r][w[r]])
            for p in chosen:
                pieces = set(np.flatnonzero(word == word[p]))
                seen_multi |= len(pieces) > 1
                assert pieces <= chosen
    assert seen_multi  # some chosen word had several pieces
