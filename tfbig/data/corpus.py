"""Unlabelled text corpora read as a stream of cleaned documents, for pretraining: memory flat in corpus size.

Formats, told by each file's name (a folder is walked in sorted order; hidden files are skipped):
- plain text (any other name): one document per file, or documents separated by blank lines
  (`documents="blank_line"`, data.documents);
- `.jsonl` / `.json`: one JSON object a line, its `text_field` the document;
- `.tfrecord`, or a folder of `part-*.tfrecord` shards (`tfbig shard`, with or without a label column):
  the `text` feature of each record, the label (if any) ignored;
- any of those compressed, `.gz` or `.bz2` (`notes.txt.gz`, `wiki.jsonl.bz2`).

Each document is cleaned as labelled text is (tfbig.data.clean.normalize_text: NFC, whitespace collapsed),
dropped when shorter than `min_chars` after cleaning, and, with `dedup`, dropped when an identical document
came before (a set of 8-byte hashes: the one thing that grows with the corpus, ~100 bytes a document).
A file holding NUL bytes or bytes that are not UTF-8 is a UserError naming the file and line.
"""
import bz2
import gzip
import hashlib
import io
import json
import logging
import os
from dataclasses import dataclass, field

from tfbig.data.clean import normalize_text
from tfbig.errors import UserError
from tfbig.names import DOCUMENTS

log = logging.getLogger(__name__)
_COMPRESSED = {".gz": gzip.open, ".bz2": bz2.open}


@dataclass
class CorpusStats:
    """What a pass over a corpus read and dropped (counts add up: read = documents + Σ dropped)."""
    files: int = 0
    read: int = 0  # documents found, before cleaning
    documents: int = 0  # documents yielded
    characters: int = 0  # of the yielded documents, after cleaning
    dropped: dict = field(default_factory=lambda: {"empty": 0, "short": 0, "duplicate": 0})


def _inner_name(path: str) -> tuple[str, object]:
    """(the name without its compression suffix, the opener of the compression or None)."""
    for ext, opener in _COMPRESSED.items():
        if path.endswith(ext):
            return path[: -len(ext)], opener
    return path, None


def _open_binary(path: str):
    name, opener = _inner_name(path)
    if _is_remote(path):
        from tfbig._keras import tf

        raw = tf.io.gfile.GFile(path, "rb")
        return opener(raw) if opener else raw
    return opener(path, "rb") if opener else open(path, "rb")


def _is_remote(path: str) -> bool:
    return "://" in path


def _lines(path: str):
    """(line number, decoded line) of a text file, streamed; NUL bytes or undecodable bytes: UserError."""
    try:
        with _open_binary(path) as f:
            for number, raw in enumerate(f, start=1):
                if b"\x00" in raw:
                    raise UserError(f"{path}, line {number}: a NUL byte: this is a binary file, not text")
                try:
                    yield number, raw.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise UserError(f"{path}, line {number}: not valid UTF-8 (byte {e.start} of the line): "
                                    "a binary file, or text in another encoding") from None
    except (OSError, EOFError, ValueError) as e:  # gzip/bz2 of a file that is not compressed, or cut short
        if isinstance(e, UserError):
            raise
        raise UserError(f"{path}: cannot be read ({e})") from None


def _plain_documents(path: str, documents: str):
    if documents == "file":
        yield "".join(line for _, line in _lines(path))
        return
    block = []
    for _, line in _lines(path):
        if line.strip():
            block.append(line)
        elif block:
            yield "".join(block)
            block = []
    if block:
        yield "".join(block)


def _jsonl_documents(path: str, text_field: str):
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as e:
            raise UserError(f"{path}, line {number}: not JSON ({e})") from None
        if not isinstance(record, dict) or text_field not in record:
            fields = ", ".join(record) if isinstance(record, dict) else type(record).__name__
            raise UserError(f"{path}, line {number}: no field '{text_field}'; found: {fields or 'none'}")
        yield str(record[text_field])


def _tfrecord_documents(paths: list):
    """The `text` feature of each record (labels, if any, ignored), batched through tf.data."""
    from tfbig._keras import tf
    from tfbig.data.shard_format import TEXT

    def parse(records):
        return tf.io.parse_example(records, {TEXT: tf.io.FixedLenFeature([], tf.string, default_value="")})[TEXT]

    for path in paths:
        ds = tf.data.TFRecordDataset(path).batch(256).map(parse)
        try:
            for batch in ds.as_numpy_iterator():
                for raw in batch:
                    try:
                        yield raw.decode("utf-8")
                    except UnicodeDecodeError:
                        raise UserError(f"{path}: a record's text is not valid UTF-8") from None
        except tf.errors.OpError as e:
            raise UserError(f"{path}: not a TFRecord file of tf.train.Examples with a text feature "
                            f"({e.message.splitlines()[0]})") from None


