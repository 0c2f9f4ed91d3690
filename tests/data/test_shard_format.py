"""The shard record format: encode/decode round trip, in-graph parsing, folder layout checks."""
import pytest

from tfbig._keras import tf
from tfbig.data.shard_format import (decode_example, encode_example, is_shard_dir, list_shards, parse_record,
                                read_labels, shard_name, split_folders)
from tfbig.errors import UserError


def test_encode_decode_round_trip_and_graph_parse():
    record = encode_example("Café über alles ✓", "world news")
    assert decode_example(record) == ("Café über alles ✓", "world news")
    text, label, ok = parse_record(tf.constant(record))
    assert (text.numpy().decode(), label.numpy().decode(), bool(ok)) == ("Café über alles ✓", "world news", True)


def test_the_wire_format_is_a_plain_example():
    example = tf.train.Example.FromString(encode_example("t", "l"))
    assert example.features.feature["text"].bytes_list.value == [b"t"]
    assert example.features.feature["label"].bytes_list.value == [b"l"]


@pytest.mark.parametrize("features, message", [
    ({"text": [b"t"]}, "no feature 'label'"),
    ({"text": [b"a", b"b"], "label": [b"l"]}, "holds 2"),
    ({"text": [b"t"], "label": [b""]}, "empty label"),
])
def test_bad_records(features, message):
    example = tf.train.Example(features=tf.train.Features(feature={
        k: tf.train.Feature(bytes_list=tf.train.BytesList(value=v)) for k, v in features.items()}))
    record = example.SerializeToString()
    with pytest.raises(ValueError, match=message):
        decode_example(record)
    assert not bool(parse_record(tf.constant(record))[2])
    with pytest.raises(ValueError, match="not a tf.train.Example"):
        decode_example(b"\xff\xfe garbage")


def test_shard_names_and_listing(tmp_path):
    assert shard_name(3, 10) == "part-00003-of-00010.tfrecord"
    for i in range(2):
        (tmp_path / shard_name(i, 2)).write_bytes(b"")
    (tmp_path / "labels.txt").write_text("a\nb\n")
    assert [p.rsplit("/", 1)[1] for p in list_shards(str(tmp_path))] == [shard_name(0, 2), shard_name(1, 2)]
    assert is_shard_dir(str(tmp_path)) and split_folders(str(tmp_path)) == {}
    assert read_labels(str(tmp_path)) == ["a", "b"]
    (tmp_path / shard_name(1, 2)).unlink()
    with pytest.raises(UserError, match="1 shard files found, their names say 2"):
        list_shards(str(tmp_path))
    assert not is_shard_dir(str(tmp_path / "nowhere"))
