"""WordPiece tokenization inside the TensorFlow graph (tensorflow-text), as BERT expects it.

Token ids equal Hugging Face `BertTokenizerFast`'s (tests/data/test_tokenizer_parity.py checks real corpora):
the normalisation is done by tfbig.data.bert_normalize, the WordPiece lookup by tensorflow-text's
FastWordpieceTokenizer on the words it splits.
"""
import os

import tensorflow_text as tf_text

from tfbig._keras import tf
from tfbig.data import bert_normalize
from tfbig.errors import UserError
from tfbig.model_folder import check_model_folder, tokenizer_settings


def read_vocab(path: str) -> list:
    with open(path, encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f]
    for token in ("[CLS]", "[SEP]", "[PAD]", "[UNK]"):
        if token not in vocab:
            raise UserError(f"{path}: vocabulary has no {token}")
    return vocab


def pair_lengths(first_len, second_len, budget: int):
    """How many word pieces of each text a pair keeps: Hugging Face's 'longest_first' truncation.

    The shorter text is kept whole if the longer can have the rest; otherwise both get half the budget,
    the longer one (the second on a tie) the odd piece. first_len, second_len: (B,) int. budget: int.
    """
    a, b = tf.cast(first_len, tf.int32), tf.cast(second_len, tf.int32)
    short = tf.minimum(a, b)
    fits = 2 * short <= budget
    keep_long = tf.where(fits, budget - short, budget - budget // 2)
    keep_short = tf.where(fits, short, budget // 2)
    first_longer = a > b
    within = a + b <= budget
    return (tf.where(within, a, tf.where(first_longer, keep_long, keep_short)),
            tf.where(within, b, tf.where(first_longer, keep_short, keep_long)))


def set_bert_settings(tokenizer, vocab: list, lower_case: bool, max_length: int, strip_accents) -> None:
    """The settings every BERT tokenizer here shares: casing, accents, length, special-token ids."""
    tokenizer.vocab = list(vocab)
    tokenizer.lower_case = bool(lower_case)
    tokenizer.strip_accents = tokenizer.lower_case if strip_accents is None else bool(strip_accents)
    tokenizer.max_length = int(max_length)
    if tokenizer.max_length < 3:
        raise UserError(f"max_length must be at least 3 ([CLS] x [SEP]), got {tokenizer.max_length}")
    tokenizer.cls_id = tokenizer.vocab.index("[CLS]")
    tokenizer.sep_id = tokenizer.vocab.index("[SEP]")
    tokenizer.pad_id = tokenizer.vocab.index("[PAD]")


class BertTextTokenizer(tf.Module):
    """Turns a batch of strings into BERT inputs: `[CLS] wordpieces [SEP]`, truncated to `max_length`.

    vocab: list of str. The WordPiece vocabulary, one token per id.
    lower_case: bool. Lower-case the text (uncased BERT models).
    max_length: int. Longest output, [CLS] and [SEP] included.
    strip_accents: bool or None. NFD-decompose and drop accents; None follows `lower_case`, as in BERT.

    >>> tok = BertTextTokenizer.from_model_dir(folder, max_length=16)
    >>> tok(tf.constant(["Hello world"]))["input_ids"]  # (1, 4): [CLS] hello world [SEP]
    """

    def __init__(self, vocab: list, lower_case: bool = True, max_length: int = 128, strip_accents=None, name=None):
        super().__init__(name=name)
        set_bert_settings(self, vocab, lower_case, max_length, strip_accents)
        # Words reach it already split; 400 bytes let every word of <= 100 characters through (the
        # 100-character rule is applied in split_words).
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=self.vocab, token_out_type=tf.int32, unknown_token="[UNK]", no_pretokenization=True,
            max_bytes_per_word=4 * bert_normalize.MAX_CHARS_PER_WORD,
        )

    @classmethod
    def from_model_dir(cls, model_dir: str, max_length: int = 128):
        check_model_folder(model_dir)
        settings = tokenizer_settings(model_dir)
        return cls(read_vocab(os.path.join(model_dir, "vocab.txt")), lower_case=bool(settings["do_lower_case"]),
                   max_length=max_length, strip_accents=settings["strip_accents"])

    def wordpieces(self, texts):
        """(B,) strings -> ragged (B, None) int32 word-piece ids, no special tokens, not truncated."""
        texts = bert_normalize.normalize(tf.convert_to_tensor(texts, tf.string), self.lower_case,
                                         self.strip_accents)
        words = bert_normalize.split_words(texts)
        return self._wordpiece.tokenize(words).merge_dims(-2, -1)

    def pieces_of_words(self, words):
        """(N,) pre-split words -> ragged (N, None) int32 piece ids of each (a word may split further at
        punctuation, as BERT's pre-tokenizer splits it); no special tokens, not truncated."""
        words = bert_normalize.normalize(words, self.lower_case, self.strip_accents)
        return self._wordpiece.tokenize(bert_normalize.split_words(words)).merge_dims(1, 2)

    def _specials(self, pieces, token):
        return tf.RaggedTensor.from_tensor(tf.fill(tf.stack([pieces.nrows(out_type=tf.int32), 1]), token))

    def tokenize(self, texts):
        """(B,) strings -> ragged (B, None) int32 ids with [CLS]/[SEP], at most max_length each."""
        pieces = self.wordpieces(texts)[:, : self.max_length - 2]
        return tf.concat([self._specials(pieces, self.cls_id), pieces, self._specials(pieces, self.sep_id)], axis=1)

    def tokenize_pairs(self, first, second):
        """(B,) and (B,) strings -> ragged ids `[CLS] a [SEP] b [SEP]` and ragged segment ids (0s then 1s).

        The longer text is truncated first ('longest_first'), so the pair fits max_length.
        """
        a, b = self.wordpieces(first), self.wordpieces(second)
        keep_a, keep_b = pair_lengths(a.row_lengths(), b.row_lengths(), self.max_length - 3)
        a = tf.ragged.boolean_mask(a, tf.ragged.range(a.row_lengths()) < tf.cast(keep_a, a.row_splits.dtype)[:, None])
        b = tf.ragged.boolean_mask(b, tf.ragged.range(b.row_lengths()) < tf.cast(keep_b, b.row_splits.dtype)[:, None])
        cls, sep = self._specials(a, self.cls_id), self._specials(a, self.sep_id)
        ids = tf.concat([cls, a, sep, b, sep], axis=1)
        segments = tf.concat([tf.zeros_like(cls), tf.zeros_like(a), tf.zeros_like(sep), tf.ones_like(b),
                              tf.ones_like(sep)], axis=1)
        return ids, segments

    def __call__(self, texts, pad_to: int | None = None, second=None):
        """(B,) strings [, (B,) second texts] -> dict of (B, T) int32 tensors; T is the batch's longest, or `pad_to`."""
        shape = None if pad_to is None else [None, pad_to]
        if second is None:
            return features_from_ids(self.tokenize(texts).to_tensor(self.pad_id, shape=shape), self.pad_id)
        ids, segments = self.tokenize_pairs(texts, second)
        return features_from_ids(ids.to_tensor(self.pad_id, shape=shape), self.pad_id,
                                 segments.to_tensor(0, shape=shape))


def features_from_ids(input_ids, pad_id: int = 0, token_type_ids=None) -> dict:
    """Dense (B, T) ids [and segment ids] -> the dict a BERT backbone takes; one segment when none given."""
    input_ids = tf.cast(input_ids, tf.int32)
    return {
        "input_ids": input_ids,
        "attention_mask": tf.cast(tf.not_equal(input_ids, pad_id), tf.int32),
        "token_type_ids": tf.zeros_like(input_ids) if token_type_ids is None else tf.cast(token_type_ids, tf.int32),
    }
