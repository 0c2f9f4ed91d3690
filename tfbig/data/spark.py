"""Training shards written by Spark: clean, de-duplicate, split and write TFRecords, one shard per partition.

The job does what the local pipeline does — normalize_text, drop empty texts, keep one example per
distinct text, a seeded split stratified by class — where one machine cannot, and writes the record
format of tfbig.data.shard_format under `<out>/{train,val,test}/part-NNNNN-of-MMMMM.tfrecord` plus
`<out>/labels.txt`. The driver never holds the data: it receives one small summary per shard.

    from tfbig.data.spark import shard_dataframe
    summary = shard_dataframe(my_df.select("body", "topic"), "gs://bucket/shards", num_shards=64,
                              text_column="body", label_column="topic")

Where two copies of a text carry different labels, the smallest label (by code point) is kept: with no
order across partitions "the first" is undefined, and the minimum is the same on any cluster.
"""
import json
import logging
import os
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field

from tfbig.data.clean import normalize_text
from tfbig.data.hash_split import SPLITS, check_fractions, spark_split_column, spark_split_hash_column
from tfbig.data.shard_format import encode_example, shard_name
from tfbig.data.tfrecord_io import TFRecordFileWriter, is_local, local_path, makedirs
from tfbig.errors import UserError

log = logging.getLogger(__name__)


@dataclass
class ShardSummary:
    out: str
    labels: list
    shards: dict  # split -> number of shard files
    counts: dict  # split -> {label: examples}
    cleaning: dict = field(default_factory=dict)  # read, malformed, empty, duplicates, conflicting_labels, kept


def shard_counts(num_shards: int, test_fraction: float, val_fraction: float) -> dict:
    """Shards per split: `num_shards` for train, val and test in proportion to their size, at least 1."""
    if num_shards < 1:
        raise UserError(f"num_shards must be at least 1, got {num_shards}")
    train = 1 - test_fraction - val_fraction
    return {"train": num_shards, "val": max(1, round(num_shards * val_fraction / train)) if val_fraction else 0,
            "test": max(1, round(num_shards * test_fraction / train))}


def _clean_row(text, label):
    """(normalized text, stripped label); text None marks a malformed record (no text or no label)."""
    if text is None or label is None or not label.strip():
        return None, label
    return normalize_text(text), label.strip()


def _partition_keys(spark, total: int) -> list:
    """For p in range(total), a long k with pmod(hash(k), total) == p: Spark's hash, asked of Spark itself."""
    from pyspark.sql import functions as F

    candidates = spark.range(64 * total).select("id", F.pmod(F.hash("id"), F.lit(total)).alias("p"))
    found = dict(candidates.groupBy("p").agg(F.min("id")).collect())  # `total` rows, not data
    if len(found) < total:  # (1 - 1/total)^(64·total) < e^-64: not seen in practice
        raise RuntimeError(f"no partition key found for {total - len(found)} of {total} partitions")
    return [int(found[p]) for p in range(total)]


def _write_partition(index, rows, out, bounds):
    """Writes partition `index` as one shard; yields its summary. rows: (part, hash, text, label, n, kinds, key)."""
    split_id = max(i for i, (start, _) in enumerate(bounds) if start <= index)
    start, count = bounds[split_id]
    split = SPLITS[split_id]
    stats, classes = Counter(), Counter()
    path = f"{out}/{split}/{shard_name(index - start, count)}"
    with TFRecordFileWriter(path) as writer:
        for part, _, text, label, n, kinds, _ in rows:
            if part != index:
                raise RuntimeError(f"a record of shard {part} reached partition {index}")
            stats["read"] += n
            if text is None:  # malformed and empty texts arrive here as two groups with no hash
                stats["malformed"] += n
                continue
            if text == "":
                stats["empty"] += n
                continue
            stats["duplicates"] += n - 1
            stats["conflicting_labels"] += kinds > 1
            writer.write(encode_example(text, label))
            classes[label] += 1
    yield {"split": split, "path": path, "stats": dict(stats), "classes": dict(classes)}


def old_shards(out: str) -> list:
    """The shard files already in `out` or its train/val/test folders (local paths or URLs)."""
    found = []
    for folder in [out] + [f"{out}/{split}" for split in SPLITS]:
        if is_local(out):
            folder = local_path(folder)
            names = os.listdir(folder) if os.path.isdir(folder) else []
            found += [os.path.join(folder, n) for n in names if n.startswith("part-")]
        else:
            from tfbig._keras import tf

            found += tf.io.gfile.glob(f"{folder}/part-*")
    return found


def remove_files(paths) -> None:
    for p in paths:
        if is_local(p):
            os.unlink(local_path(p))
        else:
            from tfbig._keras import tf

            tf.io.gfile.remove(p)


def check_old_shards(out: str, overwrite: bool) -> list:
    """The shards already in `out` (to replace with `overwrite`); UserError when there are some and not `overwrite`."""
    old = old_shards(out)
    if old and not overwrite:
        folders = sorted({os.path.dirname(p) for p in old})
        raise UserError(f"{', '.join(folders)} already hold(s) {len(old)} shard(s); pass --overwrite to replace them")
    return old


def _clear_old_shards(out: str, overwrite: bool) -> None:
    remove_files(check_old_shards(out, overwrite))


def write_text(path: str, text: str) -> None:
    if is_local(path):
        from tfbig.io_utils import atomic_write_text

        atomic_write_text(local_path(path), text)
    else:
        from tfbig._keras import tf

        with tf.io.gfile.GFile(path, "w") as f:
            f.write(text)


