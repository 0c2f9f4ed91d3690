"""BERT WordPiece tokenization with core TensorFlow ops only, so a SavedModel runs where tensorflow-text is absent.

Stock TF Serving and a bare `import tensorflow` lack tensorflow-text's ops (`NormalizeUTF8`,
`RegexSplitWithOffsets`, `FastWordpieceTokenizeWithOffsets`, ...; tensorflow/serving#2064). This tokenizer
gives the same ids as `BertTextTokenizer` (tfbig.data.bert_normalize + FastWordpieceTokenizer) with
`tf.strings` ops and hash tables, step for step:

1. control characters dropped (the same RE2 class); accents stripped from a per-code-point table computed
   at export time with tensorflow-text's own NFD (`NormalizeUTF8`) and RE2's \\p{Mn}; lower-cased by
   `tf.strings.lower` (core), "Σ" always "σ";
2. punctuation and CJK ideographs isolated with `regex_replace`, split on whitespace, words over 100
   characters become "[UNK]";
3. greedy longest-match-first WordPiece against a vocabulary table read from an asset file.
"""
import functools
import os

import numpy as np

from tfbig._keras import tf
from tfbig.data import bert_normalize
from tfbig.data.tokenizer import features_from_ids, read_vocab, set_bert_settings
from tfbig.errors import UserError
from tfbig.model_folder import check_model_folder, tokenizer_settings

WHITESPACE = bert_normalize.WHITESPACE
ISOLATED = f"({bert_normalize.PUNCTUATION}|{bert_normalize.CJK})"  # each becomes a word of its own


@functools.lru_cache(maxsize=1)
def accent_table() -> tuple[np.ndarray, list]:
    """(code points, their replacements as lists of code points): NFD, then non-spacing marks dropped.

    Computed one code point at a time with the ops BertTextTokenizer runs on whole strings (tensorflow-text's
    NFD, RE2's \\p{Mn}), so both agree; only code points that change are listed (about 2,000).
    """
    import tensorflow_text as tf_text

    cps = np.asarray([cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF], np.int32)
    chars = tf.strings.unicode_encode(tf.RaggedTensor.from_tensor(cps[:, None]), "UTF-8")
    stripped = tf.strings.regex_replace(tf_text.normalize_utf8(chars, "NFD"), r"\p{Mn}", "").numpy()
    changed = np.flatnonzero(stripped != chars.numpy())
    return cps[changed], [[ord(c) for c in stripped[i].decode("utf-8")] for i in changed]


def add_special_tokens(pieces, cls_id: int, sep_id: int, max_length: int):
    """Ragged (B, None) word-piece ids -> `[CLS] pieces [SEP]`, at most max_length in all."""
    pieces = pieces[:, : max_length - 2]
    shape = tf.stack([pieces.nrows(out_type=tf.int32), 1])
    cls = tf.RaggedTensor.from_tensor(tf.fill(shape, cls_id))
    sep = tf.RaggedTensor.from_tensor(tf.fill(shape, sep_id))
    return tf.concat([cls, tf.cast(pieces, tf.int32), sep], axis=1)


