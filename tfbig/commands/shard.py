"""`tfbig shard INPUT --out DIR --num-shards N`: stream labelled text into TFRecord shards for training."""


def register(sub) -> None:
    p = sub.add_parser("shard", help="stream a CSV/TSV/JSONL file or a folder per class into TFRecord shards",
                       description="Writes DIR/part-NNNNN-of-MMMMM.tfrecord and DIR/labels.txt in constant "
                                   "memory; train with --set data.source=DIR (or pretrain, with --unlabelled).")
    p.add_argument("input", help="a .csv/.tsv/.jsonl file or a folder of <label>/*.txt (local, gs://, hdfs://)")
    p.add_argument("--out", required=True, help="the shard folder to write (new or empty)")
    p.add_argument("--num-shards", type=int, default=8, help="files per split (default 8)")
    p.add_argument("--format", default="auto", choices=["auto", "folder", "csv", "tsv", "jsonl"])
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--unlabelled", action="store_true",
                   help="an unlabelled corpus for pretraining (text files and folders, JSONL, .gz/.bz2): "
                        "records hold text only")
    p.add_argument("--documents", default="file", choices=["file", "blank_line"],
                   help="with --unlabelled: one document per plain-text file, or documents between blank lines")
    p.add_argument("--on-error", default="raise", choices=["raise", "skip"],
                   help="a malformed record stops the run (raise) or is counted and dropped (skip)")
    p.add_argument("--val-fraction", type=float, default=0.0,
                   help="with --test-fraction: write train/, val/, test/ split by a seeded hash of the text")
    p.add_argument("--test-fraction", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args) -> int:
    from tfbig.data.shard_writer import write_shards

    summary = write_shards(args.input, args.out, args.num_shards, fmt=args.format, text_column=args.text_column,
                           label_column="" if args.unlabelled else args.label_column, documents=args.documents,
                           on_error=args.on_error, val_fraction=args.val_fraction,
                           test_fraction=args.test_fraction, seed=args.seed, progress=not args.no_progress)
    records = ", ".join(f"{n}" if split == "all" else f"{n} {split}" for split, n in summary["records"].items())
    print(f"wrote {records} records in {summary['shards']} shard(s) per split to {args.out}; "
          f"{len(summary['labels'])} labels; {summary['empty']} empty texts dropped; "
          f"{summary['skipped']} malformed records skipped")
    return 0
