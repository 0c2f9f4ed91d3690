"""Reading shards: interleaved, sharded per worker, and every bad record or cut file named or counted."""
import pytest

from tfbig._keras import tf
from tfbig.data.shard_format import encode_example, shard_name
from tfbig.data.shard_reader import count_records, read_shards

LABELS = ["a", "b"]


def _write(folder, num_files=3, per_file=4, extra=None):
    """Shard files of records "f{k}-{i}"; extra: {file index: [raw records appended]}."""
    files = []
    for k in range(num_files):
        path = str(folder / shard_name(k, num_files))
        with tf.io.TFRecordWriter(path) as w:
            for i in range(per_file):
                w.write(encode_example(f"f{k}-{i}", LABELS[i % 2]))
            for record in (extra or {}).get(k, []):
                w.write(record)
        files.append(path)
    return files


def _read(files, **kw):
    return [(t.decode(), int(y)) for t, y in read_shards(files, LABELS, **kw).as_numpy_iterator()]


def test_reads_every_record_once_interleaved(tmp_path):
    files = _write(tmp_path)
    out = _read(files)
    assert sorted(out) == sorted((f"f{k}-{i}", i % 2) for k in range(3) for i in range(4))
    assert [t for t, _ in out[:3]] == ["f0-0", "f1-0", "f2-0"]  # one from each file in turn
    assert count_records(files) == 12


def test_shuffled_file_order_is_seeded(tmp_path):
    files = _write(tmp_path, num_files=6, per_file=1)
    first = _read(files, shuffle=True, seed=5)
    assert first == _read(files, shuffle=True, seed=5) and sorted(first) == sorted(_read(files))


def test_bad_record_raises_naming_file_and_record(tmp_path):
    files = _write(tmp_path, extra={1: [b"not an example", encode_example("late", "a")]})
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"part-00001-of-00003.tfrecord: record 5 is not a"):
        _read(files)


def test_unknown_label_raises_naming_the_label(tmp_path):
    files = _write(tmp_path, extra={2: [encode_example("x", "zebra")]})
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"part-00002-of-00003.tfrecord: record 5 .*labels.txt: zebra"):
        _read(files)


def test_truncated_file_raises_naming_it(tmp_path):
    files = _write(tmp_path)
    data = open(files[0], "rb").read()
    open(files[0], "wb").write(data[:-3])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"part-00000-of-00003.tfrecord: the shard file is "
                                                             r"truncated or corrupt: its records end at byte"):
        _read(files)


def test_skip_drops_and_counts_per_file(tmp_path, capfd):
    files = _write(tmp_path, extra={1: [b"junk", encode_example("x", "zebra"), encode_example("kept", "b")]})
    data = open(files[2], "rb").read()
    open(files[2], "wb").write(data[:-3])  # its last record is cut
    out = _read(files, on_error="skip")
    assert sorted(t for t, _ in out) == sorted([f"f{k}-{i}" for k in range(3) for i in range(4)
                                                if (k, i) != (2, 3)] + ["kept"])
    err = capfd.readouterr().err
    assert "skipped 2 bad record(s) in " + files[1] in err
    assert "skipped 0 bad record(s) in " + files[2] + ", a file truncated or corrupt" in err


@pytest.mark.parametrize("num_files", [4, 1])
def test_per_worker_sharding_splits_the_data(tmp_path, num_files):
    files = _write(tmp_path, num_files=num_files, per_file=8 // num_files)
    parts = [_read(files, input_context=tf.distribute.InputContext(2, i, 2)) for i in range(2)]
    assert not set(parts[0]) & set(parts[1])
    assert sorted(parts[0] + parts[1]) == sorted(_read(files))
    assert len(parts[0]) == len(parts[1]) == 4


def test_auto_shard_policy_without_input_context(tmp_path, monkeypatch):
    files = _write(tmp_path, num_files=2, per_file=1)
    policy = tf.data.experimental.AutoShardPolicy
    options = read_shards(files, LABELS).options().experimental_distribute
    assert options.auto_shard_policy == policy.AUTO
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["h:1", "h:2", "h:3"]}, "task": {"type": "worker", "index": 0}}')
    assert read_shards(files, LABELS).options().experimental_distribute.auto_shard_policy == policy.DATA
