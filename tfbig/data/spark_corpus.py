"""Unlabelled corpora sharded by Spark (`tfbig spark-shard --unlabelled`), in the format `tfbig shard --unlabelled`
writes: `<out>/part-NNNNN-of-MMMMM.tfrecord` of text-only records, an empty labels.txt, and shards.json.

Spark lists the input's files (a file, a folder walked recursively, a glob, any URL Spark lists; names that
start with "." or "_" are skipped, as Spark skips them) and deals them to one Python task per core. Each task
reads its files with tfbig.data.corpus, so the formats are those of `tfbig shard --unlabelled` and of the
pretraining reader (plain text: one document per file or documents between blank lines; JSONL with a text
field; any of them `.gz` or `.bz2`, told by the name) and so are the errors (file and line). A file is read by
one task, streamed: split a corpus into several files for parallel reading.

Each document is cleaned as labelled text is (normalize_text); empty ones are dropped, and so are exact
duplicates: a seeded hash of the text gives its shard, so the copies of a text meet in one partition of
Spark's shuffle, sorted next to each other, and the task writing the shard keeps the first. Each shard is
one partition; the driver only receives one small summary per shard. Shards are written into a hidden folder `<out>/.tmp-spark-shard-<id>/` and moved into `<out>` when
the whole job has succeeded and no file was bad: a bad input leaves `<out>` as it was.
"""
import json
import logging
import os
import shutil
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field

from tfbig.data.clean import normalize_text
from tfbig.data.hash_split import spark_split_hash_column
from tfbig.data.shard_format import LABELS_FILE, encode_example, shard_name
from tfbig.data.tfrecord_io import TFRecordFileWriter, is_local, local_path, makedirs
from tfbig.errors import UserError
from tfbig.names import DOCUMENTS

log = logging.getLogger(__name__)
CLEANING_KEYS = ("files", "bad_files", "read", "empty", "duplicates", "kept")


@dataclass
class CorpusShardSummary:
    out: str
    shards: int
    documents: int  # records written: distinct non-empty cleaned documents
    cleaning: dict = field(default_factory=dict)  # files, bad_files, read, empty, duplicates, kept


def reader_path(spark_path: str) -> str:
    """A path as Spark lists it (`file:/x/a.txt`) → as tfbig.data.corpus opens it (`/x/a.txt`; URLs unchanged)."""
    for prefix in ("file://", "file:"):
        if spark_path.startswith(prefix):
            return spark_path[len(prefix):]
    return spark_path


def read_documents(paths, text_field: str, documents: str):
    """(cleaned text, None) for each document of each file; (None, message) for a bad file, which stops there."""
    from tfbig.data.corpus import file_documents

    for path in paths:
        try:
            for doc in file_documents(path, text_field, documents):
                yield normalize_text(doc), None
        except UserError as e:
            yield None, str(e)


def _write_partition(index, rows, folder, num_shards):
    """Writes partition `index` as shard `index`; yields its summary. rows: (part, h, text, error, key), sorted
    by (h, text), so the copies of a text come one after another and all but the first are dropped."""
    stats, errors, previous = Counter(), [], None
    with TFRecordFileWriter(f"{folder}/{shard_name(index, num_shards)}") as writer:
        for part, _, text, error, _ in rows:
            if part != index:
                raise RuntimeError(f"a record of shard {part} reached partition {index}")
            if text is None:  # a bad file: one row each, its message
                stats["bad_files"] += 1
                errors.append(error)
                continue
            stats["read"] += 1
            if text == "":
                stats["empty"] += 1
            elif text == previous:
                stats["duplicates"] += 1
            else:
                writer.write(encode_example(text, None))
                stats["kept"] += 1
                previous = text
    yield {"stats": dict(stats), "error": min(errors) if errors else None}


def _refuse_shard_folder(path: str) -> None:
    local = local_path(path)
    if is_local(path) and os.path.isfile(os.path.join(local, LABELS_FILE)):
        raise UserError(f"{path} is a shard folder already (it has {LABELS_FILE}): give it to `tfbig pretrain` as "
                        "data.source, or shard the corpus it was made from")


def list_files(spark, path: str):
    """The DataFrame (path) of the files at `path`, listed by Spark (their content is not read)."""
    from pyspark.errors import AnalysisException

    try:
        return (spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(path)
                .select("path"))
    except AnalysisException as e:
        if "PATH_NOT_FOUND" in str(e):
            raise UserError(f"input not found: {path}") from None
        raise


