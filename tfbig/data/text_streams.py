"""Labelled text read as a stream, one example at a time, through tf.io.gfile: input larger than memory.

The same formats as tfbig.data.text_files (a folder per class, CSV/TSV with a header, JSONL), the same error
messages naming the file and line; nothing is kept but the current record.
"""
import csv
import json
import logging

from tfbig._keras import tf
from tfbig.errors import UserError

log = logging.getLogger(__name__)


class Skipped:
    """Counts what on_error="skip" dropped, by file."""

    def __init__(self):
        self.by_file: dict = {}

    def add(self, path: str) -> None:
        self.by_file[path] = self.by_file.get(path, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.by_file.values())


def _bad(message: str, path: str, on_error: str, skipped: Skipped) -> None:
    if on_error == "raise":
        raise UserError(message)
    skipped.add(path)


def _lines(path: str, on_error: str, skipped: Skipped):
    """Yields (line number, decoded line) of a UTF-8 file; a line that is not UTF-8 is raised or skipped."""
    with tf.io.gfile.GFile(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as e:
                _bad(f"{path}, line {number}: not valid UTF-8 (byte {e.start})", path, on_error, skipped)


def iter_csv(path, text_column="text", label_column="label", delimiter=",", on_error="raise", skipped=None):
    skipped = skipped if skipped is not None else Skipped()
    reader = csv.DictReader((line for _, line in _lines(path, on_error, skipped)), delimiter=delimiter)
    columns = reader.fieldnames or []
    for needed in (text_column, label_column):
        if needed not in columns:
            raise UserError(f"{path}: no column '{needed}'; columns found: {', '.join(columns) or 'none'}")
    for row in reader:
        text, label = row.get(text_column), row.get(label_column)
        if text is None or label is None or not label.strip():
            _bad(f"{path}, line {reader.line_num}: missing '{text_column}' or '{label_column}'", path, on_error,
                 skipped)
            continue
        yield text, label.strip()


def iter_jsonl(path, text_column="text", label_column="label", on_error="raise", skipped=None):
    skipped = skipped if skipped is not None else Skipped()
    for number, record in _json_records(path, on_error, skipped):
        missing = [k for k in (text_column, label_column) if k not in record]
        if missing:
            _bad(f"{path}, line {number}: no field {missing[0]!r}; fields found: {', '.join(record) or 'none'}",
                 path, on_error, skipped)
            continue
        if isinstance(record[label_column], list):  # not a malformed record: the wrong task
            raise UserError(f"{path}, line {number}: '{label_column}' is a list of labels "
                            f"{record[label_column]!r}; task: multilabel reads label lists")
        yield str(record[text_column]), str(record[label_column])


def iter_folder(root, on_error="raise", skipped=None):
    """`<root>/<label>/*.txt`, one example per file, labels in sorted order."""
    skipped = skipped if skipped is not None else Skipped()
    root = root.rstrip("/")
    for label in sorted(n.rstrip("/") for n in tf.io.gfile.listdir(root)):
        folder = f"{root}/{label}"
        if not tf.io.gfile.isdir(folder):
            continue
        for name in sorted(tf.io.gfile.listdir(folder)):
            if not name.endswith(".txt"):
                continue
            path = f"{folder}/{name}"
            with tf.io.gfile.GFile(path, "rb") as f:
                raw = f.read()
            try:
                yield raw.decode("utf-8"), label
            except UnicodeDecodeError as e:
                _bad(f"{path}: not valid UTF-8 (byte {e.start})", path, on_error, skipped)


def detect_stream_format(path: str) -> str:
    if tf.io.gfile.isdir(path):
        return "folder"
    for ext, fmt in ((".csv", "csv"), (".tsv", "tsv"), (".tab", "tsv"), (".jsonl", "jsonl"), (".json", "jsonl")):
        if path.endswith(ext):
            return fmt
    if not tf.io.gfile.exists(path):
        raise UserError(f"input not found: {path}")
    raise UserError(f"{path}: cannot tell the format from its name; give --format csv, tsv, jsonl or folder")


def iter_examples(path, fmt="auto", text_column="text", label_column="label", on_error="raise", skipped=None):
    """Yields (text, label) from a folder, CSV/TSV or JSONL file, streaming."""
    if not tf.io.gfile.exists(path):
        raise UserError(f"input not found: {path}")
    fmt = detect_stream_format(path) if fmt == "auto" else fmt
    if fmt == "folder":
        return iter_folder(path, on_error, skipped)
    if fmt in ("csv", "tsv"):
        return iter_csv(path, text_column, label_column, "\t" if fmt == "tsv" else ",", on_error, skipped)
    if fmt == "jsonl":
        return iter_jsonl(path, text_column, label_column, on_error, skipped)
    raise UserError(f"format '{fmt}' is not one of auto, folder, csv, tsv, jsonl")


def iter_fields(path, fmt, text_column, columns, parse, on_error="raise", skipped=None):
    """Yields (text, target) of a CSV/TSV or JSONL file whose target is made of several fields.

    columns: list of str. The target's fields (a regression's scores, a multilabel's label list).
    parse: callable(values, where) -> target. values: the fields' raw values, in `columns` order (str from
        CSV, any JSON value from JSONL); where: "<path>, line <n>" for its error messages. A ValueError or
        UserError it raises is a malformed record (raised, or skipped under on_error="skip").
    """
    skipped = skipped if skipped is not None else Skipped()
    needed = [text_column, *columns]
    if fmt in ("csv", "tsv"):
        reader = csv.DictReader((line for _, line in _lines(path, on_error, skipped)),
                                delimiter="\t" if fmt == "tsv" else ",")
        found = reader.fieldnames or []
        for name in needed:
            if name not in found:
                raise UserError(f"{path}: no column '{name}'; columns found: {', '.join(found) or 'none'}")
        records = ((reader.line_num, row) for row in reader)
    elif fmt == "jsonl":
        records = _json_records(path, on_error, skipped)
    else:
        raise UserError(f"{path}: format '{fmt}' cannot hold several target fields; use csv, tsv or jsonl")
    for number, record in records:
        where = f"{path}, line {number}"
        missing = [k for k in needed if record.get(k) is None]
        if missing:
            _bad(f"{where}: no field '{missing[0]}'; fields found: {', '.join(k for k in record if k) or 'none'}",
                 path, on_error, skipped)
            continue
        try:
            target = parse([record[c] for c in columns], where)
        except (ValueError, UserError) as e:
            message = str(e) if str(e).startswith(where) else f"{where}: {e}"
            _bad(message, path, on_error, skipped)
            continue
        yield str(record[text_column]), target


def _json_records(path, on_error, skipped):
    for number, line in _lines(path, on_error, skipped):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            _bad(f"{path}, line {number}: {e}", path, on_error, skipped)
            continue
        yield number, record