class CoreBertTokenizer(tf.Module):
    """Turns a batch of strings into BERT inputs like `BertTextTokenizer`, with core TensorFlow ops only.

    vocab_file: str. The WordPiece vocabulary, one token per line; kept as a SavedModel asset.
    lower_case: bool. Lower-case the text (uncased BERT models).
    max_length: int. Longest output, [CLS] and [SEP] included.
    strip_accents: bool or None. NFD-decompose and drop accents; None follows `lower_case`, as in BERT.

    >>> tok = CoreBertTokenizer.from_model_dir(folder, max_length=16)
    >>> tok(tf.constant(["Hello world"]))["input_ids"]  # (1, 4): [CLS] hello world [SEP]
    """

    def __init__(self, vocab_file: str, lower_case: bool = True, max_length: int = 128, strip_accents=None,
                 name=None):
        super().__init__(name=name)
        vocab = read_vocab(vocab_file)
        if len(set(vocab)) != len(vocab):
            raise UserError(f"{vocab_file}: vocabulary has duplicate tokens")
        set_bert_settings(self, vocab, lower_case, max_length, strip_accents)
        self.unk_id = self.vocab.index("[UNK]")
        # Longest vocabulary entry in characters, "##" not counted: no match can be longer.
        self.max_piece_chars = max(len(t[2:] if t.startswith("##") else t) for t in self.vocab)
        self.vocab_asset = tf.saved_model.Asset(vocab_file)
        self._vocab_table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(self.vocab_asset, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                          tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER), default_value=-1)
        if self.strip_accents:
            keys, values = accent_table()
            self._accent_rows = tf.lookup.StaticHashTable(
                tf.lookup.KeyValueTensorInitializer(keys, np.arange(len(keys), dtype=np.int32)), default_value=-1)
            # One extra empty row: the gather target of code points that stay as they are.
            self._replacements = tf.RaggedTensor.from_row_lengths(
                np.concatenate([np.asarray(v, np.int32) for v in values]), [len(v) for v in values] + [0])

    @classmethod
    def from_model_dir(cls, model_dir: str, max_length: int = 128):
        check_model_folder(model_dir)
        settings = tokenizer_settings(model_dir)
        return cls(os.path.join(model_dir, "vocab.txt"), lower_case=bool(settings["do_lower_case"]),
                   max_length=max_length, strip_accents=settings["strip_accents"])

    def _strip_accents(self, texts):
        """(B,) strings -> (B,) strings, each code point replaced by its accent-free NFD form (table lookup)."""
        cps = tf.strings.unicode_decode(texts, "UTF-8", errors="replace", replacement_char=0xFFFD)  # (B, None)
        flat = cps.flat_values  # (N,)
        row = self._accent_rows.lookup(flat)
        kept = row < 0
        mapped = tf.gather(self._replacements, tf.where(kept, self._replacements.nrows(tf.int32) - 1, row))
        same = tf.RaggedTensor.from_row_lengths(tf.boolean_mask(flat, kept), tf.cast(kept, tf.int64))
        per_cp = tf.concat([mapped, same], axis=1)  # (N, None): what each code point becomes
        return tf.strings.unicode_encode(cps.with_flat_values(per_cp).merge_dims(1, 2), "UTF-8")

    def normalize(self, texts):
        """(B,) strings -> (B,) strings as bert_normalize.normalize gives them, with core ops."""
        texts = tf.strings.regex_replace(texts, bert_normalize.CONTROL, "")
        if self.strip_accents:
            texts = self._strip_accents(texts)
        if self.lower_case:
            texts = tf.strings.lower(tf.strings.regex_replace(texts, "Σ", "σ"), encoding="utf-8")
        return texts

    def split_words(self, texts):
        """(B,) strings -> ragged (B, None) words, at most max_length - 2 per text (each gives a piece or more)."""
        texts = tf.strings.regex_replace(self.normalize(texts), ISOLATED, r" \1 ")
        words = tf.strings.split(tf.strings.regex_replace(texts, WHITESPACE, " "), sep=" ")
        words = tf.ragged.boolean_mask(words, tf.strings.length(words) > 0)[:, : self.max_length - 2]
        too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > bert_normalize.MAX_CHARS_PER_WORD
        return words.with_flat_values(tf.where(too_long, "[UNK]", words.flat_values))

    def wordpiece(self, words):
        """(N,) words -> ragged (N, None) int32 ids: greedy longest match first, [UNK] for unmatched words."""
        words = tf.reshape(words, [-1])
        n = tf.size(words)
        n_chars = tf.strings.length(words, unit="UTF8_CHAR")
        unk = tf.zeros_like(n_chars, tf.bool)  # split_words made words over 100 characters "[UNK]" already
        # Most words are in the vocabulary whole; that is then the longest match, found with one lookup.
        whole = tf.cast(self._vocab_table.lookup(words), tf.int32)
        first = tf.where(unk, -1, whole)
        done = unk | (first >= 0) | (n_chars == 0)
        pos = tf.where(done, n_chars, 0)
        lengths = tf.range(1, self.max_piece_chars + 1)  # (K,)

        def step(pos, unk, pieces):
            active = tf.where(pos < n_chars)[:, 0]  # indices of unfinished, matchable words
            w, p, c = tf.gather(words, active), tf.gather(pos, active), tf.gather(n_chars, active)
            k = tf.shape(lengths)[0]
            subs = tf.strings.substr(tf.tile(w[:, None], [1, k]), tf.tile(p[:, None], [1, k]),
                                     tf.tile(lengths[None, :], [tf.size(active), 1]), unit="UTF8_CHAR")  # (A, K)
            keys = tf.where(p[:, None] > 0, tf.strings.join(["##", subs]), subs)
            ids = tf.cast(self._vocab_table.lookup(keys), tf.int32)
            ids = tf.where(lengths[None, :] <= (c - p)[:, None], ids, -1)
            best = tf.argmax(tf.where(ids >= 0, lengths[None, :], 0), axis=1, output_type=tf.int32)  # (A,)
            found = tf.gather(ids, best, batch_dims=1) >= 0
            piece = tf.where(found, tf.gather(ids, best, batch_dims=1), -1)
            # A word with no match at some position becomes one [UNK] as a whole.
            new_pos = tf.where(found, p + best + 1, c)
            idx = active[:, None]
            pos = tf.tensor_scatter_nd_update(pos, idx, new_pos)
            unk = tf.tensor_scatter_nd_update(unk, idx, tf.gather(unk, active) | ~found)
            column = tf.tensor_scatter_nd_update(tf.fill([n], -1), idx, piece)
            return pos, unk, tf.concat([pieces, column[:, None]], axis=1)

        pos, unk, pieces = tf.while_loop(
            lambda pos, unk, pieces: tf.reduce_any(pos < n_chars), step, [pos, unk, first[:, None]],
            shape_invariants=[pos.shape, unk.shape, tf.TensorShape([None, None])])
        pieces = tf.where(unk[:, None], -1, pieces)
        pieces = tf.concat([tf.where(unk, self.unk_id, -1)[:, None], pieces], axis=1)  # (N, 1 + steps)
        return tf.ragged.boolean_mask(pieces, pieces >= 0)

    def pieces_of_words(self, words):
        """(N,) pre-split words -> ragged (N, None) int32 piece ids of each, as BertTextTokenizer's."""
        sub_words = self.split_words(words)  # (N, S): a word may split further at punctuation
        return sub_words.with_flat_values(self.wordpiece(sub_words.flat_values)).merge_dims(1, 2)

    def tokenize(self, texts):
        """(B,) strings -> ragged (B, None) int32 ids with [CLS]/[SEP], at most max_length each."""
        words = self.split_words(texts)  # (B, W)
        pieces = words.with_flat_values(self.wordpiece(words.flat_values)).merge_dims(1, 2)  # (B, None)
        return add_special_tokens(pieces, self.cls_id, self.sep_id, self.max_length)

    def __call__(self, texts, pad_to: int | None = None):
        """(B,) strings -> dict of (B, T) int32 tensors; T is the batch's longest, or `pad_to`."""
        ids = self.tokenize(texts)
        shape = None if pad_to is None else [None, pad_to]
        return features_from_ids(ids.to_tensor(self.pad_id, shape=shape), self.pad_id)
