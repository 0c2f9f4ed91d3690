"""The Debian fortunes as a labelled corpus of short texts: one example per fortune, its file as its class.

The data comes from Debian's `fortunes` and `fortunes-min` packages. When they are not installed, the
packages are fetched with `apt-get download` and unpacked with `dpkg -x` into a cache folder
(`$TFBIG_CACHE` or ~/.cache/tfbig, then fortunes/), which needs no root (tfbig.data.debian_packages).
"""
import logging
import os
import re

from tfbig.data.debian_packages import cache_root, unpack_packages
from tfbig.data.text_files import Examples
from tfbig.errors import UserError

log = logging.getLogger(__name__)

PACKAGES = ("fortunes", "fortunes-min")
SYSTEM_DIR = "/usr/share/games/fortunes"
# Harmless categories of the `fortunes` package (1:1.99.1, Debian 12): 3,217 fortunes in all.
CATEGORIES = ("computers", "science", "linux", "startrek", "law", "education", "food", "love", "sports", "medicine")
_SEPARATOR = re.compile(r"^%\s*$", re.MULTILINE)
# "_\bx" and "___\b\b\bword" underline, "x\bx" bolds on a typewriter; only the word is meant.
_OVERSTRIKE = re.compile(r"_+\x08+|[^\n]\x08")


def cache_dir() -> str:
    return os.path.join(cache_root(), "fortunes")


def _has_categories(folder: str) -> bool:
    return any(os.path.isfile(os.path.join(folder, c)) for c in CATEGORIES)


def install_fortunes(dest: str | None = None) -> str:
    """Downloads and unpacks the fortunes packages into `dest` (default: the cache); returns the data folder."""
    dest = dest or cache_dir()
    folder = os.path.join(dest, SYSTEM_DIR.lstrip("/"))
    if _has_categories(folder):
        return folder
    unpack_packages(PACKAGES, dest, "fortunes")
    if not _has_categories(folder):
        raise UserError(f"the packages {', '.join(PACKAGES)} unpacked into {dest} hold none of {', '.join(CATEGORIES)}")
    log.info("fortunes unpacked into %s", folder)
    return folder


def fortunes_dir(install: bool = True) -> str:
    """The folder of fortune files: the system's, else the cache's, else a fresh download (`install`)."""
    for folder in (SYSTEM_DIR, os.path.join(cache_dir(), SYSTEM_DIR.lstrip("/"))):
        if _has_categories(folder):
            return folder
    if not install:
        raise UserError(f"the fortunes data is neither in {SYSTEM_DIR} nor in {cache_dir()}")
    return install_fortunes()


def parse_fortunes(text: str) -> list:
    """A fortune file's text -> its fortunes: blocks between lines of '%', overstrikes resolved, stripped."""
    entries = (_OVERSTRIKE.sub("", block).strip() for block in _SEPARATOR.split(text))
    return [e for e in entries if e]


def read_fortunes(categories=CATEGORIES, folder: str | None = None) -> Examples:
    """The fortunes of `categories` that exist, labelled by category, in file order."""
    folder = folder or fortunes_dir()
    out = Examples()
    found = [c for c in categories if os.path.isfile(os.path.join(folder, c))]
    if not found:
        raise UserError(f"{folder} holds none of the fortune categories {', '.join(categories)}")
    for category in found:
        with open(os.path.join(folder, category), "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        for entry in parse_fortunes(text):
            out.add(entry, category)
    missing = sorted(set(categories) - set(found))
    if missing:
        log.info("fortune categories not found in %s: %s", folder, ", ".join(missing))
    return out
