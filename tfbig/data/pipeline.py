"""tf.data pipelines: tokenize once in the graph, cache, shuffle, bucket by length, pad per batch, prefetch."""
import numpy as np

from tfbig._keras import tf
from tfbig.data.tokenizer import BertTextTokenizer, features_from_ids


def bucket_boundaries(max_length: int) -> list:
    """Length bounds 16, 32, 64, ... below max_length: few buckets, little padding."""
    bounds, b = [], 16
    while b < max_length:
        bounds.append(b + 1)  # bucket_by_sequence_length bounds are exclusive
        b *= 2
    return bounds


def _tokenize_padded(tokenizer, texts, labels):
    """Tokenizes a batch; returns dense ids with their lengths, so unbatching gives plain tensors."""
    ids = tokenizer.tokenize(texts)
    return ids.to_tensor(tokenizer.pad_id), tf.cast(ids.row_lengths(), tf.int32), labels


def tokenize_examples(ds, tokenizer: BertTextTokenizer, tokenize_batch: int = 256):
    """(text, label) elements -> ((T,) int32 ids, label) elements; tokenized in batches of `tokenize_batch`."""
    ds = ds.batch(tokenize_batch).map(lambda t, y: _tokenize_padded(tokenizer, t, y),
                                      num_parallel_calls=tf.data.AUTOTUNE)
    return ds.unbatch().map(lambda ids, n, y: (ids[:n], y))


def batch_tokenized(ds, tokenizer: BertTextTokenizer, batch_size: int, bucketing: bool = True,
                    static_shapes: bool = False):
    """((T,) ids, target) elements -> (features dict, (B, ...) targets) batches, padded as few as asked, prefetched."""
    pad, length = tokenizer.pad_id, tokenizer.max_length
    # Targets are never padded (every element has its own); the value only has to match their dtype.
    padding = (pad, tf.constant(-1, ds.element_spec[1].dtype))

    if static_shapes:
        shapes = ([length], ds.element_spec[1].shape)
        ds = ds.padded_batch(batch_size, padded_shapes=shapes, padding_values=padding, drop_remainder=True)
    elif bucketing and bucket_boundaries(length):
        bounds = bucket_boundaries(length)
        ds = ds.bucket_by_sequence_length(
            lambda ids, y: tf.shape(ids)[0], bucket_boundaries=bounds,
            bucket_batch_sizes=[batch_size] * (len(bounds) + 1), padding_values=padding,
            pad_to_bucket_boundary=False,
        )
    else:
        ds = ds.padded_batch(batch_size, padding_values=padding)

    def features(ids, y):
        return features_from_ids(ids, pad), y

    return ds.map(features, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def _target_tensor(targets, n: int):
    """Targets as one tensor: ints → int32 (class ids; -1 for unlabelled), floats → float32."""
    if targets is None:
        return tf.constant([-1] * n, tf.int32)
    array = np.asarray(targets)
    if array.size and array.dtype.kind == "f":
        return tf.constant(array, tf.float32)
    return tf.constant(array.astype(np.int32) if array.size else np.zeros(array.shape, np.int32), tf.int32)


def make_dataset(texts, label_ids, tokenizer: BertTextTokenizer, batch_size: int, shuffle: bool = False,
                 seed: int = 0, bucketing: bool = True, static_shapes: bool = False, tokenize_batch: int = 256):
    """Returns a dataset of (features dict, targets) batches.

    texts: list of str. label_ids: the targets — a list/array of class ids or floats, None for unlabelled
        data, or a tuple of arrays (e.g. labels and cached teacher outputs) whose rows follow their text.
    bucketing: bool. Group texts of similar length so a batch pads to its own longest, not max_length.
    static_shapes: bool. Every batch is (batch_size, max_length) and the remainder is dropped (TPUs).
    """
    if isinstance(label_ids, tuple):
        # The pipeline carries each example's index and looks its rows up after batching, so shuffling and
        # bucketing keep every example with its own targets.
        tables = tuple(_target_tensor(t, len(texts)) for t in label_ids)
        ds = make_dataset(texts, list(range(len(texts))), tokenizer, batch_size, shuffle, seed, bucketing,
                          static_shapes, tokenize_batch)
        return ds.map(lambda x, i: (x, tuple(tf.gather(t, i) for t in tables)),
                      num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    n = len(texts)
    labels = _target_tensor(label_ids, n)
    texts = tf.constant(list(texts), tf.string)
    ds = tokenize_examples(tf.data.Dataset.from_tensor_slices((texts, labels)), tokenizer, tokenize_batch)
    ds = ds.cache()  # tokenized once, for every epoch
    if shuffle:
        ds = ds.shuffle(max(n, 1), seed=seed, reshuffle_each_iteration=True)
    return batch_tokenized(ds, tokenizer, batch_size, bucketing, static_shapes)


def split_dataset(split, task, tokenizer: BertTextTokenizer, batch_size: int, shuffle: bool = False,
                  seed: int = 0, bucketing: bool = True, static_shapes: bool = False, on_error: str = "raise",
                  input_context=None, shuffle_buffer: int = 10_000, extra_targets=None):
    """Batches of one split: in-memory Examples (via make_dataset), or a ShardSplit streamed from its files.

    Shards are read, tokenized and shuffled in a bounded buffer each epoch, never cached: the data may not
    fit in memory. task: a tfbig Task (its `encode` gives the targets), or a list of class names (a class's
    id is its index). extra_targets: arrays or None. Rows added to each example's targets (cached teacher
    outputs): batches then carry (labels, *extra_targets); in-memory splits only.
    """
    from tfbig.data.shard_splits import ShardSplit

    labels = list(task.labels) if hasattr(task, "encode") else list(task)
    if not isinstance(split, ShardSplit):
        if hasattr(task, "encode"):
            targets = task.encode(split.labels)
        else:
            index = {name: i for i, name in enumerate(labels)}
            targets = [index[label] for label in split.labels]
        if extra_targets:
            targets = (np.asarray(targets), *extra_targets)
        return make_dataset(split.texts, targets, tokenizer, batch_size,
                            shuffle=shuffle, seed=seed, bucketing=bucketing, static_shapes=static_shapes)
    if extra_targets:
        raise ValueError("extra targets (cached teacher outputs) need an in-memory split")
    from tfbig.data.shard_reader import read_shards

    ds = read_shards(split.files, labels, on_error=on_error, shuffle=shuffle, seed=seed, input_context=input_context)
    ds = tokenize_examples(ds, tokenizer)
    if shuffle:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    return batch_tokenized(ds, tokenizer, batch_size, bucketing, static_shapes)


def pad_share(ds) -> float:
    """The fraction of token positions that are padding over a dataset of (features, label) batches."""
    pads = total = 0
    for features, _ in ds:
        mask = features["attention_mask"].numpy()
        pads += int((mask == 0).sum())
        total += mask.size
    return pads / max(total, 1)
