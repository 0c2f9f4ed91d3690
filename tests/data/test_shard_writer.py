"""`tfbig shard`: streaming CSV/JSONL/folders into balanced TFRecord shards, pre-split or not."""
import json

import pytest

from tfbig.cli import main
from tfbig.data.shard_format import decode_example, list_shards, read_labels
from tfbig.data.shard_writer import split_of, write_shards
from tfbig.errors import UserError
from tfbig._keras import tf


def _records(folder):
    return [decode_example(r.numpy()) for f in list_shards(folder) for r in tf.data.TFRecordDataset(f)]


@pytest.fixture
def jsonl(tmp_path):
    path = tmp_path / "in.jsonl"
    rows = [{"text": f"text  number {i}\n", "label": "even" if i % 2 == 0 else "odd"} for i in range(25)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return str(path)


def test_jsonl_into_balanced_shards(jsonl, tmp_path):
    out = str(tmp_path / "shards")
    summary = write_shards(jsonl, out, num_shards=4, progress=False)
    assert summary["records"] == {"all": 25} and summary["labels"] == ["even", "odd"]
    assert read_labels(out) == ["even", "odd"]
    sizes = [sum(1 for _ in tf.data.TFRecordDataset(f)) for f in list_shards(out)]
    assert sizes == [7, 6, 6, 6]  # dealt round-robin
    expected = {(f"text number {i}", "even" if i % 2 == 0 else "odd") for i in range(25)}  # cleaned spaces
    assert set(_records(out)) == expected and len(_records(out)) == 25


def test_csv_and_folder_inputs(tmp_path):
    csv_path = tmp_path / "in.csv"
    csv_path.write_text('text,label\n"a, quoted\nmulti-line text",x\nplain,y\n   ,y\n')
    summary = write_shards(str(csv_path), str(tmp_path / "c"), 2, progress=False)
    assert summary["empty"] == 1
    assert sorted(_records(str(tmp_path / "c"))) == [("a, quoted multi-line text", "x"), ("plain", "y")]
    for label in ("sport", "tech"):
        (tmp_path / "f" / label).mkdir(parents=True)
        (tmp_path / "f" / label / "1.txt").write_text(f"about {label}")
    write_shards(str(tmp_path / "f"), str(tmp_path / "fs"), 3, progress=False)
    assert sorted(_records(str(tmp_path / "fs"))) == [("about sport", "sport"), ("about tech", "tech")]


def test_presplit_by_text_hash(jsonl, tmp_path):
    out = str(tmp_path / "split")
    summary = write_shards(jsonl, out, 2, val_fraction=0.2, test_fraction=0.2, seed=1, progress=False)
    assert sum(summary["records"].values()) == 25
    for split in summary["records"]:
        for text, _ in _records(f"{out}/{split}"):
            assert split_of(text, 0.2, 0.2, 1) == split
    assert split_of("same text", 0.2, 0.2, 1) == split_of("same text", 0.2, 0.2, 1)


def test_bad_input_raises_with_line_or_skips_with_count(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": "no label"}\nnot json\n{"text": "fine", "label": "b"}\n')
    with pytest.raises(UserError, match=r"bad.jsonl, line 2: no field 'label'"):
        write_shards(str(path), str(tmp_path / "r"), 1, progress=False)
    assert not list((tmp_path / "r").glob("part-*"))  # nothing left half-written
    summary = write_shards(str(path), str(tmp_path / "s"), 1, on_error="skip", progress=False)
    assert summary["skipped"] == 2 and summary["records"] == {"all": 2}


def test_refuses_a_folder_that_holds_shards(jsonl, tmp_path):
    write_shards(jsonl, str(tmp_path / "o"), 1, progress=False)
    with pytest.raises(UserError, match="already holds shard files"):
        write_shards(jsonl, str(tmp_path / "o"), 1, progress=False)


def test_cli(jsonl, tmp_path, capsys):
    assert main(["shard", jsonl, "--out", str(tmp_path / "cli"), "--num-shards", "3", "--no-progress"]) == 0
    assert "wrote 25 records in 3 shard(s)" in capsys.readouterr().out
    assert main(["shard", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "x")]) == 2
    assert "input not found" in capsys.readouterr().err
