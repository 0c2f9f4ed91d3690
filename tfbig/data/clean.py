"""Cleaning: Unicode NFC, whitespace normalised, empty texts dropped, exact duplicates removed."""
import logging
import re
import unicodedata

from tfbig.data.text_files import Examples

log = logging.getLogger(__name__)
_SPACE = re.compile(r"\s+")


def normalize_text(text: str) -> str:
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def clean(examples: Examples) -> tuple[Examples, dict]:
    """Returns the cleaned examples (first occurrence kept, order kept) and counts of what was dropped.

    A text seen again is dropped whatever its label: a duplicate split across train and test would
    inflate test accuracy, and one with two labels cannot be right twice.
    """
    return first_occurrences(examples, lambda text: normalize_text(text) or None, "cleaning")


def first_occurrences(examples: Examples, normalize, what: str) -> tuple[Examples, dict]:
    """The examples with their text normalised, the empty ones (`normalize` gives None) and the repeats of an
    earlier text dropped, order kept; and the counts (read, empty, duplicates, conflicting_labels, kept), logged
    under `what`."""
    out = Examples(skipped=examples.skipped)
    seen: dict = {}
    stats = {"read": len(examples), "empty": 0, "duplicates": 0, "conflicting_labels": 0}
    for text, label in zip(examples.texts, examples.labels):
        text = normalize(text)
        if text is None:
            stats["empty"] += 1
            continue
        if text in seen:
            stats["duplicates"] += 1
            stats["conflicting_labels"] += seen[text] != label
            continue
        seen[text] = label
        out.add(text, label)
    stats["kept"] = len(out)
    log.info("%s: %s", what, stats)
    return out, stats
