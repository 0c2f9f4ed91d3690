"""`tfbig spark-shard --unlabelled` in local[2]: the same documents as `tfbig shard --unlabelled` on one small
corpus (a folder of plain text, blank-line documents, JSONL, .gz/.bz2), duplicates dropped, read back by the
pretraining reader; a bad file refused with exit 2 and nothing written. The `spark` session: tests/data/conftest.py.
"""
import bz2
import glob
import gzip
import json
import os

import pytest

from tfbig.cli import main
from tfbig.config import DataConfig
from tfbig.data.clean import normalize_text
from tfbig.data.corpora import corpus_documents
from tfbig.data.corpus import iter_documents
from tfbig.data.shard_format import read_labels, shard_name
from tfbig.data.shard_writer import write_shards
from tfbig.errors import UserError


def write_corpus(root) -> str:
    """Ten documents in four files (blank-line documents); two repeat another once cleaned, one is blank."""
    root.mkdir()
    (root / "notes.txt").write_text("The  first note\nruns on.\n\nA second note\n\n   \n\nCafe\u0301 au lait\n")
    (root / "sub").mkdir()
    with gzip.open(root / "sub" / "more.txt.gz", "wt") as f:
        f.write("A second   note\n\nfrom gzip\n")  # the second note again, once whitespace is collapsed
    (root / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (
        {"body": "json one", "id": 1}, {"body": "Caf\u00e9 au lait", "id": 2}, {"body": "json two"}, {"body": "  "})))
    with bz2.open(root / "sub" / "rows.jsonl.bz2", "wt") as f:
        f.write(json.dumps({"body": "from bz2"}) + "\n")
    return str(root)


def shard_documents(folder: str) -> list:
    """The records' texts of a shard folder, in file order, each record as it was written (no dedup)."""
    from tfbig._keras import tf

    paths = sorted(glob.glob(os.path.join(folder, "part-*.tfrecord")))
    spec = {"text": tf.io.FixedLenFeature([], tf.string)}
    return [tf.io.parse_single_example(r, spec)["text"].numpy().decode("utf-8")
            for r in tf.data.TFRecordDataset(paths)]


def test_spark_writes_the_documents_tfbig_shard_writes(spark, tmp_path):
    from tfbig.data.spark_corpus import shard_corpus

    src = write_corpus(tmp_path / "corpus")
    local, out = str(tmp_path / "local"), str(tmp_path / "spark")
    write_shards(src, local, 2, text_column="body", label_column="", documents="blank_line", progress=False)
    summary = shard_corpus(spark, src, out, num_shards=3, text_field="body", documents="blank_line")

    assert sorted(os.listdir(out)) == sorted(["labels.txt", "shards.json"] + [shard_name(i, 3) for i in range(3)])
    got, want = shard_documents(out), shard_documents(local)
    assert len(want) == 9 and len(set(want)) == 7  # tfbig shard keeps the two repeats
    assert sorted(got) == sorted(set(want))  # Spark drops them: each distinct document once
    assert all(d == normalize_text(d) for d in got)
    assert summary.documents == 7
    assert summary.cleaning == {"files": 4, "bad_files": 0, "read": 10, "empty": 1, "duplicates": 2, "kept": 7}
    with open(os.path.join(out, "shards.json"), encoding="utf-8") as f:
        assert json.load(f)["cleaning"] == summary.cleaning
    # the readers of `tfbig pretrain` see the same corpus in either folder
    assert open(os.path.join(out, "labels.txt")).read() == ""
    assert sorted(iter_documents(out)) == sorted(iter_documents(local)) == sorted(got)
    assert sorted(corpus_documents(DataConfig(source=out))()) == sorted(corpus_documents(DataConfig(source=local))())
    with pytest.raises(UserError, match="0 class"):  # and a classifier refuses it, as it refuses tfbig shard's
        read_labels(out)


def test_cli_one_document_per_file_and_bad_input_leaves_the_folder_as_it_was(spark, tmp_path, capsys):
    src = write_corpus(tmp_path / "corpus")
    local, out = str(tmp_path / "local"), str(tmp_path / "spark")
    assert main(["shard", src, "--out", local, "--num-shards", "1", "--unlabelled", "--text-column", "body",
                 "--no-progress"]) == 0
    assert main(["spark-shard", "--unlabelled", "--input", src, "--out", out, "--num-shards", "2",
                 "--text-column", "body"]) == 0
    assert "shards written to" in capsys.readouterr().out
    assert sorted(shard_documents(out)) == sorted(set(shard_documents(local)))
    assert len(shard_documents(out)) == 6  # notes.txt and more.txt.gz one document each; JSONL by line
    before = {p: open(p, "rb").read() for p in glob.glob(os.path.join(out, "*"))}

    (tmp_path / "corpus" / "sub" / "bin.txt").write_bytes(b"fine line\n\x7fELF\x00\x01\n")
    args = ["spark-shard", "--unlabelled", "--input", src, "--out", out, "--num-shards", "2", "--text-column", "body"]
    assert main(args + ["--overwrite"]) == 2
    assert "bin.txt, line 2: a NUL byte" in capsys.readouterr().err
    assert {p: open(p, "rb").read() for p in glob.glob(os.path.join(out, "*"))} == before  # nothing half-written
    assert sorted(os.listdir(out)) == sorted(os.path.basename(p) for p in before)  # no temporary folder left
    assert main(args) == 2  # shards there, no --overwrite: refused before reading
    assert "--overwrite" in capsys.readouterr().err
    assert main(args + ["--test-fraction", "0.1"]) == 2
    assert "--test-fraction: not with --unlabelled" in capsys.readouterr().err
    assert main(["spark-shard", "--unlabelled", "--input", out, "--out", str(tmp_path / "again")]) == 2
    assert "is a shard folder already" in capsys.readouterr().err
