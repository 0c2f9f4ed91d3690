"""Readers for labelled text: a folder per class, CSV/TSV, JSONL; each error names the file and line."""
import logging
import os
from dataclasses import dataclass, field

from tfbig.errors import UserError
from tfbig.progress import progress

log = logging.getLogger(__name__)


@dataclass
class Examples:
    texts: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    skipped: int = 0  # malformed records dropped under on_error="skip"
    # Tagged sentences (task: tagging): one word list per example, its labels the tag lists; texts the words
    # joined by spaces, so cleaning, dedup and lengths still see a text.
    words: list = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def add(self, text: str, label: str) -> None:
        self.texts.append(text)
        self.labels.append(label)

    def add_words(self, words: list, tags: list) -> None:
        self.words.append(list(words))
        self.add(" ".join(words), list(tags))


def _decode(raw: bytes, where: str, fallback_encoding: str | None) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        if fallback_encoding:
            log.info("%s is not UTF-8; read as %s", where, fallback_encoding)
            return raw.decode(fallback_encoding)
        raise UserError(f"{where}: not valid UTF-8 (byte {e.start}: {raw[e.start:e.start + 1]!r})") from None


def read_folder(root: str, fallback_encoding: str | None = None, on_error: str = "raise") -> Examples:
    """Reads `<root>/<label>/*.txt`: one example per file, the folder name as its label."""
    if not os.path.isdir(root):
        raise UserError(f"data folder not found: {root}")
    out = Examples()
    for label in sorted(os.listdir(root)):
        folder = os.path.join(root, label)
        if not os.path.isdir(folder):
            continue
        for name in progress(sorted(os.listdir(folder)), desc=f"reading {label}", unit="file"):
            path = os.path.join(folder, name)
            if not name.endswith(".txt") or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                raw = f.read()
            try:
                out.add(_decode(raw, path, fallback_encoding), label)
            except UserError:
                if on_error == "raise":
                    raise
                out.skipped += 1
    if not out.texts:
        raise UserError(f"data folder {root} holds no <label>/*.txt files")
    return out


def read_csv(path: str, text_column: str = "text", label_column: str = "label", delimiter: str | None = None,
             on_error: str = "raise") -> Examples:
    """Reads a CSV (or TSV, by extension or `delimiter`) with a header row (tfbig.data.text_streams, collected)."""
    from tfbig.data.text_streams import Skipped, iter_csv

    _check_file(path)
    if delimiter is None:
        delimiter = "\t" if path.endswith((".tsv", ".tab")) else ","
    skipped = Skipped()
    return _collect(iter_csv(path, text_column, label_column, delimiter, on_error, skipped), skipped, path)


def read_jsonl(path: str, text_column: str = "text", label_column: str = "label", on_error: str = "raise") -> Examples:
    """Reads JSON Lines: one object per line with a text and a label field (tfbig.data.text_streams, collected)."""
    from tfbig.data.text_streams import Skipped, iter_jsonl

    _check_file(path)
    skipped = Skipped()
    return _collect(iter_jsonl(path, text_column, label_column, on_error, skipped), skipped, path)


def _collect(pairs, skipped, path: str) -> Examples:
    out = Examples()
    for text, label in pairs:
        out.add(text, label)
    out.skipped = skipped.total
    return _nonempty(out, path)


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise UserError(f"data file not found: {path}")
    if os.path.getsize(path) == 0:
        raise UserError(f"data file is empty: {path}")


def _nonempty(out: Examples, path: str) -> Examples:
    if out.skipped:
        log.warning("%s: skipped %d malformed records", path, out.skipped)
    if not out.texts:
        raise UserError(f"{path} holds no examples")
    return out
