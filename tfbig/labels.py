"""labels.txt: the class names of a run or a SavedModel, one a line, in label id order.

The one reader and writer of the format: a run folder (tfbig.runs.RunFolder) and an export's assets
(tfbig.export) both go through it, so both parse a file the same way.
"""
import os

from tfbig.errors import UserError

FILE = "labels.txt"


def labels_text(labels) -> str:
    """The file's text: one name a line, a newline after the last."""
    return "".join(f"{name}\n" for name in labels)


def parse_labels(text: str, where: str) -> list:
    """The class names of a labels.txt's text; blank lines are skipped. where: str. The file, for errors."""
    labels = [line.rstrip("\r") for line in text.split("\n") if line.strip()]
    if not labels:
        raise UserError(f"{where}: no class names (an empty labels.txt)")
    return labels


def read_labels(path: str) -> list:
    """The class names in the labels.txt at `path`; a missing or empty file is a UserError naming it."""
    if not os.path.isfile(path):
        raise UserError(f"{path} not found")
    with open(path, encoding="utf-8") as f:
        return parse_labels(f.read(), path)
