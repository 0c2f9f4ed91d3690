"""Debian's package descriptions with their debtags as multi-label data: one example per tagged package.

`apt-cache dumpavail` prints every available package's stanza: its `Description:` (the synopsis line, and
the long description where the index has one) and its `Tag:` list (facet::value, comma-separated,
continued on indented lines). Tags of fewer than `min_count` packages are dropped (a package left with
none keeps an empty label list). The package lists come from the machine's `apt-get update`; nothing is
downloaded here.
"""
import logging
import shutil
import subprocess
from collections import Counter

from tfbig.data.text_files import Examples
from tfbig.errors import UserError

log = logging.getLogger(__name__)

MIN_COUNT = 50  # packages a tag needs to be kept


def stanzas(text: str):
    """Yields each stanza of a Debian control-format text as {field: value}, continuation lines joined with
    newlines (a lone " ." line is an empty line of a long description)."""
    fields, key = {}, None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                yield fields
            fields, key = {}, None
        elif line[0] in " \t" and key is not None:
            fields[key] += "\n" + ("" if line.strip() == "." else line.strip())
        elif ":" in line:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    if fields:
        yield fields


def parse_dumpavail(text: str, min_count: int = MIN_COUNT) -> Examples:
    """Examples of the tagged packages (first stanza of each name): description → sorted tuple of kept tags."""
    packages = {}
    for fields in stanzas(text):
        name, tags = fields.get("Package"), fields.get("Tag")
        if not name or not tags or name in packages:
            continue
        description = " ".join(fields.get("Description", "").split())
        if description:
            packages[name] = (description, tuple(sorted({t.strip() for t in tags.replace("\n", " ").split(",")
                                                          if t.strip()})))
    counts = Counter(tag for _, tags in packages.values() for tag in tags)
    kept = {tag for tag, n in counts.items() if n >= min_count}
    log.info("debtags: %d tagged packages, %d of %d tags with >= %d packages", len(packages), len(kept), len(counts),
             min_count)
    out = Examples()
    for description, tags in packages.values():
        out.add(description, tuple(t for t in tags if t in kept))
    return out


def read_debtags(min_count: int = MIN_COUNT) -> Examples:
    """The debtags examples of this machine's package lists (`apt-cache dumpavail`)."""
    if shutil.which("apt-cache") is None:
        raise UserError("data.source debtags needs apt-cache (Debian/Ubuntu) to list the packages and their tags")
    got = subprocess.run(["apt-cache", "dumpavail"], capture_output=True, text=True, check=False)
    if got.returncode != 0:
        raise UserError(f"apt-cache dumpavail failed: {got.stderr.strip()[-300:]}")
    out = parse_dumpavail(got.stdout, min_count)
    if not out.texts:
        raise UserError("apt-cache dumpavail lists no tagged package: run `apt-get update` first")
    return out
