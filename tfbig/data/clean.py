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
    out = Examples(skipped=examples.skipped)
    seen: dict[str, str] = {}
    stats = {"read": len(examples), "empty": 0, "duplicates": 0, "conflicting_labels": 0}
    for text, label in zip(examples.texts, examples.labels):
        text = normalize_text(text)
        if not text:
            stats["empty"] += 1
            continue
        if text in seen:
            stats["duplicates"] += 1
            stats["conflicting_labels"] += seen[text] != label
            continue
        seen[text] = label
        out.add(text, label)
    stats["kept"] = len(out)
    log.info("cleaning: %s", stats)
    return out, stats