def _shard_files(folder: str) -> list:
    from tfbig.data.shard_format import SPLITS, list_shards

    from tfbig._keras import tf

    subfolders = [f"{folder.rstrip('/')}/{s}" for s in SPLITS if tf.io.gfile.isdir(f"{folder.rstrip('/')}/{s}")]
    return [p for sub in (subfolders or [folder]) for p in list_shards(sub)]


def _has_shards(folder: str) -> bool:
    from tfbig.data.shard_format import SPLITS, has_shard_files

    root = folder.rstrip("/")
    return any(has_shard_files(f) for f in [root] + [f"{root}/{s}" for s in SPLITS])


def _isdir(path: str) -> bool:
    if _is_remote(path):
        from tfbig._keras import tf

        return tf.io.gfile.isdir(path)
    return os.path.isdir(path)


def _walk(folder: str):
    """The files under `folder`, sorted, hidden ones skipped; gs:// and hdfs:// folders through tf.io.gfile."""
    if _is_remote(folder):
        from tfbig._keras import tf

        walk = ((root.rstrip("/"), dirs, files) for root, dirs, files in tf.io.gfile.walk(folder))
    else:
        walk = os.walk(folder)
    for root, dirs, files in walk:
        dirs[:] = sorted(d.rstrip("/") for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield f"{root}/{name}"


def file_documents(path: str, text_field: str = "text", documents: str = "file"):
    """The raw documents of one file, by its format (see the module docstring)."""
    name, _ = _inner_name(path)
    if name.endswith((".jsonl", ".json")):
        return _jsonl_documents(path, text_field)
    if name.endswith(".tfrecord"):
        return _tfrecord_documents([path])
    return _plain_documents(path, documents)


def raw_documents(path_or_paths, text_field: str = "text", documents: str = "file", stats: CorpusStats | None = None):
    """The uncleaned documents of files, folders or shard folders, in order."""
    if documents not in DOCUMENTS:
        raise UserError(f"data.documents '{documents}' is not one of {', '.join(DOCUMENTS)}")
    paths = [path_or_paths] if isinstance(path_or_paths, (str, os.PathLike)) else list(path_or_paths)
    for path in map(str, paths):
        if not _is_remote(path) and not os.path.exists(path):
            raise UserError(f"corpus path not found: {path}")
        is_dir = _isdir(path)
        if is_dir and _has_shards(path):
            files = _shard_files(path)
            if stats is not None:
                stats.files += len(files)
            yield from _tfrecord_documents(files)
            continue
        for file in (_walk(path) if is_dir else [path]):
            if stats is not None:
                stats.files += 1
            yield from file_documents(file, text_field, documents)


def clean_documents(texts, min_chars: int = 1, dedup: bool = True, stats: CorpusStats | None = None,
                    where: str = "the corpus"):
    """Cleans a stream of texts: normalised, short ones dropped, repeats dropped with `dedup`; counts in `stats`.

    where: str. What the texts come from, for the error an empty corpus raises when the stream ends.
    """
    stats = stats if stats is not None else CorpusStats()
    seen = set()
    for text in texts:
        stats.read += 1
        text = normalize_text(text)
        if not text:
            stats.dropped["empty"] += 1
            continue
        if len(text) < min_chars:
            stats.dropped["short"] += 1
            continue
        if dedup:
            key = hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest()
            if key in seen:
                stats.dropped["duplicate"] += 1
                continue
            seen.add(key)
        stats.documents += 1
        stats.characters += len(text)
        yield text
    if stats.documents == 0:
        raise UserError(f"{where}: an empty corpus, no documents ({stats.read} read, dropped: {stats.dropped})")
    log.info("corpus: %d documents, %d characters, dropped %s", stats.documents, stats.characters, stats.dropped)


def iter_documents(path_or_paths, text_field: str = "text", min_chars: int = 1, documents: str = "file",
                   dedup: bool = True, stats: CorpusStats | None = None):
    """Yields the cleaned documents of `path_or_paths` (a file, folder, shard folder, or a list of them).

    text_field: str. The JSONL field holding the text.
    min_chars: int. Documents shorter than this after cleaning are dropped.
    documents: str. file | blank_line: how a plain-text file splits into documents.
    dedup: bool. Drop a document identical to an earlier one.
    stats: CorpusStats or None. Filled as the stream is read.
    An empty corpus raises UserError when the stream ends.

    >>> list(iter_documents("notes/"))  # notes/a.txt, notes/b.txt.gz → two documents
    """
    stats = stats if stats is not None else CorpusStats()
    paths = [path_or_paths] if isinstance(path_or_paths, (str, os.PathLike)) else list(path_or_paths)
    return clean_documents(raw_documents(paths, text_field, documents, stats), min_chars, dedup, stats,
                           where=", ".join(map(str, paths)))
