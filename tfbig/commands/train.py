"""`tfbig train`: fine-tune a classifier from a config, evaluate on the test split, export."""


def add_config_args(parser, config_cls=None) -> None:
    """--config and --set; the epilog of --help lists every config key with its default."""
    from tfbig.commands.help import config_epilog
    from tfbig.config import RunConfig

    parser.epilog = config_epilog(config_cls or RunConfig)
    parser.add_argument("--config", help="YAML config file")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set train.epochs=2 (repeatable)")


def print_test_report(report: dict, name: str) -> None:
    """The test report as the run's task formats it, and the baseline beside it."""
    from tfbig.tasks.registry import get_task

    task = get_task(report.get("task", "classification"), report.get("labels"))
    print(f"\ntest set, {name}:\n{task.format_report(report)}")
    base = report.get("baseline")
    if base:
        print(f"\n{base.get('model', 'baseline')} on the same split:\n{task.format_report(base)}")
    if report.get("floor"):
        from tfbig.reports.floor import floor_lines

        print("\nthe floor (the baseline above):\n" + "\n".join(floor_lines(report)))


def register(sub) -> None:
    p = sub.add_parser("train", help="fine-tune a classifier, evaluate it, export a SavedModel")
    add_config_args(p)
    p.add_argument("--seeds", default=None, metavar="0,1,2",
                   help="run once per seed, one after another, each in <run_dir>/seed_<n>/, then write "
                        "seeds_summary.json and .md (mean ± sample std of every metric) in <run_dir>")
    p.set_defaults(func=run)


def run(args) -> int:
    from tfbig.config import load_config
    from tfbig.jobs.train_job import train_run

    cfg = load_config(args.config, args.set)
    if getattr(args, "seeds", None):
        return run_seeds(cfg, args.seeds)
    report = train_run(cfg)
    print(f"\nrun folder: {cfg.run_dir}")
    print(f"TensorBoard: tensorboard --logdir {cfg.run_dir}/logs")
    print_test_report(report, cfg.name)
    print(f"\nexported: {report['export']}")
    return 0


def run_seeds(cfg, seeds_text: str) -> int:
    from tfbig.jobs.seeds import parse_seeds, seeds_run
    from tfbig.reports.seeds import format_seeds

    summary = seeds_run(cfg, parse_seeds(seeds_text))
    print(f"\n{len(summary['seeds'])} seeds, run folders under {cfg.run_dir}/ (seed_<n>), mean ± sample std:")
    print(format_seeds(summary))
    print(f"\nsummary: {summary['path']} (and seeds_summary.md)")
    return 0
