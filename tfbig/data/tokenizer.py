"""WordPiece tokenization inside the TensorFlow graph (tensorflow-text), as BERT expects it."""
import os

import tensorflow_text as tf_text

from tfbig._keras import tf
from tfbig.errors import UserError
from tfbig.models.folder import check_model_folder, tokenizer_settings


def read_vocab(path: str) -> list:
    with open(path, encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f]
    for token in ("[CLS]", "[SEP]", "[PAD]", "[UNK]"):
        if token not in vocab:
            raise UserError(f"{path}: vocabulary has no {token}")
    return vocab


class BertTextTokenizer(tf.Module):
    """Turns a batch of strings into BERT inputs: `[CLS] wordpieces [SEP]`, truncated to `max_length`.

    vocab: list of str. The WordPiece vocabulary, one token per id.
    lower_case: bool. Lower-case, NFD-decompose and strip accents first (uncased BERT models).
    max_length: int. Longest output, [CLS] and [SEP] included.

    >>> tok = BertTextTokenizer.from_model_dir(folder, max_length=16)
    >>> tok(tf.constant(["Hello world"]))["input_ids"]  # (1, 4): [CLS] hello world [SEP]
    """

    def __init__(self, vocab: list, lower_case: bool = True, max_length: int = 128, name=None):
        super().__init__(name=name)
        self.vocab = list(vocab)
        self.lower_case = lower_case
        self.max_length = int(max_length)
        self.cls_id = self.vocab.index("[CLS]")
        self.sep_id = self.vocab.index("[SEP]")
        self.pad_id = self.vocab.index("[PAD]")
        self._wordpiece = tf_text.FastBertTokenizer(
            vocab=self.vocab, token_out_type=tf.int32, unknown_token="[UNK]",
            lower_case_nfd_strip_accents=lower_case,
        )

    @classmethod
    def from_model_dir(cls, model_dir: str, max_length: int = 128):
        check_model_folder(model_dir)
        settings = tokenizer_settings(model_dir)
        return cls(read_vocab(os.path.join(model_dir, "vocab.txt")), lower_case=bool(settings["do_lower_case"]),
                   max_length=max_length)

    def tokenize(self, texts):
        """(B,) strings -> ragged (B, None) int32 ids with [CLS]/[SEP], at most max_length each."""
        return add_special_tokens(self._wordpiece.tokenize(texts), self.cls_id, self.sep_id, self.max_length)

    def __call__(self, texts, pad_to: int | None = None):
        """(B,) strings -> dict of (B, T) int32 tensors; T is the batch's longest, or `pad_to`."""
        ids = self.tokenize(texts)
        shape = None if pad_to is None else [None, pad_to]
        return features_from_ids(ids.to_tensor(self.pad_id, shape=shape), self.pad_id)


def add_special_tokens(pieces, cls_id: int, sep_id: int, max_length: int):
    """Ragged (B, None) wordpiece ids -> `[CLS] pieces [SEP]`, truncated to max_length in all."""
    pieces = pieces[:, : max_length - 2]
    shape = tf.stack([pieces.nrows(out_type=tf.int32), 1])
    cls = tf.RaggedTensor.from_tensor(tf.fill(shape, cls_id))
    sep = tf.RaggedTensor.from_tensor(tf.fill(shape, sep_id))
    return tf.concat([cls, tf.cast(pieces, tf.int32), sep], axis=1)


def features_from_ids(input_ids, pad_id: int = 0) -> dict:
    """Dense (B, T) ids -> the dict a BERT backbone takes; single-segment inputs."""
    input_ids = tf.cast(input_ids, tf.int32)
    return {
        "input_ids": input_ids,
        "attention_mask": tf.cast(tf.not_equal(input_ids, pad_id), tf.int32),
        "token_type_ids": tf.zeros_like(input_ids),
    }
