"""The TFRecord shard format of labelled text, shared by `tfbig shard`, the Spark writer and the trainer.

A shard folder DIR holds `part-NNNNN-of-MMMMM.tfrecord` files (or DIR/train, DIR/val, DIR/test folders of
them, for data split beforehand) and DIR/labels.txt, one class name a line. Each record is a
`tf.train.Example` with two features, each a bytes_list of one UTF-8 string: `text` and `label` (a class
name). An unlabelled corpus (for pretraining, tfbig.data.corpus) has records with `text` only and an empty
labels.txt (still the mark of a finished folder). Paths go through tf.io.gfile, so gs:// and hdfs:// work where TensorFlow has them.

encode_example is plain Python (no TensorFlow, no protobuf library), so a Spark executor can write shards
without importing TensorFlow; TensorFlow is imported only by the functions that read.
"""
import re

from tfbig.errors import UserError

TEXT = "text"  # bytes_list holding one UTF-8 string: the cleaned text
LABEL = "label"  # bytes_list holding one UTF-8 string: the class name
LABELS_FILE = "labels.txt"
SPLITS = ("train", "val", "test")
_SHARD = re.compile(r"^part-(\d{5,})-of-(\d{5,})\.tfrecord$")


def _tf():
    from tfbig._keras import tf

    return tf


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


def encode_example(text: str, label: str | None) -> bytes:
    """The serialized tf.train.Example {text: [text], label: [label]}, as tf.train.Example would write it;
    label None: {text: [text]} only (an unlabelled corpus)."""
    features = ((TEXT, text),) if label is None else ((LABEL, label), (TEXT, text))
    entries = b"".join(  # Features.feature (1) is a map: one MapEntry {key (1), value (2)} per feature
        _field(1, _field(1, name.encode("utf-8")) + _field(2, _bytes_feature(value.encode("utf-8"))))
        for name, value in features
    )
    return _field(1, entries)  # Example.features (1)


def feature_spec():
    tf = _tf()
    return {TEXT: tf.io.FixedLenFeature([], tf.string), LABEL: tf.io.FixedLenFeature([], tf.string)}


def parse_example(serialized):
    """A scalar serialized Example → (text, label) scalar string tensors."""
    tf = _tf()
    features = tf.io.parse_single_example(serialized, feature_spec())
    return features[TEXT], features[LABEL]


def read_records(paths):
    """A tf.data.Dataset of (text, label) string pairs from TFRecord files of this format."""
    tf = _tf()
    return tf.data.TFRecordDataset(list(paths)).map(parse_example, num_parallel_calls=tf.data.AUTOTUNE)


def shard_name(index: int, count: int) -> str:
    """part-00003-of-00016.tfrecord: the name of shard `index` (from 0) of `count`."""
    return f"part-{index:05d}-of-{count:05d}.tfrecord"


def decode_example(record: bytes) -> tuple:
    """A serialized record -> (text, label); ValueError says what is wrong with it."""
    tf = _tf()
    try:
        example = tf.train.Example.FromString(record)
    except Exception as e:  # protobuf's DecodeError
        raise ValueError(f"not a tf.train.Example ({e})") from None
    out = []
    for key in (TEXT, LABEL):
        if key not in example.features.feature:
            raise ValueError(f"no feature '{key}'; features: {', '.join(sorted(example.features.feature)) or 'none'}")
        values = example.features.feature[key].bytes_list.value
        if len(values) != 1:
            raise ValueError(f"feature '{key}' must hold one bytes value, holds {len(values)}")
        try:
            out.append(values[0].decode("utf-8"))
        except UnicodeDecodeError:
            raise ValueError(f"feature '{key}' is not valid UTF-8") from None
    if not out[1]:
        raise ValueError("empty label")
    return out[0], out[1]


def parse_record(serialized):
    """One serialized record -> (text, label, ok) scalars, in the graph.

    A record missing a feature, or holding other than one value in it, or an empty label gets ok=False
    rather than an error; bytes that are no Example at all, or a feature of another type, still fail (the
    reader drops those with ignore_errors and reports them by the gap they leave in the record numbers).
    """
    tf = _tf()
    spec = {TEXT: tf.io.RaggedFeature(tf.string), LABEL: tf.io.RaggedFeature(tf.string)}
    parsed = tf.io.parse_single_example(serialized, spec)
    text, label = parsed[TEXT], parsed[LABEL]
    ok = tf.logical_and(tf.equal(tf.size(text), 1), tf.equal(tf.size(label), 1))
    text, label = tf.concat([text, [""]], 0)[0], tf.concat([label, [""]], 0)[0]
    return text, label, tf.logical_and(ok, tf.strings.length(label) > 0)


def list_shards(folder: str) -> list:
    """The shard files directly in `folder`, sorted; checks their `-of-MMMMM` counts agree with what is there."""
    tf = _tf()
    if not tf.io.gfile.isdir(folder):
        raise UserError(f"shard folder not found: {folder}")
    names = sorted(n for n in tf.io.gfile.listdir(folder) if _SHARD.match(n))
    if not names:
        raise UserError(f"{folder} holds no part-NNNNN-of-MMMMM.tfrecord files")
    counts = {int(_SHARD.match(n).group(2)) for n in names}
    if len(counts) != 1:
        raise UserError(f"{folder}: shard files disagree on their count: {sorted(counts)}")
    count = counts.pop()
    if count != len(names):
        raise UserError(f"{folder}: {len(names)} shard files found, their names say {count} "
                        f"(missing or extra files)")
    return [f"{folder.rstrip('/')}/{n}" for n in names]


def has_shard_files(folder: str) -> bool:
    """Whether `folder` directly holds part-NNNNN-of-MMMMM.tfrecord files (labels.txt or not)."""
    tf = _tf()
    return tf.io.gfile.isdir(folder) and any(_SHARD.match(n) for n in tf.io.gfile.listdir(folder))


def is_shard_dir(path: str) -> bool:
    """Whether `path` is a folder of shards, directly or in train/val/test subfolders, with labels.txt."""
    tf = _tf()
    if not tf.io.gfile.isdir(path) or not tf.io.gfile.exists(f"{path.rstrip('/')}/{LABELS_FILE}"):
        return False
    folders = [path] + [f"{path.rstrip('/')}/{s}" for s in SPLITS]
    return any(tf.io.gfile.isdir(f) and any(_SHARD.match(n) for n in tf.io.gfile.listdir(f)) for f in folders)


def split_folders(path: str) -> dict:
    """{split: folder} when `path` holds train/ (and val/, test/) shard folders; {} when it holds shards itself."""
    tf = _tf()
    root = path.rstrip("/")
    found = {s: f"{root}/{s}" for s in SPLITS if tf.io.gfile.isdir(f"{root}/{s}")}
    if found and "train" not in found:
        raise UserError(f"{path}: split folders {', '.join(found)} but no train/")
    return found


def read_labels(path: str) -> list:
    tf = _tf()
    file = f"{path.rstrip('/')}/{LABELS_FILE}"
    if not tf.io.gfile.exists(file):
        raise UserError(f"shard folder {path} has no {LABELS_FILE}")
    with tf.io.gfile.GFile(file, "r") as f:
        labels = [line.strip() for line in f if line.strip()]
    if len(labels) != len(set(labels)):
        raise UserError(f"{file} lists a class twice")
    if len(labels) < 2:
        unlabelled = " (an unlabelled corpus: a pretraining source)" if not labels else ""
        raise UserError(f"{file} lists {len(labels)} class(es){unlabelled}; a classifier needs at least 2")
    return labels
