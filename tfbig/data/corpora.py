"""Named unlabelled corpora for pretraining, and `data.source` resolved into a re-iterable stream of documents.

data.source is a path (a file, a folder, a shard folder: tfbig.data.corpus) or one of tfbig.names.CORPORA:
- `bbc`, `fortunes`: the texts of the labelled corpora (tfbig.data.sources), labels left out;
- `pydocs`: the Python 3.11 documentation sources, one document per `.rst.txt` file (~500 files, ~10 MB),
  from Debian's `python3.11-doc` (/usr/share/doc/python3.11/html/_sources), unpacked into the cache
  ($TFBIG_CACHE or ~/.cache/tfbig, then pydocs/) at first use when not installed;
- `enwiki_sample`: the English Wikipedia sample in gensim's test data, read from the gensim 4.4.0 wheel
  (fetched with `pip download --no-deps` into the cache at first use, never imported), one document per
  article, wiki markup stripped roughly.
"""
import bz2
import glob
import logging
import os
import re
import subprocess
import sys
import zipfile

from tfbig.data.corpus import CorpusStats, clean_documents, iter_documents
from tfbig.data.debian_packages import cache_root, unpack_packages
from tfbig.data.setup_data import find_setup_data
from tfbig.errors import UserError
from tfbig.names import CORPORA

log = logging.getLogger(__name__)

PYDOCS_PACKAGE = "python3.11-doc"
PYDOCS_DIR = "/usr/share/doc/python3.11/html/_sources"
GENSIM_WHEEL = "gensim==4.4.0"
ENWIKI_MEMBER = "gensim/test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"


class Corpus:
    """A zero-argument callable: each call returns a fresh iterator of cleaned documents (one per epoch).

    `stats` holds the CorpusStats of the latest pass (filled as it is read).
    """

    def __init__(self, raw_fn, name: str, min_chars: int = 1, dedup: bool = True):
        self.raw_fn, self.name, self.min_chars, self.dedup = raw_fn, name, min_chars, dedup
        self.stats = CorpusStats()

    def __call__(self):
        self.stats = CorpusStats()
        return clean_documents(self.raw_fn(self.stats), self.min_chars, self.dedup, self.stats, where=self.name)


def corpus_documents(data_cfg, min_chars: int = 1) -> Corpus:
    """The documents `data_cfg.source` names (a DataConfig), as a zero-argument callable (see Corpus)."""
    source = data_cfg.source
    if source == "bbc":
        return Corpus(lambda stats: iter(_bbc_texts(data_cfg)), "bbc", min_chars, data_cfg.dedup)
    if source == "fortunes":
        return Corpus(lambda stats: iter(_fortune_texts()), "fortunes", min_chars, data_cfg.dedup)
    if source == "pydocs":
        folder = pydocs_dir()
        return Corpus(lambda stats: (_strip_rst(d) for d in _raw(folder, data_cfg, stats)), f"pydocs ({folder})",
                      min_chars, data_cfg.dedup)
    if source == "enwiki_sample":
        wheel = gensim_wheel()
        return Corpus(lambda stats: iter_wiki_articles(wheel), f"enwiki_sample ({wheel})", min_chars, data_cfg.dedup)
    if not os.path.exists(source) and "://" not in source:
        raise UserError(f"data.source '{source}' is neither a path nor a named corpus ({', '.join(CORPORA)})")
    return Corpus(lambda stats: _raw(source, data_cfg, stats), source, min_chars, data_cfg.dedup)


def _raw(path, data_cfg, stats):
    from tfbig.data.corpus import raw_documents

    return raw_documents(path, data_cfg.text_column, data_cfg.documents, stats)


def _bbc_texts(data_cfg) -> list:
    from tfbig.data.sources import bbc_news_dir
    from tfbig.data.text_files import read_folder

    # As tfbig.data.sources reads it: one article is Windows-1252.
    return read_folder(bbc_news_dir(), fallback_encoding="cp1252", on_error=data_cfg.on_error).texts


def _fortune_texts() -> list:
    from tfbig.data.fortunes import read_fortunes

    return read_fortunes().texts


# Python docs ------------------------------------------------------------------------------------------------

def pydocs_dir(install: bool = True) -> str:
    """The folder of the Python 3.11 docs' .rst.txt sources: the system's, else the cache's, else a download."""
    cached = os.path.join(cache_root(), "pydocs", PYDOCS_DIR.lstrip("/"))
    for folder in (PYDOCS_DIR, cached):
        if glob.glob(os.path.join(folder, "*.rst.txt")):
            return folder
    if not install:
        raise UserError(f"the Python docs are neither in {PYDOCS_DIR} nor in {cached}")
    unpack_packages([PYDOCS_PACKAGE], os.path.join(cache_root(), "pydocs"), "Python docs")
    if not glob.glob(os.path.join(cached, "*.rst.txt")):
        raise UserError(f"the package {PYDOCS_PACKAGE} unpacked, but {cached} holds no .rst.txt files")
    return cached


