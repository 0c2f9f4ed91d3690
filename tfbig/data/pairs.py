"""Sentence pairs: examples whose text is a pair (a, b), read, cleaned and batched as `[CLS] a [SEP] b [SEP]`.

An example's text is a 2-tuple of strings (`Examples.texts[i] = (a, b)`); the ids and segment ids are
tfbig.data.tokenizer.BertTextTokenizer.tokenize_pairs' (Hugging Face's `BertTokenizerFast(a, b)`, truncation
'longest_first').
"""
import logging

import numpy as np

from tfbig._keras import tf
from tfbig.data.clean import first_occurrences, normalize_text
from tfbig.data.pipeline import _target_tensor, bucket_boundaries
from tfbig.data.text_files import Examples
from tfbig.data.tokenizer import features_from_ids
from tfbig.errors import UserError

log = logging.getLogger(__name__)


def is_pair_texts(texts) -> bool:
    """Whether a list of texts holds pairs: (a, b) tuples."""
    return bool(texts) and isinstance(texts[0], tuple)


def is_pair_split(split) -> bool:
    """Whether an in-memory split holds pairs (its texts are (a, b) tuples)."""
    return is_pair_texts(getattr(split, "texts", None))


def read_pair_examples(data_cfg, columns: list, parse) -> Examples:
    """A CSV/TSV/JSONL file's (text, text_pair) examples, targets from `columns` by `parse(values, where)`; a row
    without its pair column is a malformed record naming its line."""
    from tfbig.data.sources import detect_format
    from tfbig.data.text_files import _check_file, _collect
    from tfbig.data.text_streams import Skipped, iter_fields

    path = data_cfg.source
    fmt = data_cfg.format if data_cfg.format != "auto" else detect_format(path)
    _check_file(path)
    skipped = Skipped()
    pair = data_cfg.text_pair_column
    rows = iter_fields(path, fmt, data_cfg.text_column, [pair, *columns],
                       lambda values, where: (str(values[0]), parse(values[1:], where)), data_cfg.on_error, skipped)
    return _collect((((text, second), target) for text, (second, target) in rows), skipped, path)


def clean_pairs(examples: Examples) -> tuple[Examples, dict]:
    """clean() for pairs: both texts normalised, a pair with an empty side dropped, duplicates judged on the pair."""
    return first_occurrences(examples, _normalized_pair, "cleaning pairs")


def _normalized_pair(pair):
    a, b = normalize_text(pair[0]), normalize_text(pair[1])
    return (a, b) if a and b else None


def make_pair_dataset(pairs, targets, tokenizer, batch_size: int, shuffle: bool = False, seed: int = 0,
                      bucketing: bool = True, static_shapes: bool = False, tokenize_batch: int = 256):
    """(features with segment ids, targets) batches of (a, b) pairs; targets as in pipeline.make_dataset (a
    tuple of arrays is carried by each example's index)."""
    if isinstance(targets, tuple):
        tables = tuple(_target_tensor(t, len(pairs)) for t in targets)
        ds = make_pair_dataset(pairs, list(range(len(pairs))), tokenizer, batch_size, shuffle, seed, bucketing,
                               static_shapes, tokenize_batch)
        return ds.map(lambda x, i: (x, tuple(tf.gather(t, i) for t in tables))).prefetch(tf.data.AUTOTUNE)
    n = len(pairs)
    labels = _target_tensor(targets, n)
    first = tf.constant([p[0] for p in pairs], tf.string)
    second = tf.constant([p[1] for p in pairs], tf.string)

    def tokenize(a, b, y):
        ids, segments = tokenizer.tokenize_pairs(a, b)
        return (ids.to_tensor(tokenizer.pad_id), segments.to_tensor(0), tf.cast(ids.row_lengths(), tf.int32), y)

    ds = tf.data.Dataset.from_tensor_slices((first, second, labels)).batch(tokenize_batch).map(tokenize)
    ds = ds.unbatch().map(lambda ids, seg, k, y: (ids[:k], seg[:k], y)).cache()
    if shuffle:
        ds = ds.shuffle(max(n, 1), seed=seed, reshuffle_each_iteration=True)
    pad, length = tokenizer.pad_id, tokenizer.max_length
    padding = (pad, 0, tf.constant(-1, ds.element_spec[2].dtype))
    if static_shapes:
        ds = ds.padded_batch(batch_size, padded_shapes=([length], [length], ds.element_spec[2].shape),
                             padding_values=padding, drop_remainder=True)
    elif bucketing and bucket_boundaries(length):
        bounds = bucket_boundaries(length)
        ds = ds.bucket_by_sequence_length(lambda ids, seg, y: tf.shape(ids)[0], bucket_boundaries=bounds,
                                          bucket_batch_sizes=[batch_size] * (len(bounds) + 1),
                                          padding_values=padding)
    else:
        ds = ds.padded_batch(batch_size, padding_values=padding)
    return ds.map(lambda ids, seg, y: (features_from_ids(ids, pad, seg), y)).prefetch(tf.data.AUTOTUNE)


