"""The plain-Python record encoder and TFRecord writer against TensorFlow's own."""
import pytest

from tfbig._keras import tf
from tfbig.data import tfrecord_io as tfrecord_writer
from tfbig.data.shard_format import encode_example, read_records, shard_name
from tfbig.data.tfrecord_io import TFRecordFileWriter, crc32c_python, frame

PAIRS = [("Hello world", "tech"), ("", "x"), ("Ünïcödé £ 1,000 — ok", "business"), ("a" * 300, "sports")]


def tf_example(text: str, label: str) -> bytes:
    feature = {
        "text": tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode("utf-8")])),
        "label": tf.train.Feature(bytes_list=tf.train.BytesList(value=[label.encode("utf-8")])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def test_crc32c_check_value():
    assert crc32c_python(b"123456789") == 0xE3069283  # the CRC-32C check value (RFC 3720)
    data = bytes(range(256)) * 5
    assert tfrecord_writer.crc32c(data) == crc32c_python(data)


@pytest.mark.parametrize("text,label", PAIRS)
def test_encode_example_is_a_tf_example(text, label):
    assert tf.train.Example.FromString(encode_example(text, label)) == tf.train.Example.FromString(
        tf_example(text, label))


def test_file_is_byte_identical_to_tf_writer(tmp_path):
    ours, theirs = str(tmp_path / "ours.tfrecord"), str(tmp_path / "tf.tfrecord")
    with TFRecordFileWriter(ours) as w:
        for text, label in PAIRS:
            w.write(tf_example(text, label))
    with tf.io.TFRecordWriter(theirs) as w:
        for text, label in PAIRS:
            w.write(tf_example(text, label))
    assert open(ours, "rb").read() == open(theirs, "rb").read()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ours.tfrecord", "tf.tfrecord"]  # no temporary left


def test_read_records_round_trip(tmp_path):
    path = str(tmp_path / shard_name(0, 1))
    with TFRecordFileWriter(path) as w:
        for text, label in PAIRS:
            w.write(encode_example(text, label))
    got = [(t.decode("utf-8"), y.decode("utf-8")) for t, y in read_records([path]).as_numpy_iterator()]
    assert got == PAIRS
    assert shard_name(3, 16) == "part-00003-of-00016.tfrecord"


def test_corrupt_record_is_detected(tmp_path):
    path = tmp_path / "bad.tfrecord"
    data = bytearray(frame(encode_example("some text", "tech")))
    data[20] ^= 0xFF  # flip a byte of the payload: its CRC no longer matches
    path.write_bytes(bytes(data))
    with pytest.raises(tf.errors.DataLossError):
        list(read_records([str(path)]))


def test_failed_write_leaves_no_file(tmp_path):
    path = tmp_path / "x.tfrecord"
    with pytest.raises(RuntimeError):
        with TFRecordFileWriter(str(path)) as w:
            w.write(encode_example("t", "l"))
            raise RuntimeError("task failed")
    assert list(tmp_path.iterdir()) == []