def _move(src: str, dst: str) -> None:
    if is_local(src):
        os.replace(local_path(src), local_path(dst))
    else:
        from tfbig._keras import tf

        tf.io.gfile.rename(src, dst, overwrite=True)


def _remove_tree(folder: str) -> None:
    if is_local(folder):
        shutil.rmtree(local_path(folder), ignore_errors=True)
    else:
        from tfbig._keras import tf

        if tf.io.gfile.exists(folder):
            tf.io.gfile.rmtree(folder)


def _bad_input(path: str, stats: Counter, summaries: list) -> str | None:
    """The error to raise for a job's summaries: a bad file (the first by message) or an empty corpus."""
    if stats["bad_files"]:
        first = min(s["error"] for s in summaries if s["error"])
        more = stats["bad_files"] - 1
        return first + (f" (and {more} more bad file(s))" if more else "")
    if not stats["kept"]:
        return (f"{path}: an empty corpus, no documents ({stats['read']} read in {stats['files']} file(s), "
                f"{stats['empty']} empty)")
    return None


def shard_corpus(spark, input_path: str, out: str, num_shards: int = 16, text_field: str = "text",
                 documents: str = "file", seed: int = 0, overwrite: bool = False) -> CorpusShardSummary:
    """Reads the unlabelled corpus at `input_path`, cleans and de-duplicates it, writes `num_shards` shards to `out`.

    text_field: str. The JSONL field holding a document.
    documents: str. file | blank_line: how a plain-text file splits into documents (data.documents).
    seed: int. Seeds the hash that deals documents to shards.
    overwrite: bool. Replace the shards already in `out` (else they are an error).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    from tfbig.data.spark import check_old_shards, place_rows, remove_files, write_text

    if documents not in DOCUMENTS:
        raise UserError(f"documents '{documents}' is not one of {', '.join(DOCUMENTS)}")
    if num_shards < 1:
        raise UserError(f"num_shards must be at least 1, got {num_shards}")
    out = out.rstrip("/")
    _refuse_shard_folder(input_path)
    files = list_files(spark, input_path)
    n_files = files.count()  # a job over the listing only
    if not n_files:
        raise UserError(f"{input_path} holds no files (names starting with '.' or '_' are skipped)")
    makedirs(out)
    check_old_shards(out, overwrite)  # fail before the job; the old shards go only once the new ones are done

    cores = spark.sparkContext.defaultParallelism
    paths = files.repartition(max(1, min(cores, n_files))).rdd.map(lambda row: reader_path(row.path))
    schema = StructType([StructField("text", StringType()), StructField("error", StringType())])
    docs = spark.createDataFrame(paths.mapPartitions(lambda ps: read_documents(ps, text_field, documents)), schema)
    # The shard of a text is a hash of it, so all copies of a text meet in one partition, sorted next to each
    # other: one shuffle, and the writer keeps the first of each run (exact duplicates dropped, memory flat).
    # Bad files' rows (text null) and empty texts go to shard 0, counted there and not written.
    h = spark_split_hash_column(F.col("text"), seed)
    keep = F.col("text").isNotNull() & (F.col("text") != "")
    placed = place_rows(docs.select(F.when(keep, F.pmod(h, F.lit(num_shards))).otherwise(0).alias("part"),
                                    F.when(keep, h).otherwise(-1).alias("h"), "text", "error"), num_shards)
    tmp = f"{out}/.tmp-spark-shard-{uuid.uuid4().hex}"
    makedirs(tmp)
    try:
        summaries = placed.rdd.mapPartitionsWithIndex(
            lambda i, rows: _write_partition(i, rows, tmp, num_shards)).collect()
        stats = Counter(files=n_files)
        for s in summaries:  # one small dict per shard: the only thing the driver receives
            stats.update(s["stats"])
        error = _bad_input(input_path, stats, summaries)
        if error:
            raise UserError(error)
        remove_files(check_old_shards(out, overwrite))
        for i in range(num_shards):
            _move(f"{tmp}/{shard_name(i, num_shards)}", f"{out}/{shard_name(i, num_shards)}")
    finally:
        _remove_tree(tmp)
    cleaning = {k: int(stats.get(k, 0)) for k in CLEANING_KEYS}
    write_text(f"{out}/{LABELS_FILE}", "")  # empty: an unlabelled corpus; still the mark of a finished folder
    summary = CorpusShardSummary(out, num_shards, cleaning["kept"], cleaning)
    write_text(f"{out}/shards.json", json.dumps(asdict(summary), indent=2) + "\n")
    log.info("spark corpus shards in %s: %d documents in %d shard(s); cleaning %s", out, summary.documents,
             num_shards, cleaning)
    return summary
