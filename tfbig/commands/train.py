"""`tfbig train`: fine-tune a classifier from a config, evaluate on the test split, export."""


def add_config_args(parser) -> None:
    parser.add_argument("--config", help="YAML config file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set train.epochs=2 (repeatable)")


def register(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a classifier, evaluate it, export a SavedModel")
    add_config_args(p)
    p.set_defaults(func=run)


def run(args) -> int:
    from tfbig.config import load_config
    from tfbig.evaluate.report import format_report
    from tfbig.train.run import train_run

    cfg = load_config(args.config, args.set)
    report = train_run(cfg)
    print(f"\nrun folder: {cfg.run_dir}")
    print(f"TensorBoard: tensorboard --logdir {cfg.run_dir}/logs")
    print(f"\ntest set, {cfg.name}:\n{format_report(report)}")
    base = report.get("baseline_tfidf_logreg")
    if base:
        print(f"\nTF-IDF + logistic regression on the same split: accuracy {base['accuracy']:.4f}, "
              f"macro-F1 {base['macro']['f1']:.4f}")
    print(f"\nexported: {report['export']}")
    return 0
