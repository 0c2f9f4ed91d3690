"""Spark readers for labelled text: CSV/TSV, JSON Lines, Parquet, or a folder per class, from any path Spark reads.

Each returns a DataFrame of two string columns, `text` and `label` (either may be null for a malformed
record; the job counts those and drops them). Nothing here reads the data on the driver: a reader only
looks at a schema, or at a local folder's file names to guess its format.
"""
import os
from urllib.parse import unquote

from tfbig.errors import UserError

FORMATS = ("auto", "csv", "tsv", "jsonl", "parquet", "folder")
_EXTENSIONS = ((".csv", "csv"), (".tsv", "tsv"), (".tab", "tsv"), (".jsonl", "jsonl"), (".json", "jsonl"),
               (".parquet", "parquet"))


def detect_spark_format(path: str) -> str:
    """The format of `path` by its extension, or for a local folder by the files in it."""
    stripped = path.rstrip("/")
    for ext, fmt in _EXTENSIONS:
        if stripped.endswith(ext) or stripped.endswith(ext + ".gz"):
            return fmt
    local = path[len("file://"):] if path.startswith("file://") else path
    if "://" not in local and not any(c in local for c in "*?[{") and not os.path.exists(local):
        raise UserError(f"input not found: {path}")
    if "://" not in local and os.path.isdir(local):
        names = os.listdir(local)
        for ext, fmt in _EXTENSIONS:
            if any(n.endswith(ext) or n.endswith(ext + ".gz") for n in names):
                return fmt
        if any(os.path.isdir(os.path.join(local, n)) and not n.startswith((".", "_")) for n in names):
            return "folder"
    raise UserError(f"{path}: cannot tell the format; pass --format csv, tsv, jsonl, parquet or folder")


def _pick(df, path: str, text_column: str, label_column: str):
    from pyspark.sql import functions as F

    for needed in (text_column, label_column):
        if needed not in df.columns:
            found = ", ".join(c for c in df.columns if not c.startswith("_corrupt")) or "none"
            raise UserError(f"{path}: no column '{needed}'; columns found: {found}")
    return df.select(F.col(text_column).cast("string").alias("text"), F.col(label_column).cast("string").alias("label"))


def _decode_file(content, path, fallback_encoding):
    """(text, label) of one `<label>/<name>.txt` file; text None when it cannot be decoded."""
    label = unquote(path.rstrip("/").split("/")[-2])
    try:
        return bytes(content).decode("utf-8"), label
    except UnicodeDecodeError:
        if fallback_encoding:
            return bytes(content).decode(fallback_encoding), label
        return None, label


def read_folder_spark(spark, path: str, fallback_encoding: str | None = None):
    """`<path>/<label>/*.txt`, one example per file, the folder name as its label."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    files = (spark.read.format("binaryFile").option("pathGlobFilter", "*.txt")
             .option("recursiveFileLookup", "true").load(path))
    # Spark packs small files ~32 to a partition; each partition is a Python task with its own start-up
    # cost (BBC: 70 tasks, 10x slower than 2). Coalescing before the UDF keeps one task per core.
    cores = spark.sparkContext.defaultParallelism
    if files.rdd.getNumPartitions() > cores:
        files = files.coalesce(cores)
    schema = StructType([StructField("text", StringType()), StructField("label", StringType())])
    decode = F.udf(lambda content, p: _decode_file(content, p, fallback_encoding), schema)
    return files.select(decode("content", "path").alias("r")).select("r.text", "r.label")


def read_input(spark, path: str, fmt: str = "auto", text_column: str = "text", label_column: str = "label",
               fallback_encoding: str | None = None):
    """The DataFrame (text, label) of the examples at `path` (a file, a folder, a glob, any Hadoop URL)."""
    if fmt not in FORMATS:
        raise UserError(f"format '{fmt}' is not one of {', '.join(FORMATS)}")
    from pyspark.errors import AnalysisException

    if fmt == "auto":
        fmt = detect_spark_format(path)
    try:
        return _read(spark, path, fmt, text_column, label_column, fallback_encoding)
    except AnalysisException as e:
        if "PATH_NOT_FOUND" in str(e):
            raise UserError(f"input not found: {path}") from None
        raise


def _read(spark, path, fmt, text_column, label_column, fallback_encoding):
    from pyspark.sql.types import StringType, StructField, StructType

    if fmt == "folder":
        return read_folder_spark(spark, path, fallback_encoding)
    if fmt in ("csv", "tsv"):
        # multiLine: quoted texts may hold newlines (a CSV file is then read by one task; prefer
        # JSONL or Parquet for big inputs). escape '"': quotes inside a field are doubled, as RFC 4180 says.
        df = (spark.read.option("header", "true").option("multiLine", "true").option("escape", '"')
              .option("sep", "\t" if fmt == "tsv" else ",").csv(path))
    elif fmt == "jsonl":
        # A given schema spares Spark the pass over all the data that inferring one would take.
        schema = StructType([StructField(text_column, StringType()), StructField(label_column, StringType())])
        df = spark.read.schema(schema).json(path)
    else:
        df = spark.read.parquet(path)
    return _pick(df, path, text_column, label_column)
