"""The record format of tfbig's TFRecord shards: a tf.train.Example with bytes features `text` and `label`.

encode_example is plain Python (no TensorFlow, no protobuf library), so a Spark executor can write shards
without importing TensorFlow; parse_example is the TensorFlow side the trainer reads them with.
"""
TEXT = "text"  # bytes_list holding one UTF-8 string: the cleaned text
LABEL = "label"  # bytes_list holding one UTF-8 string: the class name


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _bytes_feature(value: bytes) -> bytes:
    return _field(1, _field(1, value))  # Feature.bytes_list (1) → BytesList.value (1)


def encode_example(text: str, label: str) -> bytes:
    """The serialized tf.train.Example {text: [text], label: [label]}, as tf.train.Example would write it."""
    entries = b"".join(  # Features.feature (1) is a map: one MapEntry {key (1), value (2)} per feature
        _field(1, _field(1, name.encode("utf-8")) + _field(2, _bytes_feature(value.encode("utf-8"))))
        for name, value in ((LABEL, label), (TEXT, text))
    )
    return _field(1, entries)  # Example.features (1)


def feature_spec():
    from tfbig._keras import tf

    return {TEXT: tf.io.FixedLenFeature([], tf.string), LABEL: tf.io.FixedLenFeature([], tf.string)}


def parse_example(serialized):
    """A scalar serialized Example → (text, label) scalar string tensors."""
    from tfbig._keras import tf

    features = tf.io.parse_single_example(serialized, feature_spec())
    return features[TEXT], features[LABEL]


def read_records(paths):
    """A tf.data.Dataset of (text, label) string pairs from TFRecord files of this format."""
    from tfbig._keras import tf

    return tf.data.TFRecordDataset(list(paths)).map(parse_example, num_parallel_calls=tf.data.AUTOTUNE)


def shard_name(index: int, count: int) -> str:
    """part-00003-of-00016.tfrecord: the name of shard `index` (from 0) of `count`."""
    return f"part-{index:05d}-of-{count:05d}.tfrecord"
