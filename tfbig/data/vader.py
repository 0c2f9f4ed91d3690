"""The VADER ground truth (Hutto & Gilbert, ICWSM 2014, MIT) as regression data: ~23,700 texts in four domains,
each with the mean of ~20 human sentiment ratings on −4…4.

The data is inside the vaderSentiment 3.3.2 source archive, which `make setup` downloads into the virtual
environment (`pip download --no-deps --no-binary :all: vaderSentiment==3.3.2 -d .venv/tfbig-data`):
`additional_resources/hutto_ICWSM_2014.tar.gz` → `hutto_ICWSM_2014/<domain>_GroundTruth.txt`, one
`id<TAB>mean rating<TAB>text` a line. Both archives are read in memory; nothing is unpacked.
"""
import io
import os
import tarfile

from tfbig.data.clean import normalize_text
from tfbig.data.setup_data import setup_data_file
from tfbig.data.text_files import Examples
from tfbig.errors import UserError

ARCHIVE = "vaderSentiment-3.3.2.tar.gz"
INNER = "additional_resources/hutto_ICWSM_2014.tar.gz"
# data.source name → the ground-truth file's domain prefix
DOMAINS = {"vader_tweets": "tweets", "vader_movies": "movieReviewSnippets", "vader_amazon": "amazonReviewSnippets",
           "vader_nyt": "nytEditorialSnippets"}
SOURCES = ("vader", *DOMAINS)
TARGET = "rating"  # the one target's name


def archive_path() -> str:
    """The vaderSentiment sdist: $TFBIG_DATA, else <venv>/tfbig-data, else the cache ($TFBIG_CACHE or ~/.cache/tfbig)."""
    cache = os.environ.get("TFBIG_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "tfbig")
    return setup_data_file(ARCHIVE, "the VADER data", "vaderSentiment==3.3.2", extra=(cache,))


def parse_ground_truth(text: str, where: str) -> list:
    """[(text, rating)] of one `id<TAB>rating<TAB>text` file; a line that is not so is a UserError naming it."""
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split("\t", 2)
        try:
            if len(parts) != 3:
                raise ValueError
            rows.append((parts[2], float(parts[1])))
        except ValueError:
            raise UserError(f"{where}, line {number}: not 'id<TAB>rating<TAB>text': {line[:80]!r}") from None
    return rows


def read_domains(path: str | None = None) -> dict:
    """{domain prefix: [(text, rating)]} of the four ground-truth files in the sdist at `path`."""
    path = path or archive_path()
    with tarfile.open(path) as outer:
        member = next((m for m in outer.getmembers() if m.name.endswith(INNER)), None)
        if member is None:
            raise UserError(f"{path} holds no {INNER}")
        inner = tarfile.open(fileobj=io.BytesIO(outer.extractfile(member).read()))
    out = {}
    with inner:
        for m in inner.getmembers():
            name = os.path.basename(m.name)
            if name.endswith("_GroundTruth.txt"):
                where = f"{path}:{INNER}:{m.name}"
                out[name[:-len("_GroundTruth.txt")]] = parse_ground_truth(
                    inner.extractfile(m).read().decode("utf-8", errors="replace"), where)
    missing = sorted(set(DOMAINS.values()) - set(out))
    if missing:
        raise UserError(f"{path}: no ground truth for {', '.join(missing)}")
    return out


def read_vader(source: str = "vader", path: str | None = None) -> Examples:
    """The examples of `source` (vader: all four domains, in DOMAINS order), each target a 1-tuple (rating,)."""
    if source not in SOURCES:
        raise UserError(f"data.source '{source}' is not one of {', '.join(SOURCES)}")
    domains = read_domains(path)
    wanted = list(DOMAINS.values()) if source == "vader" else [DOMAINS[source]]
    out = Examples()
    for domain in wanted:
        for text, rating in domains[domain]:
            out.add(text, (rating,))
    return out


def domain_of_texts(path: str | None = None) -> dict:
    """{text: domain prefix}: which domain each text came from (the benchmark's per-domain scores, the
    by-domain split), each text both as read and as cleaning normalises it (so a split's texts are keys)."""
    out = {}
    for domain, rows in read_domains(path).items():
        for text, _ in rows:
            out[text] = out[normalize_text(text)] = domain
    return out
