"""`tfbig predict`: an exported SavedModel's answer per text, the task's way (no run folder, no transformers).

One line per text: classification the class and every class's probability; regression each target's value;
multilabel the labels at or over their threshold with their probabilities; tagging word/TAG per word; a fill-mask
export the likeliest pieces per [MASK]. A pair export (data.text_pair_column) reads a second text per text."""
import os
import sys


def register(sub) -> None:
    p = sub.add_parser("predict", help="run texts through an exported SavedModel (any task; fill [MASK]s)",
                       description=__doc__)
    p.add_argument("model", help="SavedModel folder: saved_models/NAME (highest version) or one version folder; "
                                 "or a finished run folder (its export)")
    p.add_argument("texts", nargs="*", help="texts to predict for")
    p.add_argument("--file", help="a UTF-8 file with one text per line ('-': stdin); for a pair export each line "
                                  "is TEXT<TAB>PAIR")
    p.add_argument("--pair", action="append", default=[], metavar="TEXT",
                   help="pair exports: the second text (text_pair) of each TEXT argument, once per TEXT, in order")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--top-k", type=int, default=5, help="fill-mask exports (tfbig pretrain): fills shown per [MASK]")
    p.set_defaults(func=run)


def read_texts(args) -> list:
    from tfbig.errors import UserError

    texts = list(args.texts)
    if args.file:
        if args.file == "-":
            texts.extend(line.rstrip("\n") for line in sys.stdin)
        else:
            try:
                with open(args.file, encoding="utf-8") as f:
                    texts.extend(line.rstrip("\n") for line in f)
            except FileNotFoundError:
                raise UserError(f"text file not found: {args.file}") from None
            except UnicodeDecodeError as e:
                raise UserError(f"{args.file}: not UTF-8 (byte {e.start})") from None
    if not texts:
        raise UserError("no texts: give them as arguments or with --file")
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {args.batch_size}")
    return texts


def split_pairs(texts: list, args) -> tuple:
    """(texts, pairs) of a pair export: the arguments with their --pair, the file's TEXT<TAB>PAIR lines."""
    from tfbig.errors import UserError

    n_args = len(args.texts)
    if len(args.pair) != n_args:
        raise UserError(f"text_pair: the model reads sentence pairs; give one --pair per TEXT argument "
                        f"({n_args} TEXT, {len(args.pair)} --pair)")
    firsts, pairs = list(texts[:n_args]), list(args.pair)
    for n, line in enumerate(texts[n_args:], start=1):
        if "\t" not in line:
            raise UserError(f"{args.file}, line {n}: text_pair: the model reads sentence pairs, a line is "
                            "TEXT<TAB>PAIR")
        first, second = line.split("\t", 1)
        firsts.append(first)
        pairs.append(second)
    return firsts, pairs


def exported_path(path: str) -> str:
    """A SavedModel folder, or a finished run folder's export (as its report.json names it)."""
    from tfbig.runs.folder import RunFolder

    if RunFolder.is_run_folder(path) and os.path.isfile(RunFolder(path).report_path):
        return RunFolder(path).read_report().get("export") or path
    return path


def print_fills(path: str, texts: list, top_k: int, batch_size: int) -> int:
    from tfbig.errors import UserError
    from tfbig.export.loader import SavedFillMask

    if top_k < 1:
        raise UserError(f"--top-k must be at least 1, got {top_k}")
    for text, masks in zip(texts, SavedFillMask(path).fill(texts, top_k, batch_size)):
        print(text)
        if not masks:
            print("  (no [MASK] in the text)")
        for n, fills in enumerate(masks, start=1):
            print(f"  [MASK] {n}: " + "  ".join(f"{token} {score:.4f}" for token, score in fills))
    return 0


def run(args) -> int:
    from tfbig.errors import UserError
    from tfbig.export.loader import SavedTaskModel, export_task

    texts = read_texts(args)
    path = exported_path(args.model)
    if export_task(path) == "mlm":
        return print_fills(path, texts, args.top_k, args.batch_size)
    model = SavedTaskModel(path)
    pairs = None
    if model.takes_pairs:
        texts, pairs = split_pairs(texts, args)
    elif args.pair:
        raise UserError("--pair: the model reads one text per request, not pairs")
    for n, (text, row) in enumerate(zip(texts, model.rows(texts, pairs, args.batch_size))):
        shown = text if pairs is None else f"{text} | {pairs[n]}"
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        print(f"{model.task.format_prediction(row)}\t{shown}")
    return 0
