"""Masked-language-model batches from a stream of documents: packed rows, masks drawn in the graph anew each epoch.

What a batch is (what the MLM model and its loss rely on), for B rows of T = max_length tokens and
P = ceil(mask_rate · T) predictions a row:

    features = {"input_ids":      (B, T) int32, the ids after masking ([MASK], a random id, or kept),
                "attention_mask": (B, T) int32, 1 on tokens, 0 on padding (all 1 with packing),
                "token_type_ids": (B, T) int32, zeros}
    targets  = {"mlm_positions":  (B, P) int32, positions in the row to predict (0 where the weight is 0),
                "mlm_ids":        (B, P) int32, the original ids there (0 where the weight is 0),
                "mlm_weights":    (B, P) float32, 1.0 for a real prediction, 0.0 for a padding slot}

Rows: with packing, the documents' word pieces are concatenated, each document followed by [SEP], and cut
into rows `[CLS] <T - 2 pieces> [SEP]`, so no row holds padding (BERT's pretraining input); the last partial
row of an epoch is dropped. Documents are shuffled within a buffer before packing, so rows mix other
documents each epoch (the row count depends on the total of word pieces only: every epoch has as many).
Without packing, each document is cut into rows of its own (`[CLS] pieces [SEP]`, padded to T), no row
mixing two documents. Rows are shuffled with a buffer, batched with the
remainder dropped (static shapes: a TPU runs them, and an epoch has a fixed number of steps).

Masks: per row, round(mask_rate · non-special tokens) (at least 1, at most P) positions are chosen among
the non-special tokens by stateless random scores; 80% of them become [MASK], 10% a random id, 10% stay.
Whole-word masking scores words, not pieces (a piece starting with ## continues its word), so a word's
pieces are chosen together, and a word that would overshoot the count is skipped (one longer than the
count is never chosen). The seed of batch i of epoch
e is (epoch_seed(seed, e), i): the same epoch masks the same way in any process (exact resume), the next
epoch masks anew, and `validation()` uses one fixed seed.
"""
import math

import numpy as np

from tfbig._keras import tf
from tfbig.data.pipeline import pad_share  # noqa: F401  (the share of padding in (features, targets) batches)
from tfbig.errors import UserError

_DOC_BATCH = 64  # documents tokenized per call
_SHUFFLE_ROWS = 4096  # rows in the shuffle buffer: ~2 MB at 128 tokens, whatever the corpus size
_SHUFFLE_DOCS = 256  # documents in the shuffle buffer before packing: rows then mix documents anew each epoch


def epoch_seed(seed: int, epoch: int) -> int:
    """As tfbig.train.epoch_data.epoch_seed (the data layer sits below train: the same formula, kept here)."""
    return (int(seed) * 1_000_003 + int(epoch)) % (2**31 - 1)


def max_predictions(max_length: int, rate: float) -> int:
    return max(1, math.ceil(rate * max_length - 1e-9))


