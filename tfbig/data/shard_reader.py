"""Reads TFRecord shards as a tf.data stream: interleaved, sharded per worker, every bad record accounted for.

Each file is read on its own (then interleaved), so a problem is named by file and record number:
- a record that is no Example, lacks `text`/`label`, or has a class not in labels.txt is a bad record;
- a file whose records do not add up to its size was cut short (or is corrupt from some byte on).
on_error="raise" stops with that message; "skip" drops the bad records and warns with their count per file.
"""
import logging
import os
import sys

from tfbig._keras import tf
from tfbig.data.shard_format import parse_record

log = logging.getLogger(__name__)
_FRAME = 16  # bytes around each TFRecord payload: length (8) + its CRC (4) + the payload's CRC (4)


def workers_from_tf_config() -> int:
    """How many workers TF_CONFIG declares (chief included); 1 without it."""
    import json

    cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})
    return max(1, len(cluster.get("worker", [])) + len(cluster.get("chief", [])))


def _numbered(path, size):
    """(index, record, is_end, bytes_read) for each record of one file, then one end marker."""
    records = tf.data.TFRecordDataset(path).ignore_errors()  # a cut or corrupt tail ends the file here...
    records = records.enumerate().map(lambda i, r: (i, r, False))
    end = tf.data.Dataset.from_tensors((tf.constant(0, tf.int64), tf.constant(""), True))

    def count(state, element):
        n, read = state
        i, record, is_end = element
        read = tf.where(is_end, read, read + tf.cast(tf.strings.length(record), tf.int64) + _FRAME)
        return (tf.where(is_end, n, n + 1), read), (tf.where(is_end, n, i), record, is_end, read)

    # ...and is caught at the end marker: the bytes read fall short of the file's size.
    return records.concatenate(end).scan((tf.constant(0, tf.int64), tf.constant(0, tf.int64)), count)


def _checked(path, size, table, on_error: str):
    """One file -> (text, label id, keep) elements; raises or counts per `on_error`."""
    def parse(i, record, is_end, read):
        text, label, ok = parse_record(record)
        label_id = tf.cast(table.lookup(label), tf.int32)
        return i, text, label, label_id, ok, is_end, read

    # Bytes that are no Example fail parse_record: dropped here, they leave a gap in the record numbers.
    parsed = _numbered(path, size).map(parse).ignore_errors()

    def check(state, element):
        expected, dropped = state
        i, text, label, label_id, ok, is_end, read = element
        unparsable = i - expected  # records between the last good one and this one
        bad = tf.logical_and(tf.logical_not(is_end), tf.logical_or(tf.logical_not(ok), label_id < 0))
        truncated = tf.logical_and(is_end, tf.not_equal(read, size))
        if on_error == "raise":
            number = tf.strings.as_string(expected + 1)
            checks = [
                tf.debugging.Assert(tf.equal(unparsable, 0), [
                    tf.strings.join([path, ": record ", number, " is not a tf.train.Example with bytes "
                                     "features text and label"])]),
                tf.debugging.Assert(tf.logical_not(bad), [
                    tf.strings.join([path, ": record ", tf.strings.as_string(i + 1), " lacks one text and one label, or "
                                     "has a label not in labels.txt: ", label])]),
                tf.debugging.Assert(tf.logical_not(truncated), [
                    tf.strings.join([path, ": the shard file is truncated or corrupt: its records end at byte ",
                                     tf.strings.as_string(read), " of ", tf.strings.as_string(size)])]),
            ]
            with tf.control_dependencies(checks):
                keep = tf.logical_not(is_end)
        else:
            dropped = dropped + unparsable + tf.cast(bad, tf.int64)
            keep = tf.logical_and(tf.logical_not(is_end), tf.logical_not(bad))
            warn = tf.logical_and(is_end, tf.logical_or(dropped > 0, truncated))
            note = tf.where(truncated, tf.strings.join([
                ", a file truncated or corrupt (its records end at byte ", tf.strings.as_string(read), " of ",
                tf.strings.as_string(size), ")"]), "")
            with tf.control_dependencies([tf.cond(warn, lambda: _warn(path, dropped, note), lambda: tf.constant(0))]):
                keep = tf.identity(keep)
        return (i + 1, dropped), (text, label_id, keep)

    return parsed.scan((tf.constant(0, tf.int64), tf.constant(0, tf.int64)), check)


def _warn(path, dropped, note):
    message = tf.strings.join(["tfbig: skipped ", tf.strings.as_string(dropped), " bad record(s) in ", path, note])
    with tf.control_dependencies([tf.print(message, output_stream=sys.stderr)]):
        return tf.constant(0)


def _kept(text, label_id, keep):
    return keep


def _without_flag(text, label_id, keep):
    return text, label_id


def read_shards(files: list, labels: list, on_error: str = "raise", shuffle: bool = False, seed: int = 0,
                input_context=None, cycle_length: int = 8):
    """A dataset of (text, label id) from TFRecord shard files.

    files: list of str. labels: list of str, a class's id is its index. on_error: "raise" | "skip".
    shuffle: bool. Shuffle the file order each epoch (records are shuffled later, in a buffer).
    input_context: tf.distribute.InputContext or None. Each input pipeline reads its own files when there
      are at least as many files as pipelines, else every pipeline reads all and keeps its own share.
      Without one (strategy.experimental_distribute_dataset), tf.data's auto-sharding goes by file (AUTO)
      unless TF_CONFIG names more workers than there are files (DATA).
    """
    sizes = [tf.io.gfile.stat(f).length for f in files]
    table = tf.lookup.StaticHashTable(
        tf.lookup.KeyValueTensorInitializer(tf.constant(labels), tf.range(len(labels), dtype=tf.int64)), -1)
    ds = tf.data.Dataset.from_tensor_slices((tf.constant(files), tf.constant(sizes, tf.int64)))
    pipelines = input_context.num_input_pipelines if input_context else 1
    by_file = len(files) >= pipelines
    if input_context and by_file and pipelines > 1:
        ds = ds.shard(pipelines, input_context.input_pipeline_id)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(lambda path, size: _checked(path, size, table, on_error), cycle_length=cycle_length,
                       block_length=1, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.filter(_kept).map(_without_flag)
    if input_context and not by_file and pipelines > 1:
        ds = ds.shard(pipelines, input_context.input_pipeline_id)
    options = tf.data.Options()
    policy = tf.data.experimental.AutoShardPolicy
    if input_context:
        options.experimental_distribute.auto_shard_policy = policy.OFF  # sharded above
    else:
        # AUTO shards by file, falling back to data where it finds no file reader; too few files: by data.
        by_file = len(files) >= workers_from_tf_config()
        options.experimental_distribute.auto_shard_policy = policy.AUTO if by_file else policy.DATA
    return ds.with_options(options)


def count_records(files: list) -> int:
    """How many records the files hold (a fast pass that parses nothing)."""
    ds = tf.data.Dataset.from_tensor_slices(files).interleave(
        tf.data.TFRecordDataset, num_parallel_calls=tf.data.AUTOTUNE).ignore_errors()
    return int(ds.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))


class ShardErrors:
    """`with ShardErrors():` turns the reader's failed checks (raised inside TensorFlow) into UserErrors."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, tb):
        if isinstance(error, tf.errors.InvalidArgumentError) and "assertion failed: [" in str(error):
            message = str(error).split("assertion failed: [", 1)[1].split("]\n", 1)[0].rstrip("]")
            if ".tfrecord: " in message:
                from tfbig.errors import UserError

                raise UserError(message) from None
        return False