def place_rows(df, total: int):
    """`df` (with columns part, h and text) repartitioned so that partition p holds exactly the rows whose `part`
    is p, sorted by (h, text); a last column `key` is added."""
    from pyspark.sql import functions as F

    # repartition(total, key) sends a row to pmod(hash(key), total): key is chosen so that this is `part`,
    # and partition p is exactly shard p. The shuffle and the sort stay in the JVM; Python only writes.
    keys = F.array(*[F.lit(k).cast("long") for k in _partition_keys(df.sparkSession, total)])
    return (df.withColumn("key", F.element_at(keys, (F.col("part") + 1).cast("int")))
            .repartition(total, "key")
            .sortWithinPartitions("h", "text"))  # hash order: shuffled, and the same every run


def shard_dataframe(df, out: str, num_shards: int = 16, text_column: str = "text", label_column: str = "label",
                    test_fraction: float = 0.2, val_fraction: float = 0.1, seed: int = 0,
                    overwrite: bool = False) -> ShardSummary:
    """Cleans, de-duplicates, splits and writes `df` (any Spark DataFrame with a text and a label column).

    out: str. A folder every executor can write to: a shared file system, gs://, hdfs:// (via tf.io.gfile).
    num_shards: int. Shards of the train split; val and test get shards in proportion (shard_counts).
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    check_fractions(test_fraction, val_fraction)
    counts = shard_counts(num_shards, test_fraction, val_fraction)
    out = out.rstrip("/")
    makedirs(out)
    _clear_old_shards(out, overwrite)
    for split in SPLITS:
        if counts[split]:
            makedirs(f"{out}/{split}")
    bounds, start = [], 0  # (first partition, shards) of train, val, test
    for split in SPLITS:
        bounds.append((start, counts[split]))
        start += counts[split]
    total = start

    schema = StructType([StructField("text", StringType()), StructField("label", StringType())])
    cleaned = df.select(F.udf(_clean_row, schema)(F.col(text_column).cast("string"),
                                                  F.col(label_column).cast("string")).alias("r")).select("r.*")
    # One group per distinct text; malformed records form the group of null, empty texts that of "".
    groups = cleaned.groupBy("text").agg(F.min("label").alias("label"), F.count(F.lit(1)).alias("n"),
                                        F.countDistinct("label").alias("kinds"))
    h = spark_split_hash_column(F.col("text"), seed)
    split_id = spark_split_column(h, test_fraction, val_fraction)
    part = F.lit(0)
    for i, (first, n_shards) in enumerate(bounds):
        if n_shards:
            part = F.when(split_id == i, F.lit(first) + F.pmod(h, F.lit(n_shards))).otherwise(part)
    keep = F.col("text").isNotNull() & (F.col("text") != "")
    part = F.when(keep, part).otherwise(0)
    placed = place_rows(groups.select(part.alias("part"), F.when(keep, h).otherwise(-1).alias("h"), "text",
                                      "label", "n", "kinds"), total)
    summaries = placed.rdd.mapPartitionsWithIndex(lambda i, rows: _write_partition(i, rows, out, bounds)).collect()

    stats, by_split = Counter(), {s: Counter() for s in SPLITS}
    for s in summaries:  # one small dict per shard: the only thing the driver receives
        stats.update(s["stats"])
        by_split[s["split"]].update(s["classes"])
    labels = sorted(set().union(*by_split.values()))
    stats["kept"] = sum(sum(c.values()) for c in by_split.values())
    cleaning = {k: int(stats.get(k, 0)) for k in ("read", "malformed", "empty", "duplicates",
                                                  "conflicting_labels", "kept")}
    if len(labels) < 2:
        log.warning("%s: only %d class(es) after cleaning: %s", out, len(labels), labels)
    write_text(f"{out}/labels.txt", "".join(f"{name}\n" for name in labels))
    summary = ShardSummary(out, labels, {s: counts[s] for s in SPLITS},
                           {s: dict(sorted(by_split[s].items())) for s in SPLITS}, cleaning)
    write_text(f"{out}/shards.json", json.dumps(asdict(summary), indent=2) + "\n")
    log.info("spark shards in %s: %s; cleaning %s", out, summary.shards, cleaning)
    return summary


def get_session(master: str | None = None, app_name: str = "tfbig-spark-shard", conf: dict | None = None):
    """The active SparkSession, or a new one (`master` e.g. "local[2]"; None leaves it to spark-submit)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UserError("PySpark is not installed: pip install 'tfbig[spark]' (it also needs Java 17)") from None
    # Local Python workers must run this interpreter (PySpark's default is whatever `python3` is on PATH).
    # Under spark-submit (which sets PYSPARK_GATEWAY_PORT) the cluster's PYSPARK_PYTHON is left alone.
    local = master.startswith("local") if master else "PYSPARK_GATEWAY_PORT" not in os.environ
    if local:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name).config("spark.ui.showConsoleProgress", "false")
    if master:
        builder = builder.master(master)
    for key, value in (conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def spark_shard(input_path: str, out: str, num_shards: int = 16, fmt: str = "auto", text_column: str = "text",
                label_column: str = "label", test_fraction: float = 0.2, val_fraction: float = 0.1, seed: int = 0,
                fallback_encoding: str | None = None, overwrite: bool = False, spark=None) -> ShardSummary:
    """Reads `input_path` (CSV, TSV, JSONL, Parquet or a folder per class) and shards it (shard_dataframe)."""
    from tfbig.data.spark_read import read_input

    spark = spark or get_session()
    df = read_input(spark, input_path, fmt, text_column, label_column, fallback_encoding)
    return shard_dataframe(df, out, num_shards, "text", "label", test_fraction, val_fraction, seed, overwrite)