_RST_UNDERLINE = re.compile(r"^\s*([=\-~^*#+`'\"]{3,})\s*$", re.MULTILINE)
_RST_ROLE = re.compile(r":[\w:.-]+:`(?:~|!)?([^`<]*?)\s*(?:<[^`>]*>)?`")  # :func:`len`, :ref:`text <target>`
_RST_DIRECTIVE = re.compile(r"^\s*\.\. [\w:-]+::.*$", re.MULTILINE)


def _strip_rst(text: str) -> str:
    """reStructuredText markup removed roughly: heading underlines, directive lines, roles and ``literals``."""
    text = _RST_UNDERLINE.sub("", text)
    text = _RST_DIRECTIVE.sub("", text)
    text = _RST_ROLE.sub(r"\1", text)
    return text.replace("``", "")


# Wikipedia sample --------------------------------------------------------------------------------------------

def gensim_wheel(install: bool = True) -> str:
    """The gensim 4.4.0 wheel: the one `make setup` downloads ($TFBIG_DATA, else <venv>/tfbig-data), else the
    cache's (enwiki/), fetched there with `pip download --no-deps` when absent."""
    folder = os.path.join(cache_root(), "enwiki")
    found = find_setup_data("gensim-4.4.0-*.whl", extra=(folder,))
    if found:
        return found
    if not install:
        raise UserError(f"the gensim 4.4.0 wheel is not in {folder}")
    os.makedirs(folder, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", GENSIM_WHEEL, "-d", folder]
    log.info("running %s", " ".join(cmd))
    got = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = sorted(glob.glob(os.path.join(folder, "gensim-4.4.0-*.whl")))
    if got.returncode != 0 or not found:
        last = got.stderr.strip().splitlines()[-1] if got.stderr.strip() else f"exit {got.returncode}"
        raise UserError(f"could not download the {GENSIM_WHEEL} wheel (for its Wikipedia sample): {last}")
    return found[-1]


_WIKI_PATTERNS = [(re.compile(p, flags), r) for p, flags, r in (
    (r"<!--.*?-->", re.S, ""),  # comments
    (r"<ref[^>/]*/>", re.S, ""),
    (r"<ref[^>]*>.*?</ref>", re.S, ""),  # references
    (r"<(math|gallery|timeline|score|syntaxhighlight)[^>]*>.*?</\1>", re.S, ""),
    (r"\{\|.*?\|\}", re.S, ""),  # tables
    (r"\[\[(?:File|Image|Category|[a-z]{2,3}(?:-[a-z]+)?):[^\[\]]*(?:\[\[[^\]]*\]\][^\[\]]*)*\]\]", re.S | re.I, ""),
    (r"\[\[([^|\]]*\|)?([^\]]*)\]\]", 0, r"\2"),  # [[target|label]] → label
    (r"\[https?://[^\s\]]+\s*([^\]]*)\]", 0, r"\1"),  # [url label] → label
    (r"<[^>]+>", 0, ""),  # other tags
    (r"'{2,}", 0, ""),  # bold, italics
    (r"^=+\s*(.*?)\s*=+\s*$", re.M, r"\1"),  # == heading ==
    (r"^[*#:;]+\s*", re.M, ""),  # list markers
    (r"\[\[|\]\]|\{\{|\}\}", 0, ""),  # the brackets of what was malformed (unbalanced) remain: dropped
    (r"&nbsp;", 0, " "), (r"&ndash;", 0, "–"), (r"&mdash;", 0, "—"), (r"&amp;", 0, "&"),
)]


_INNER_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")


def _strip_templates(text: str) -> str:
    """{{...}} removed, nested ones included: innermost first, until none is left."""
    while True:
        text, n = _INNER_TEMPLATE.subn("", text)
        if not n:
            return text


def strip_wiki_markup(text: str) -> str:
    """MediaWiki source → roughly its plain text: templates, tables, references, files, links' targets gone."""
    text = _strip_templates(text)
    for pattern, replacement in _WIKI_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def iter_wiki_articles(wheel: str, member: str = ENWIKI_MEMBER):
    """The plain text of each article (namespace 0, redirects skipped) in a wheel's bz2 XML dump, streamed."""
    import xml.etree.ElementTree as ET

    try:
        archive = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as e:
        raise UserError(f"{wheel}: not a readable wheel ({e})") from None
    with archive, archive.open(member) as raw, bz2.open(raw) as xml:
        title, ns, text, root = "", "", "", None
        for event, elem in ET.iterparse(xml, events=("start", "end")):
            if root is None:
                root = elem
            if event == "start":
                continue
            tag = elem.tag.rsplit("}", 1)[-1]
            if tag == "title":
                title = elem.text or ""
            elif tag == "ns":
                ns = elem.text or ""
            elif tag == "text":
                text = elem.text or ""
            elif tag == "page":
                if ns == "0" and text and not text.lstrip().upper().startswith("#REDIRECT"):
                    yield f"{title}\n{strip_wiki_markup(text)}"
                root.clear()  # the parsed pages would otherwise stay in the tree: memory flat
                title, ns, text = "", "", ""
