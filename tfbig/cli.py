"""The `tfbig` command line: train | distill | evaluate | export | predict | serve | shard | spark-shard | doctor |
completion."""
import argparse
import importlib
import sys

from tfbig import __version__
from tfbig.errors import UserError

# Each name is a module of tfbig.commands with register(subparsers).
COMMANDS = [
    "train",
    "distill",
    "spark_shard",
    "evaluate",
    "shard",
    "export",
    "predict",
    "serve",
    "doctor",
    "completion",
    "plan",
]
COMMANDS += ["pretrain"]  # masked-language pretraining (tfbig.jobs.pretrain_job)


def build_parser() -> argparse.ArgumentParser:
    from tfbig.commands.help import DefaultsFormatter, show_every_default

    parser = argparse.ArgumentParser(prog="tfbig", formatter_class=DefaultsFormatter,
                                     description="Train, distil, export and serve BERT classifiers.")
    parser.add_argument("--version", action="version", version=f"tfbig {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="everything every library logs, TensorFlow's C++ lines too (as TFBIG_LOG=debug)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"tfbig.commands.{name}").register(sub)
    for command in sub.choices.values():
        show_every_default(command)
    parser.set_defaults(root_parser=parser)  # for `tfbig completion`, which describes the whole parser
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    from tfbig.logs import configure_logging, debug_logging, debug_mode

    if args.verbose:  # in time: the commands import TensorFlow lazily, after this
        debug_mode()

    configure_logging(verbose=debug_logging())
    try:
        return args.func(args)
    except UserError as e:
        print(f"tfbig: error: {e}", file=sys.stderr)
        return getattr(e, "exit_status", 2)


if __name__ == "__main__":
    sys.exit(main())
