"""`tfbig spark-shard`: clean, de-duplicate, split and write TFRecord shards with Spark (local or spark-submit);
`--unlabelled`: an unlabelled corpus for pretraining, in the shard format of `tfbig shard --unlabelled`."""


def register(sub) -> None:
    p = sub.add_parser("spark-shard", help="write TFRecord training shards with Spark (pip install 'tfbig[spark]')")
    p.add_argument("--input", required=True, help="CSV, TSV, JSONL, Parquet or folder-per-class path; any URL Spark "
                                                  "reads (with --unlabelled: text files and folders, JSONL, .gz/.bz2)")
    p.add_argument("--out", required=True, help="output folder every executor can write to (shared FS, gs://, hdfs://)")
    p.add_argument("--num-shards", type=int, default=16, help="shards of the train split; val/test in proportion")
    p.add_argument("--format", default="auto", choices=["auto", "csv", "tsv", "jsonl", "parquet", "folder"])
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--unlabelled", action="store_true",
                   help="an unlabelled corpus for pretraining: text-only records in one folder, as "
                        "`tfbig shard --unlabelled` writes them, exact duplicates dropped")
    p.add_argument("--documents", default="file", choices=["file", "blank_line"],
                   help="with --unlabelled: one document per plain-text file, or documents between blank lines")
    p.add_argument("--test-fraction", type=float, default=None, help="labelled input only (default 0.2)")
    p.add_argument("--val-fraction", type=float, default=None, help="labelled input only (default 0.1)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fallback-encoding", default=None,
                   help="folder format: decode files that are not UTF-8 with this (e.g. cp1252)")
    p.add_argument("--overwrite", action="store_true", help="replace shards already in --out")
    p.add_argument("--master", default=None,
                   help="Spark master, e.g. local[4]; leave unset under spark-submit")
    p.set_defaults(func=run)


def run(args) -> int:
    from tfbig.data.spark import get_session, spark_shard

    if args.unlabelled:
        return run_unlabelled(args)
    test_fraction = 0.2 if args.test_fraction is None else args.test_fraction
    val_fraction = 0.1 if args.val_fraction is None else args.val_fraction
    spark = get_session(args.master)
    summary = spark_shard(args.input, args.out, args.num_shards, args.format, args.text_column, args.label_column,
                          test_fraction, val_fraction, args.seed, args.fallback_encoding, args.overwrite,
                          spark=spark)
    print(f"shards written to {summary.out}: " + ", ".join(
        f"{s} {sum(summary.counts[s].values())} examples in {summary.shards[s]} shard(s)" for s in summary.counts))
    print(f"labels ({len(summary.labels)}): {', '.join(summary.labels)}")
    print(f"cleaning: {summary.cleaning}")
    return 0


def run_unlabelled(args) -> int:
    from tfbig.data.spark import get_session
    from tfbig.data.spark_corpus import shard_corpus
    from tfbig.errors import UserError

    given = [name for name, value in (("--format", args.format != "auto"),
                                      ("--test-fraction", args.test_fraction is not None),
                                      ("--val-fraction", args.val_fraction is not None),
                                      ("--fallback-encoding", args.fallback_encoding is not None)) if value]
    if given:
        raise UserError(f"{', '.join(given)}: not with --unlabelled (formats are told by file name; pretraining "
                        "holds out its own data.val_fraction)")
    spark = get_session(args.master)
    summary = shard_corpus(spark, args.input, args.out, args.num_shards, args.text_column, args.documents,
                           args.seed, args.overwrite)
    print(f"shards written to {summary.out}: {summary.documents} documents in {summary.shards} shard(s)")
    print(f"cleaning: {summary.cleaning}")
    return 0