def document_tokens(documents_fn, wordpieces, shuffle_seed=None):
    """A dataset of 1-D int32 word-piece ids, one element per document (no special tokens, not truncated).

    wordpieces: callable, (N,) strings → ragged (N, None) ids (a tokenizer's `wordpieces`; a tf.function of it
        is traced once for every dataset built, not once each).
    shuffle_seed: int or None. Shuffles the documents within a buffer of _SHUFFLE_DOCS (the count of packed
    rows does not change: it depends on the total of ids only).
    """
    docs = tf.data.Dataset.from_generator(documents_fn, output_signature=tf.TensorSpec([], tf.string))
    if shuffle_seed is not None:
        docs = docs.shuffle(_SHUFFLE_DOCS, seed=shuffle_seed, reshuffle_each_iteration=False)
    pieces = docs.batch(_DOC_BATCH).map(wordpieces, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return pieces.unbatch().filter(lambda ids: tf.size(ids) > 0)


def pack_sequences(token_ds, max_length: int, cls_id: int, sep_id: int):
    """Documents' ids → rows `[CLS] …(max_length - 2 ids)… [SEP]`, the documents joined by [SEP].

    token_ds: dataset of 1-D int ids, one per document. Returns a dataset of (max_length,) int32 rows, none
    padded; the ids left over after the last full row are dropped. E.g. max_length 5, documents [1 2] [3 4 5]:
    the stream 1 2 SEP 3 4 5 SEP gives rows CLS 1 2 SEP SEP, CLS 3 4 5 SEP; the final SEP is dropped.
    """
    block = int(max_length) - 2
    if block < 1:
        raise UserError(f"data.max_length must be at least 3 for packing, got {max_length}")
    sep = tf.constant([sep_id], tf.int32)

    def cut(carry, ids):  # carry: the ids not yet in a row (fewer than `block`)
        joined = tf.concat([carry, tf.cast(ids, tf.int32), sep], 0)
        full = tf.size(joined) // block * block
        rows = tf.reshape(joined[:full], [-1, block])
        ends = tf.ones_like(rows[:, :1])
        return joined[full:], tf.concat([ends * cls_id, rows, ends * sep_id], axis=1)

    return token_ds.scan(tf.zeros([0], tf.int32), cut).unbatch()


def document_rows(token_ds, max_length: int, cls_id: int, sep_id: int, pad_id: int):
    """Documents' ids → rows of one document each: `[CLS] ids [SEP]` then padding, a long one cut into several."""
    block = int(max_length) - 2

    def rows(ids):
        ids = tf.cast(ids, tf.int32)
        n = tf.size(ids)
        count = (n + block - 1) // block
        lengths = tf.minimum(block, n - tf.range(count) * block)
        pieces = tf.RaggedTensor.from_row_lengths(ids, tf.cast(lengths, tf.int64))
        cls = tf.RaggedTensor.from_tensor(tf.fill([count, 1], cls_id))
        sep = tf.RaggedTensor.from_tensor(tf.fill([count, 1], sep_id))
        full = tf.concat([cls, pieces, sep], axis=1)
        return full.to_tensor(pad_id, shape=[None, max_length])

    return token_ds.map(rows).unbatch()


def mask_tokens(input_ids, special_mask, vocab_size: int, mask_id: int, rate: float = 0.15, whole_word: bool = False,
                word_starts=None, seed=(0, 0), max_predictions_per_row: int | None = None):
    """Chooses and masks MLM targets in the graph; returns (masked_ids, mlm_positions, mlm_ids, mlm_weights).

    input_ids: (B, T) int. special_mask: (B, T) bool, True on [CLS]/[SEP]/[PAD] (never chosen).
    word_starts: (B, T) bool or None. True where a word begins (whole_word); None: every piece its own word.
    seed: a shape-(2,) int seed for the stateless ops: the same seed gives the same masks.
    max_predictions_per_row: int or None (ceil(rate · T)). The P of the (B, P) outputs.
    """
    input_ids = tf.cast(input_ids, tf.int32)
    special = tf.cast(special_mask, tf.bool)
    shape = tf.shape(input_ids)
    T = input_ids.shape[1] if input_ids.shape[1] is not None else None
    P = max_predictions_per_row or max_predictions(T, rate)
    candidate = tf.logical_not(special)
    seeds = tf.random.experimental.stateless_split(tf.cast(tf.convert_to_tensor(seed), tf.int64), 3)

    if whole_word and word_starts is not None:
        # A word starts at a start piece, at a special token and right after one (a row may begin mid-word).
        after_special = tf.pad(special[:, :-1], [[0, 0], [1, 0]], constant_values=True)
        starts = tf.logical_or(tf.cast(word_starts, tf.bool), tf.logical_or(special, after_special))
    else:
        starts = tf.ones_like(special)
    word = tf.cumsum(tf.cast(starts, tf.int32), axis=1) - 1  # (B, T) the word index of each piece, from 0
    flat_word = word + tf.range(shape[0])[:, None] * shape[1]  # unique across rows, for segment ops
    n_words = shape[0] * shape[1]
    word_size = tf.gather(tf.math.unsorted_segment_sum(tf.ones_like(word), flat_word, n_words), flat_word)
    score = tf.gather(tf.random.stateless_uniform(shape, seeds[0]), word, batch_dims=1)  # (B, T) one per word
    n_cand = tf.reduce_sum(tf.cast(candidate, tf.int32), axis=1)
    n_pred = tf.minimum(P, tf.maximum(1, tf.cast(tf.round(tf.cast(n_cand, tf.float32) * rate), tf.int32)))
    budget = tf.minimum(n_pred, n_cand)  # (B,) pieces still to choose
    rank = tf.broadcast_to(tf.range(shape[1])[None], shape)
    taken = tf.zeros_like(candidate)
    # Each pass takes, in score order, the words that fit entirely in the budget up to the first that does
    # not; the next pass retries with the words no larger than what is left (BERT's reference skips a word
    # that overshoots and goes on: three passes come within a piece of it). One piece a word: one pass.
    for _ in range(3 if whole_word else 1):
        available = candidate & ~taken & (word_size <= budget[:, None])
        scores = tf.where(available, score, -1.0)
        # Pieces of one word have equal scores, so they sit together in the order.
        order = tf.math.top_k(scores, k=shape[1], sorted=True).indices  # (B, T)
        sorted_flat_word = tf.gather(flat_word, order, batch_dims=1)
        last = tf.math.unsorted_segment_max(rank, sorted_flat_word, n_words)  # each word's last place in the order
        new_taken = available & (tf.gather(last, flat_word) < budget[:, None])
        taken = taken | new_taken
        budget = budget - tf.reduce_sum(tf.cast(new_taken, tf.int32), axis=1)
    count = tf.reduce_sum(tf.cast(taken, tf.int32), axis=1)  # (B,) at most n_pred <= P

    top = tf.math.top_k(tf.where(taken, score, -1.0), k=P, sorted=True).indices  # the taken ones first
    weights = tf.range(P)[None] < count[:, None]  # (B, P)
    positions = tf.where(weights, top, 0)
    original = tf.gather(input_ids, positions, batch_dims=1)
    mlm_ids = tf.where(weights, original, 0)

    action = tf.random.stateless_uniform(tf.shape(positions), seeds[1])  # <0.8 mask, <0.9 random, else keep
    random_ids = tf.random.stateless_uniform(tf.shape(positions), seeds[2], minval=0, maxval=vocab_size,
                                             dtype=tf.int32)
    new = tf.where(action < 0.8, mask_id, tf.where(action < 0.9, random_ids, original))
    # Scatter the new ids into the row at the taken positions (each position at most once).
    rows = tf.broadcast_to(tf.range(shape[0])[:, None], tf.shape(positions))
    index = tf.stack([tf.boolean_mask(rows, weights), tf.boolean_mask(positions, weights)], axis=1)
    masked = tf.tensor_scatter_nd_update(input_ids, index, tf.boolean_mask(new, weights))
    return masked, tf.cast(positions, tf.int32), mlm_ids, tf.cast(weights, tf.float32)


def continuation_table(vocab) -> np.ndarray:
    """(V,) bool: True for pieces that continue a word (`##…`)."""
    return np.asarray([t.startswith("##") for t in vocab], bool)


def corpus_val_split(documents_fn, fraction: float, seed: int = 0):
    """(train_fn, val_fn): zero-argument callables splitting `documents_fn`'s documents by a seeded hash of each.

    A document goes to validation when the 60-bit hash of tfbig.data.hash_split falls below fraction · 2⁶⁰:
    the same document always lands on the same side, in any order, with nothing kept in memory.
    """
    from tfbig.data.hash_split import HASH_BITS, split_hash

    if not 0 < fraction < 1:
        raise UserError(f"the validation fraction must be in (0, 1), got {fraction}")
    below = int(round(fraction * (1 << HASH_BITS)))

    def train_fn():
        return (d for d in documents_fn() if split_hash(d, seed) >= below)

    def val_fn():
        return (d for d in documents_fn() if split_hash(d, seed) < below)

    return train_fn, val_fn


class CorpusEpochData:
    """The MLM batches of every epoch, with EpochData's interface (tfbig.train.epoch_data): exact resume.

    documents_fn: zero-argument callable returning a fresh iterator of documents (tfbig.data.corpora).
    tokenizer: BertTextTokenizer (its `wordpieces`, `vocab`, `cls_id`, `sep_id`, `pad_id`); its vocab needs [MASK].
    max_length: int. T, the row length, [CLS] and [SEP] included.
    batch_size: int. Rows per batch (the micro-batch size times the accumulation steps).
    seed: int. Shuffle and masks: epoch e uses epoch_seed(seed, e).
    packing: bool. Rows concatenate documents (no padding); False: one document per row, padded.
    mask_rate: float. whole_word: bool. As mask_tokens.
    rows_per_epoch: int or None. The rows one pass gives, when known (e.g. saved by an earlier run); None counts
        them with a tokenizing pass at the first `steps_per_epoch`.
    masking: bool. False: the features hold the text as it is and the targets have weight 0 everywhere
        (general distillation reads the rows only).

    Resuming after `step` batches replays no document: epoch `step // S` is rebuilt (the same documents, the
    same shuffle, the same masks) and its first `step % S` batches are skipped before masking.
    """

    def __init__(self, documents_fn, tokenizer, max_length: int, batch_size: int, seed: int = 0, packing: bool = True,
                 mask_rate: float = 0.15, whole_word: bool = False, rows_per_epoch: int | None = None,
                 masking: bool = True):
        if "[MASK]" not in tokenizer.vocab:
            raise UserError("the vocabulary has no [MASK] token: masked-language modelling needs one")
        if not 0 < mask_rate < 1:
            raise UserError(f"data.mask_rate must be in (0, 1), got {mask_rate}")
        self.documents_fn, self.tokenizer = documents_fn, tokenizer
        self.max_length, self.batch_size, self.seed = int(max_length), int(batch_size), int(seed)
        self.packing, self.mask_rate, self.whole_word = bool(packing), float(mask_rate), bool(whole_word)
        self.mask_id = tokenizer.vocab.index("[MASK]")
        self.vocab_size = len(tokenizer.vocab)
        self.max_predictions = max_predictions(self.max_length, self.mask_rate)
        specials = [t for t in ("[CLS]", "[SEP]", "[PAD]", "[MASK]", "[UNK]") if t in tokenizer.vocab]
        special = np.zeros(self.vocab_size, bool)
        special[[tokenizer.vocab.index(t) for t in specials if t != "[UNK]"]] = True  # [UNK] may be masked
        self._special = tf.constant(special)
        self._continues = tf.constant(continuation_table(tokenizer.vocab))
        self._rows_count = rows_per_epoch
        self.masking = bool(masking)
        # Traced once here, not in every dataset an epoch builds (tokenizer tracing takes seconds).
        self._wordpieces = tf.function(tokenizer.wordpieces, input_signature=[tf.TensorSpec([None], tf.string)])
        self._mask = tf.function(self._mask_batch, input_signature=[
            tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.int64), tf.TensorSpec([None, self.max_length], tf.int32)])

    def rows(self, shuffle_seed=None):
        """The unmasked (T,) rows of the corpus, in corpus order (documents shuffled with `shuffle_seed`)."""
        tok = self.tokenizer
        tokens = document_tokens(self.documents_fn, self._wordpieces, shuffle_seed)
        if self.packing:
            return pack_sequences(tokens, self.max_length, tok.cls_id, tok.sep_id)
        return document_rows(tokens, self.max_length, tok.cls_id, tok.sep_id, tok.pad_id)

    def _mask_batch(self, seed, index, ids):
        """One batch of rows (B, T) → (features, targets); seed (the epoch's) and index (the batch's) pick the masks."""
        if not self.masking:
            features = {"input_ids": ids, "token_type_ids": tf.zeros_like(ids),
                        "attention_mask": tf.cast(tf.not_equal(ids, self.tokenizer.pad_id), tf.int32)}
            none = tf.zeros([tf.shape(ids)[0], self.max_predictions], tf.int32)
            return features, {"mlm_positions": none, "mlm_ids": none, "mlm_weights": tf.cast(none, tf.float32)}
        special = tf.gather(self._special, ids)
        starts = tf.logical_not(tf.gather(self._continues, ids))
        masked, positions, mlm_ids, weights = mask_tokens(
            ids, special, self.vocab_size, self.mask_id, self.mask_rate, self.whole_word, starts,
            tf.stack([seed, index]), self.max_predictions)
        features = {"input_ids": masked, "attention_mask": tf.cast(tf.not_equal(ids, self.tokenizer.pad_id), tf.int32),
                    "token_type_ids": tf.zeros_like(ids)}
        return features, {"mlm_positions": positions, "mlm_ids": mlm_ids, "mlm_weights": weights}

    def _batches(self, shuffle_seed, mask_seed: int, skip: int = 0, drop_remainder: bool = True):
        rows = self.rows(shuffle_seed)
        if shuffle_seed is not None:
            rows = rows.shuffle(_SHUFFLE_ROWS, seed=shuffle_seed, reshuffle_each_iteration=False)
        batches = rows.batch(self.batch_size, drop_remainder=drop_remainder).enumerate()
        if skip:
            batches = batches.skip(skip)  # before masking: skipped batches cost their tokenizing only
        seed = tf.constant(mask_seed, tf.int64)
        return batches.map(lambda i, ids: self._mask(seed, i, ids), num_parallel_calls=tf.data.AUTOTUNE,
                           deterministic=True).prefetch(2)

    def epoch(self, epoch: int, skip: int = 0):
        """The batches of one epoch, in the order a run sees them (its first `skip` left out)."""
        s = epoch_seed(self.seed, epoch)
        return self._batches(s, s, skip)

    @property
    def rows_per_epoch(self) -> int:
        """Rows in one pass over the corpus, counted once (a tokenizing pass, no masking)."""
        if self._rows_count is None:
            self._rows_count = int(self.rows().reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))
        return self._rows_count

    @property
    def steps_per_epoch(self) -> int:
        steps = self.rows_per_epoch // self.batch_size
        if steps == 0:
            raise UserError(f"the corpus gives {self.rows_per_epoch} rows of {self.max_length} tokens, fewer than one "
                            f"batch of {self.batch_size}: use a larger corpus or a smaller data.batch_size")
        return steps

    def stream(self, start_step: int, epochs: int):
        """Batches from global step `start_step` to the end of epoch `epochs - 1`, as one dataset."""
        first, skip = divmod(int(start_step), self.steps_per_epoch)
        parts = [self.epoch(e, skip if e == first else 0) for e in range(first, epochs)]
        if not parts:
            return self.epoch(epochs - 1).take(0)
        ds = parts[0]
        for part in parts[1:]:
            ds = ds.concatenate(part)
        return ds

    def validation(self):
        """Every row, unshuffled, batched (the last batch may be short), with masks fixed for the whole run."""
        return self._batches(None, epoch_seed(self.seed, 2**20), drop_remainder=False)
