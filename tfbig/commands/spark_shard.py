"""`tfbig spark-shard`: clean, de-duplicate, split and write TFRecord shards with Spark (local or spark-submit)."""


def register(sub) -> None:
    p = sub.add_parser("spark-shard", help="write TFRecord training shards with Spark (pip install 'tfbig[spark]')")
    p.add_argument("--input", required=True, help="CSV, TSV, JSONL, Parquet or folder-per-class path; any URL Spark reads")
    p.add_argument("--out", required=True, help="output folder every executor can write to (shared FS, gs://, hdfs://)")
    p.add_argument("--num-shards", type=int, default=16, help="shards of the train split; val/test in proportion")
    p.add_argument("--format", default="auto", choices=["auto", "csv", "tsv", "jsonl", "parquet", "folder"])
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--val-fraction", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fallback-encoding", default=None,
                   help="folder format: decode files that are not UTF-8 with this (e.g. cp1252)")
    p.add_argument("--overwrite", action="store_true", help="replace shards already in --out")
    p.add_argument("--master", default=None,
                   help="Spark master, e.g. local[4]; leave unset under spark-submit")
    p.set_defaults(func=run)


def run(args) -> int:
    from tfbig.data.spark import get_session, spark_shard

    spark = get_session(args.master)
    summary = spark_shard(args.input, args.out, args.num_shards, args.format, args.text_column, args.label_column,
                          args.test_fraction, args.val_fraction, args.seed, args.fallback_encoding, args.overwrite,
                          spark=spark)
    print(f"shards written to {summary.out}: " + ", ".join(
        f"{s} {sum(summary.counts[s].values())} examples in {summary.shards[s]} shard(s)" for s in summary.counts))
    print(f"labels ({len(summary.labels)}): {', '.join(summary.labels)}")
    print(f"cleaning: {summary.cleaning}")
    return 0
