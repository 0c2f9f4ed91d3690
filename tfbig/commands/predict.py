"""`tfbig predict`: classify texts with an exported SavedModel only (no run folder, no transformers)."""
import os
import sys


def register(sub) -> None:
    p = sub.add_parser("predict", help="classify texts (or fill [MASK]s) with an exported SavedModel")
    p.add_argument("model", help="SavedModel folder: saved_models/NAME (highest version) or one version folder; "
                                 "or a finished run folder (its export)")
    p.add_argument("texts", nargs="*", help="texts to classify")
    p.add_argument("--file", help="a UTF-8 file with one text per line")
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
    from tfbig.export.loader import SavedClassifier, export_task

    texts = read_texts(args)
    path = exported_path(args.model)
    if export_task(path) == "mlm":
        return print_fills(path, texts, args.top_k, args.batch_size)
    clf = SavedClassifier(path)
    pred = clf.predict(texts, batch_size=args.batch_size)
    for text, label, probs in zip(texts, pred.labels, pred.probabilities):
        shown = text if len(text) <= 60 else text[:57] + "..."
        scores = "  ".join(f"{name} {p:.4f}" for name, p in zip(clf.labels, probs))
        print(f"{label}\t{scores}\t{shown}")
    return 0
