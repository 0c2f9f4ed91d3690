"""`tfbig export`: a training run's folder -> a versioned SavedModel that TF Serving serves from raw text."""


def register(sub) -> None:
    p = sub.add_parser("export", help="export a training run as a SavedModel (raw text in, labels out)")
    p.add_argument("run_dir", help="the training run's folder (config.yaml, labels.txt, final.weights)")
    p.add_argument("--out", help="model folder; versions go to OUT/<n>/ (default: the run's export_dir/name)")
    p.add_argument("--version", type=int, help="version number (default: the next one); never overwritten")
    p.add_argument("--tokenizer", choices=("fast", "core"), default="fast",
                   help="fast: tensorflow-text ops (needs `import tensorflow_text` / a TF Serving build "
                        "with them); core: core TensorFlow ops only, runs on stock TF Serving")
    p.add_argument("--precision", default="same", help="what the export computes in: same (as the run trained), "
                   "auto (bfloat16 where this hardware runs it faster), float32, bfloat16, or int8 (float32 with "
                   "the encoder's Dense layers in dynamically quantized int8)")
    p.add_argument("--list-ops", action="store_true", help="print the ops of the exported graph")
    p.set_defaults(func=run)


def run(args) -> int:
    import os

    from tfbig.export.from_run import export_run, read_run
    from tfbig.export.loader import export_precision_of
    from tfbig.export.ops import list_ops, non_core_ops

    out = args.out
    if not out:
        cfg = read_run(args.run_dir)[0]
        out = os.path.join(cfg.export_dir, cfg.name)
    path = export_run(args.run_dir, out, args.version, args.tokenizer, args.precision)
    print(f"exported: {path} (tokenizer {args.tokenizer}, computes in {export_precision_of(path)})")
    if args.list_ops:
        ops = list_ops(path)
        missing = set(non_core_ops(ops))
        for op, count in ops.items():
            print(f"  {op:<40} {count:>5}{'  (not in core TensorFlow)' if op in missing else ''}")
        print(f"{len(ops)} op types; not in core TensorFlow: {', '.join(sorted(missing)) or 'none'}")
    return 0
