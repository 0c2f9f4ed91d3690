"""Readers of tagged sentences: CoNLL columns, `word/TAG` lines, JSONL with `tokens` and `tags` lists.

Each gives Examples whose `words` are the sentences and whose labels are their tag lists; every error names
the file and line. Sentences longer than `max_words` are split into pieces or truncated (`long_sentences`),
and counted.
"""
import json
import logging
import os

from tfbig.data.text_files import Examples, _check_file
from tfbig.data.word_tags import oanc_sentences, split_word_tag
from tfbig.errors import UserError

log = logging.getLogger(__name__)

DOCSTART = "-DOCSTART-"


def _lines(path: str):
    """(line number, line without its newline) of a UTF-8 file."""
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                yield number, raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as e:
                raise UserError(f"{path}, line {number}: not valid UTF-8 (byte {e.start})") from None


def _column(tag_column: str, columns: int, path: str, number: int) -> int:
    if tag_column in ("", None):
        return columns - 1
    try:
        index = int(tag_column)
    except ValueError:
        raise UserError(f"data.tag_column {tag_column!r}: a CoNLL file's tag column is a 0-based number "
                        "(or empty for the last)") from None
    if not -columns <= index < columns:
        raise UserError(f"{path}, line {number}: data.tag_column {index} but the line has {columns} columns")
    return index


def _bad_line(message: str, number: int, on_error: str, skipped: list | None) -> None:
    """A malformed line: a UserError with `message` (data.on_error raise), else its number noted in `skipped`."""
    if on_error == "raise":
        raise UserError(message) from None
    if skipped is not None:
        skipped.append(number)


def iter_conll(path: str, tag_column: str = "", on_error: str = "raise", skipped: list | None = None):
    """Yields (words, tags) of a CoNLL file: one `word<TAB>tag` (or space-separated columns) per line, a blank
    line between sentences, -DOCSTART- lines skipped. tag_column: "" the last column, else its 0-based index."""
    words, tags = [], []
    for number, line in _lines(path):
        if not line.strip():
            if words:
                yield words, tags
            words, tags = [], []
            continue
        columns = line.split("\t") if "\t" in line else line.split()
        if columns[0] == DOCSTART:
            continue
        if len(columns) < 2 or not columns[_column(tag_column, len(columns), path, number)].strip():
            message = f"{path}, line {number}: no tag after the word {columns[0]!r} (expected 'word<TAB>tag')"
            _bad_line(message, number, on_error, skipped)
            continue
        words.append(columns[0].strip())
        tags.append(columns[_column(tag_column, len(columns), path, number)].strip())
    if words:
        yield words, tags


def iter_word_tag(path: str, on_error: str = "raise", skipped: list | None = None):
    """Yields (words, tags) of a file with one sentence per line, space-separated `word/TAG` tokens."""
    for number, line in _lines(path):
        if not line.strip():
            continue
        words, tags, bad = [], [], None
        for token in line.split():
            pair = split_word_tag(token)
            if pair is None:
                bad = token
                break
            words.append(pair[0])
            tags.append(pair[1])
        if bad is not None:
            message = f"{path}, line {number}: {bad!r} has no tag (expected word/TAG)"
            _bad_line(message, number, on_error, skipped)
            continue
        yield words, tags


def iter_tagged_jsonl(path: str, words_key: str = "tokens", tags_key: str = "tags", on_error: str = "raise",
                      skipped: list | None = None):
    """Yields (words, tags) of JSON Lines, each object with a `tokens` and a `tags` list of one length."""
    for number, line in _lines(path):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            words, tags = record[words_key], record[tags_key]
            if not isinstance(words, list) or not isinstance(tags, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            message = f"{path}, line {number}: expected an object with '{words_key}' and '{tags_key}' lists"
            _bad_line(message, number, on_error, skipped)
            continue
        if len(words) != len(tags) or any(not str(t).strip() for t in tags):
            message = (f"{path}, line {number}: {len(words)} {words_key} but {len(tags)} {tags_key}"
                       if len(words) != len(tags) else f"{path}, line {number}: a word has an empty tag")
            _bad_line(message, number, on_error, skipped)
            continue
        yield [str(w) for w in words], [str(t).strip() for t in tags]


def limit_words(sentences, max_words: int, long_sentences: str = "split", stats: dict | None = None):
    """Sentences of at most `max_words` words: longer ones cut into consecutive pieces ("split") or their
    first `max_words` kept ("truncate"); stats["long_sentences"] counts them either way."""
    for words, tags in sentences:
        if max_words <= 0 or len(words) <= max_words:
            yield words, tags
            continue
        if stats is not None:
            stats["long_sentences"] = stats.get("long_sentences", 0) + 1
        if long_sentences == "truncate":
            yield words[:max_words], tags[:max_words]
            continue
        for start in range(0, len(words), max_words):
            yield words[start:start + max_words], tags[start:start + max_words]


def detect_tagged_format(path: str) -> str:
    if path.endswith((".jsonl", ".json")):
        return "jsonl"
    if path.endswith((".conll", ".conllu", ".tsv", ".iob", ".bio")):
        return "conll"
    if path.endswith(".txt"):
        return "word_tag"
    raise UserError(f"{path}: cannot tell a tagged format from its name; set data.format to conll, word_tag "
                    "or jsonl")


def iter_tagged_file(path: str, fmt: str, tag_column: str = "", on_error: str = "raise",
                     skipped: list | None = None):
    """(words, tags) of a tagged file in `fmt` (auto, conll, word_tag, jsonl)."""
    _check_file(path)
    fmt = detect_tagged_format(path) if fmt == "auto" else fmt
    if fmt == "conll":
        return iter_conll(path, tag_column, on_error, skipped)
    if fmt == "word_tag":
        return iter_word_tag(path, on_error, skipped)
    if fmt == "jsonl":
        return iter_tagged_jsonl(path, tags_key=tag_column or "tags", on_error=on_error, skipped=skipped)
    raise UserError(f"data.format {fmt!r}: tagged sentences are read from conll, word_tag or jsonl files")


def clean_tagged(sentences) -> tuple:
    """Examples of (words, tags) with whitespace trimmed from words, empty sentences and exact repeats (same
    words) dropped; and the counts, as tfbig.data.clean gives them for texts."""
    from tfbig.data.clean import first_occurrences, normalize_text

    def normalize(words):
        words = [normalize_text(w) for w in words]
        return words if any(words) else None

    return first_occurrences(sentences, normalize, None, key="\x00".join, add=Examples.add_words)


def read_tagged(data_cfg) -> tuple:
    """(Examples, stats) of the tagged sentences `data_cfg` (a DataConfig) names: a path, or `oanc_pos`."""
    stats: dict = {}
    skipped: list = []
    if data_cfg.source == "oanc_pos":
        sentences = oanc_sentences()
    else:
        if not os.path.exists(data_cfg.source):
            raise UserError(f"data file not found: {data_cfg.source}")
        sentences = iter_tagged_file(data_cfg.source, data_cfg.format, data_cfg.tag_column, data_cfg.on_error,
                                     skipped)
    examples, cleaning = clean_tagged(limit_words(sentences, data_cfg.max_words, data_cfg.long_sentences, stats))
    examples.skipped = len(skipped)
    cleaning.update({"long_sentences": stats.get("long_sentences", 0), "long_sentences_action":
                     data_cfg.long_sentences, "max_words": data_cfg.max_words, "skipped": len(skipped)})
    if not len(examples):
        raise UserError(f"{data_cfg.source} holds no tagged sentences")
    log.info("tagged sentences: %s", cleaning)
    return examples, cleaning
