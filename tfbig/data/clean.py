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


def first_occurrences(examples, normalize, what: str | None, key=None, add=Examples.add) -> tuple[Examples, dict]:
    """The examples with their text normalised, the empty ones (`normalize` gives None) and the repeats of an
    earlier text dropped, order kept; and the counts (read, empty, duplicates, conflicting_labels, kept), logged
    under `what` (None: not logged).

    examples: Examples, or an iterable of (text, label) pairs (read once; tagged sentences' (words, tags)).
    key: the normalised text -> what a repeat is judged on (default: the normalised text itself).
    add: how a kept (text, label) goes into the output Examples (Examples.add_words for word lists).
    """
    pairs = zip(examples.texts, examples.labels) if isinstance(examples, Examples) else examples
    out = Examples(skipped=getattr(examples, "skipped", 0))
    seen: dict = {}
    stats = {"read": 0, "empty": 0, "duplicates": 0, "conflicting_labels": 0}
    for text, label in pairs:
        stats["read"] += 1
        text = normalize(text)
        if text is None:
            stats["empty"] += 1
            continue
        judged = text if key is None else key(text)
        if judged in seen:
            stats["duplicates"] += 1
            stats["conflicting_labels"] += seen[judged] != label
            continue
        seen[judged] = label
        add(out, text, label)
    stats["kept"] = len(out)
    if what is not None:
        log.info("%s: %s", what, stats)
    return out, stats