def pair_split_dataset(split, task, tokenizer, batch_size: int, shuffle: bool = False, seed: int = 0,
                       bucketing: bool = True, static_shapes: bool = False, extra_targets=None, **_):
    """Task.split_dataset for an in-memory split of pairs."""
    targets = task.encode(split.labels)
    if extra_targets:
        targets = (np.asarray(targets), *extra_targets)
    return make_pair_dataset(split.texts, targets, tokenizer, batch_size, shuffle=shuffle, seed=seed,
                             bucketing=bucketing, static_shapes=static_shapes)


def require_pair_tokenizer(tokenizer) -> None:
    if not hasattr(tokenizer, "tokenize_pairs"):
        raise UserError(f"sentence pairs need a tokenizer with tokenize_pairs; {type(tokenizer).__name__} has none")


# Named sources whose examples are pairs (read_pair_source): the task serves text + text_pair for them.
PAIR_SOURCES = ("lee_pairs", "bbc_title_pairs")
LEE_WHEEL = "gensim-4.4.0-"  # the gensim 4.4.0 wheel's name begins so (its platform tags follow)
LEE_FILES = ("gensim/test/test_data/lee.cor", "gensim/test/test_data/similarities0-1.txt")


def lee_wheel() -> str:
    """The gensim 4.4.0 wheel `make setup` downloads into <venv>/tfbig-data (or $TFBIG_DATA)."""
    from tfbig.data.setup_data import setup_data_file

    return setup_data_file(LEE_WHEEL + "*.whl", "the Lee corpus (inside gensim's 4.4.0 wheel)", "gensim==4.4.0",
                           binary=True)


def read_lee_pairs(path: str | None = None) -> Examples:
    """Lee, Pincombe & Welsh (2005): 50 news documents and the mean human similarity (0–1) of each of their
    1,225 pairs (the upper triangle of similarities0-1.txt), read from the wheel without unpacking it."""
    import zipfile

    path = path or lee_wheel()
    with zipfile.ZipFile(path) as wheel:
        docs = wheel.read(LEE_FILES[0]).decode("utf-8", errors="replace").splitlines()
        rows = wheel.read(LEE_FILES[1]).decode("utf-8").splitlines()
    docs = [d for d in docs if d.strip()]
    matrix = [[float(v) for v in row.split("\t")] for row in rows if row.strip()]
    if len(docs) != len(matrix) or any(len(row) != len(docs) for row in matrix):
        raise UserError(f"{path}: {len(docs)} Lee documents but a {len(matrix)}-row similarity matrix")
    out = Examples()
    for i in range(len(docs)):
        for j in range(i + 1, len(docs)):
            out.add((docs[i], docs[j]), (matrix[i][j],))
    return out


def read_bbc_title_pairs(seed: int = 0) -> Examples:
    """BBC News as pair classification: (title, its own body) is "same"; (title, the body of another article of
    the same class, drawn with `seed`) is "other" — topic alone cannot tell them apart."""
    import random

    from tfbig.data.sources import bbc_news_dir
    from tfbig.data.text_files import read_folder

    articles = read_folder(bbc_news_dir(), fallback_encoding="cp1252")
    by_class: dict = {}
    for text, label in zip(articles.texts, articles.labels):
        title, _, body = text.strip().partition("\n")
        if title.strip() and body.strip():
            by_class.setdefault(label, []).append((title.strip(), body.strip()))
    rng = random.Random(seed)
    out = Examples()
    for label in sorted(by_class):
        items = by_class[label]
        for k, (title, body) in enumerate(items):
            other = (k + rng.randrange(1, len(items))) % len(items)  # never the article itself
            out.add((title, body), "same")
            out.add((title, items[other][1]), "other")
    return out


def read_pair_source(source: str) -> Examples:
    if source == "lee_pairs":
        return read_lee_pairs()
    if source == "bbc_title_pairs":
        return read_bbc_title_pairs()
    raise UserError(f"data.source '{source}' is not one of {', '.join(PAIR_SOURCES)}")
