"""The `tfbig` command line: train | distill | evaluate | export | predict | serve | shard ..."""
import argparse
import importlib
import logging
import sys

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
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tfbig", description="Train, distil, export and serve BERT classifiers.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log at INFO level from every library")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        importlib.import_module(f"tfbig.commands.{name}").register(sub)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("tfbig").setLevel(logging.INFO)
    try:
        return args.func(args)
    except UserError as e:
        print(f"tfbig: error: {e}", file=sys.stderr)
        return getattr(e, "exit_status", 2)


if __name__ == "__main__":
    sys.exit(main())
