import bz2
import gzip
import json

import pytest

from tfbig.data.corpus import CorpusStats, iter_documents
from tfbig.data.shard_writer import write_shards
from tfbig.errors import UserError


def test_folder_one_document_per_file_cleaned_in_sorted_order(tmp_path):
    (tmp_path / "b.txt").write_text("second  file\n\nstill second\n")
    (tmp_path / "a.txt").write_text("Cafe\u0301 first\n")  # NFD é → NFC
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "c.md").write_text("third")
    (tmp_path / ".hidden").write_text("never read")
    stats = CorpusStats()
    docs = list(iter_documents(str(tmp_path), stats=stats))
    assert docs == ["Caf\u00e9 first", "second file still second", "third"]
    assert (stats.files, stats.read, stats.documents, stats.characters) == (3, 3, 3, sum(map(len, docs)))


def test_blank_line_documents_min_chars_and_dedup_counted(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text("one doc\nline two\n\n\n  \nx\n\nanother doc\n\none doc\nline two\n")
    stats = CorpusStats()
    docs = list(iter_documents(str(path), documents="blank_line", min_chars=2, stats=stats))
    assert docs == ["one doc line two", "another doc"]
    assert stats.read == 4 and stats.documents == 2
    assert stats.dropped == {"empty": 0, "short": 1, "duplicate": 1}
    kept = list(iter_documents(str(path), documents="blank_line", dedup=False))
    assert kept == ["one doc line two", "x", "another doc", "one doc line two"]


def test_jsonl_and_compressed_files(tmp_path):
    records = [{"text": "alpha beta", "id": 1}, {"text": "gamma", "id": 2}]
    lines = "".join(json.dumps(r) + "\n" for r in records)
    (tmp_path / "a.jsonl").write_text(lines)
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as f:
        f.write(json.dumps({"text": "from gzip"}) + "\n")
    with bz2.open(tmp_path / "c.txt.bz2", "wt") as f:
        f.write("from bz2\n\nsecond bz2\n")
    paths = [str(tmp_path / n) for n in ("a.jsonl", "b.jsonl.gz", "c.txt.bz2")]
    assert list(iter_documents(paths, documents="blank_line")) == ["alpha beta", "gamma", "from gzip", "from bz2",
                                                                   "second bz2"]
    (tmp_path / "d.jsonl").write_text(json.dumps({"body": "x"}) + "\n")
    with pytest.raises(UserError, match=r"d.jsonl, line 1: no field 'text'; found: body"):
        list(iter_documents(str(tmp_path / "d.jsonl")))
    assert list(iter_documents(str(tmp_path / "d.jsonl"), text_field="body")) == ["x"]


def test_unlabelled_shards_written_by_tfbig_shard_read_back(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("first doc\n\nsecond doc\n")
    with gzip.open(src / "b.txt.gz", "wt") as f:
        f.write("third doc\n")
    out = tmp_path / "shards"
    summary = write_shards(str(src), str(out), 2, label_column="", documents="blank_line", progress=False)
    assert summary["records"] == {"all": 3} and summary["labels"] == []
    assert (out / "labels.txt").read_text() == ""
    assert sorted(iter_documents(str(out))) == ["first doc", "second doc", "third doc"]
    # labelled shards read as a corpus too: the label is ignored
    (tmp_path / "l.jsonl").write_text("".join(json.dumps({"text": t, "label": l}) + "\n"
                                              for t, l in (("x y", "a"), ("z w", "b"))))
    write_shards(str(tmp_path / "l.jsonl"), str(tmp_path / "lab"), 1, progress=False)
    assert list(iter_documents(str(tmp_path / "lab"))) == ["x y", "z w"]


def test_bad_inputs_name_the_file_and_line(tmp_path):
    (tmp_path / "bin.txt").write_bytes(b"fine line\n\x7fELF\x00\x01\x02\n")
    with pytest.raises(UserError, match=r"bin.txt, line 2: a NUL byte"):
        list(iter_documents(str(tmp_path / "bin.txt")))
    (tmp_path / "latin.txt").write_bytes(b"ok\ncaf\xe9\n")
    with pytest.raises(UserError, match=r"latin.txt, line 2: not valid UTF-8"):
        list(iter_documents(str(tmp_path / "latin.txt")))
    (tmp_path / "fake.gz").write_bytes(b"not gzip at all")
    with pytest.raises(UserError, match=r"fake.gz: cannot be read"):
        list(iter_documents(str(tmp_path / "fake.gz")))
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "blank.txt").write_text("  \n\n")
    with pytest.raises(UserError, match=r"empty: an empty corpus, no documents \(1 read"):
        list(iter_documents(str(tmp_path / "empty")))
    with pytest.raises(UserError, match="corpus path not found"):
        list(iter_documents(str(tmp_path / "missing")))


def test_streaming_reads_lazily(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("a doc\n\nb doc\n\n" + "\x00")  # the bad byte comes after two documents
    stream = iter_documents(str(path), documents="blank_line")
    assert [next(stream), next(stream)] == ["a doc", "b doc"]
    with pytest.raises(UserError, match="NUL"):
        next(stream)


def test_cli_shards_an_unlabelled_corpus(tmp_path, capsys):
    from tfbig.cli import main

    (tmp_path / "notes.txt").write_text("alpha one\n\nbeta two\n\ngamma three\n")
    out = tmp_path / "shards"
    assert main(["shard", str(tmp_path / "notes.txt"), "--out", str(out), "--num-shards", "2", "--unlabelled",
                 "--documents", "blank_line", "--no-progress"]) == 0
    assert "wrote 3 records in 2 shard(s)" in capsys.readouterr().out
    assert sorted(iter_documents(str(out))) == ["alpha one", "beta two", "gamma three"]
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01")
    assert main(["shard", str(tmp_path / "bin.txt"), "--out", str(tmp_path / "x"), "--unlabelled", "--no-progress"]) == 2
    assert "bin.txt, line 1: a NUL byte" in capsys.readouterr().err


def test_remote_folders_read_through_gfile():
    from tfbig._keras import tf

    root = "ram://corpus_test"
    tf.io.gfile.makedirs(f"{root}/sub")
    with tf.io.gfile.GFile(f"{root}/a.txt", "w") as f:
        f.write("one doc\n\ntwo doc\n")
    with tf.io.gfile.GFile(f"{root}/sub/b.txt.gz", "wb") as f:
        f.write(gzip.compress(b"three doc\n"))
    assert list(iter_documents(root, documents="blank_line")) == ["one doc", "two doc", "three doc"]
