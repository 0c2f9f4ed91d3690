"""Words → word pieces in the graph, with the word → piece map a tagger needs: ids, first-piece labels, starts.

A sentence arrives as its words (ragged (B, W) strings). Each word is normalised and split as BERT's
pre-tokenizer would (a word may split further, at punctuation: "U.S." is u . s .), then WordPiece'd; its
pieces are concatenated, truncated to `max_length - 2` and framed by [CLS] ... [SEP] — the ids equal
Hugging Face `BertTokenizerFast(words, is_split_into_words=True, truncation=True)`'s.

The tag of a word goes on its first piece; its other pieces and the special tokens get IGNORE (-100), left
out of the loss and the metrics, unless `label_all_tokens` gives every piece its word's tag. A word with no
piece (an empty word) or whose first piece was truncated away has start -1 and no label.
"""
import tensorflow_text as tf_text

from tfbig._keras import tf
from tfbig.data import bert_normalize

IGNORE = -100  # the label of a position no loss or metric counts (transformers' convention)


def word_pieces(tokenizer, words):
    """ragged (B, W) strings → ragged (B, W, P) int32 piece ids of each word.

    tokenizer: BertTextTokenizer (tensorflow-text ops) or CoreBertTokenizer (core TF ops): the same ids.
    """
    pieces = tokenizer.pieces_of_words(words.flat_values)  # (N, P)
    return tf.RaggedTensor.from_row_splits(pieces, tf.cast(words.row_splits, pieces.row_splits.dtype))


def align(tokenizer, words, tags=None, label_all_tokens: bool = False) -> dict:
    """The pieces of a batch of pre-split sentences and where each word's pieces are.

    words: ragged (B, W) strings. tags: ragged (B, W) int32 tag ids, or None.
    Returns {"input_ids": ragged (B, T) int32 with [CLS]/[SEP], T ≤ max_length;
             "word_starts": ragged (B, W) int64, the position in input_ids of each word's first piece or -1;
             "labels": ragged (B, T) int32, tags on labelled pieces, IGNORE elsewhere (only with tags)}.
    """
    pieces = word_pieces(tokenizer, words)  # (B, W, P)
    budget = tokenizer.max_length - 2
    per_word = pieces.values.row_lengths()  # (N,) pieces of each word
    sentences = pieces.merge_dims(1, 2)  # (B, L) all pieces of each sentence
    # A word's first piece in its sentence: its offset in the flat pieces minus its sentence's.
    first = tf.cumsum(per_word, exclusive=True) - tf.gather(sentences.row_splits, words.value_rowids())
    starts = tf.where((per_word > 0) & (first < budget), first + 1, tf.constant(-1, first.dtype))  # +1: [CLS]
    sentences = sentences[:, :budget]
    b = sentences.nrows(out_type=tf.int32)
    cls = tf.fill([b, 1], tokenizer.cls_id)
    sep = tf.fill([b, 1], tokenizer.sep_id)
    out = {"input_ids": tf.concat([cls, sentences, sep], axis=1),
           "word_starts": tf.RaggedTensor.from_row_splits(starts, tf.cast(words.row_splits, starts.dtype))}
    if tags is not None:
        piece_word = pieces.values.value_rowids()  # (total pieces,) the flat word of each piece
        is_first = tf.ragged.range(per_word).flat_values == 0
        piece_tag = tf.gather(tf.cast(tags.flat_values, tf.int32), piece_word)
        keep = tf.ones_like(is_first) if label_all_tokens else is_first
        labels = pieces.with_flat_values(tf.where(keep, piece_tag, IGNORE)).merge_dims(1, 2)[:, :budget]
        ignore = tf.fill([b, 1], IGNORE)
        out["labels"] = tf.concat([ignore, labels, ignore], axis=1)
    return out


def split_with_offsets(texts):
    """(B,) raw strings → (words, char_starts, char_ends), each ragged (B, W): BERT's word split (whitespace,
    punctuation and CJK characters alone) of the text as given, with each word's offsets in characters."""
    words, begin, end = tf_text.regex_split_with_offsets(
        texts, f"{bert_normalize.WHITESPACE}|{bert_normalize.PUNCTUATION}|{bert_normalize.CJK}",
        f"{bert_normalize.PUNCTUATION}|{bert_normalize.CJK}")
    # Byte offsets → character offsets: the characters of the text before each offset.
    text_of_word = tf.gather(texts, words.value_rowids())
    char_begin = tf.strings.length(tf.strings.substr(text_of_word, tf.zeros_like(begin.flat_values), begin.flat_values), unit="UTF8_CHAR")
    char_end = tf.strings.length(tf.strings.substr(text_of_word, tf.zeros_like(end.flat_values), end.flat_values), unit="UTF8_CHAR")
    return words, words.with_flat_values(char_begin), words.with_flat_values(char_end)
