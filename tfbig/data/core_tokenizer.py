"""BERT WordPiece tokenization with core TensorFlow ops only, so a SavedModel runs where tensorflow-text is absent.

Stock TF Serving and a bare `import tensorflow` lack tensorflow-text's `FastBertNormalize` and
`FastWordpieceTokenizeWithOffsets` (tensorflow/serving#2064). This tokenizer gives the same ids as
`BertTextTokenizer` (tensorflow-text's FastBertTokenizer) with `tf.strings` ops and hash tables:

1. Normalisation, one code point at a time, from a table computed at export time: what FastBertNormalizer
   does to each code point (lower case, NFD, accents stripped, control characters to spaces), then
   spaces to " " and punctuation isolated as " p ".
2. CJK ideographs isolated with a regex (ranges as in BERT's `_is_chinese_char`), split on spaces.
3. Greedy longest-match-first WordPiece against a vocabulary table read from an asset file.
"""
import functools
import os
import unicodedata

import numpy as np

from tfbig._keras import tf
from tfbig.data.tokenizer import add_special_tokens, features_from_ids, read_vocab
from tfbig.errors import UserError
from tfbig.models.folder import check_model_folder, tokenizer_settings

MAX_BYTES_PER_WORD = 100  # longer words become [UNK], as in FastBertTokenizer (max_bytes_per_word)
_CJK = (r"([\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}\x{2B740}-\x{2B81F}"
        r"\x{2B820}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}])")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


@functools.lru_cache(maxsize=2)
def normalization_table(lower_case: bool) -> tuple[np.ndarray, list]:
    """(code points, their replacements as lists of code points) for every code point that changes.

    The per-character normalisation is taken from tensorflow-text's FastBertNormalizer itself (here, at
    export time), so both tokenizers agree on lower-casing, compatibility forms ("ﬁ" -> "fi", "…" -> "..."),
    control and zero-width characters; then spaces become " " and punctuation is isolated as " p ".
    """
    import tensorflow_text as tf_text

    cps = np.asarray([cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF], np.int32)
    chars = tf.strings.unicode_encode(tf.RaggedTensor.from_tensor(cps[:, None]), "UTF-8")
    normalized = tf_text.FastBertNormalizer(lower_case_nfd_strip_accents=lower_case).normalize(chars).numpy()
    keys, values = [], []
    for cp, raw, same in zip(cps.tolist(), normalized, normalized == chars.numpy()):
        if same and not _is_punctuation(chr(cp)) and not chr(cp).isspace():
            continue  # most code points: nothing to do (checked cheaply)
        out = "".join(" " if c.isspace() else f" {c} " if _is_punctuation(c) else c for c in raw.decode("utf-8"))
        if out != chr(cp):
            keys.append(cp)
            values.append([ord(c) for c in out])
    return np.asarray(keys, np.int32), values


class CoreBertTokenizer(tf.Module):
    """Turns a batch of strings into BERT inputs like `BertTextTokenizer`, with core TensorFlow ops only.

    vocab_file: str. The WordPiece vocabulary, one token per line; kept as a SavedModel asset.
    lower_case: bool. Lower-case, NFD-decompose and strip accents first (uncased BERT models).
    max_length: int. Longest output, [CLS] and [SEP] included.

    >>> tok = CoreBertTokenizer.from_model_dir(folder, max_length=16)
    >>> tok(tf.constant(["Hello world"]))["input_ids"]  # (1, 4): [CLS] hello world [SEP]
    """

    def __init__(self, vocab_file: str, lower_case: bool = True, max_length: int = 128, name=None):
        super().__init__(name=name)
        self.vocab = read_vocab(vocab_file)
        if len(set(self.vocab)) != len(self.vocab):
            raise UserError(f"{vocab_file}: vocabulary has duplicate tokens")
        self.lower_case = lower_case
        self.max_length = int(max_length)
        self.cls_id = self.vocab.index("[CLS]")
        self.sep_id = self.vocab.index("[SEP]")
        self.pad_id = self.vocab.index("[PAD]")
        self.unk_id = self.vocab.index("[UNK]")
        # Longest vocabulary entry in characters, "##" not counted: no match can be longer.
        self.max_piece_chars = max(len(t[2:] if t.startswith("##") else t) for t in self.vocab)
        self.vocab_asset = tf.saved_model.Asset(vocab_file)
        self._vocab_table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(self.vocab_asset, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE,
                                          tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER), default_value=-1)
        keys, values = normalization_table(lower_case)
        self._norm_table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(keys, np.arange(len(keys), dtype=np.int32)), default_value=-1)
        # One extra empty row: the gather target of code points that stay as they are.
        self._replacements = tf.RaggedTensor.from_row_lengths(
            np.concatenate([np.asarray(v, np.int32) for v in values]), [len(v) for v in values] + [0])
        self._empty_row = len(values)

    @classmethod
    def from_model_dir(cls, model_dir: str, max_length: int = 128):
        check_model_folder(model_dir)
        settings = tokenizer_settings(model_dir)
        return cls(os.path.join(model_dir, "vocab.txt"), lower_case=bool(settings["do_lower_case"]),
                   max_length=max_length)

    def normalize(self, texts):
        """(B,) strings -> (B,) strings, normalised one code point at a time; invalid UTF-8 becomes a space."""
        cps = tf.strings.unicode_decode(texts, "UTF-8", errors="replace", replacement_char=0xFFFD)  # (B, None)
        flat = cps.flat_values  # (N,)
        row = self._norm_table.lookup(flat)
        kept = row < 0
        mapped = tf.gather(self._replacements, tf.where(kept, self._empty_row, row))  # (N, None)
        same = tf.RaggedTensor.from_row_lengths(tf.boolean_mask(flat, kept), tf.cast(kept, tf.int64))
        per_cp = tf.concat([mapped, same], axis=1)  # (N, None): the code point's replacement
        out = cps.with_flat_values(per_cp).merge_dims(1, 2)  # (B, None)
        text = tf.strings.unicode_encode(out, "UTF-8")
        return tf.strings.regex_replace(text, _CJK, r" \1 ")

    def split_words(self, texts):
        """(B,) strings -> ragged (B, None) words, at most max_length - 2 per text (each gives a piece or more)."""
        return tf.strings.split(self.normalize(texts))[:, : self.max_length - 2]

    def wordpiece(self, words):
        """(N,) words -> ragged (N, None) int32 ids: greedy longest match first, [UNK] for unmatched words."""
        words = tf.reshape(words, [-1])
        n = tf.size(words)
        n_chars = tf.strings.length(words, unit="UTF8_CHAR")
        unk = tf.strings.length(words) > MAX_BYTES_PER_WORD
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
