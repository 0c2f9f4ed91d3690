"""`tfbig predict`: classify texts with an exported SavedModel only (no run folder, no transformers)."""
import sys


def register(sub) -> None:
    p = sub.add_parser("predict", help="classify texts with an exported SavedModel")
    p.add_argument("model", help="SavedModel folder: saved_models/NAME (highest version) or one version folder")
    p.add_argument("texts", nargs="*", help="texts to classify")
    p.add_argument("--file", help="a UTF-8 file with one text per line")
    p.add_argument("--batch-size", type=int, default=64)
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


def run(args) -> int:
    from tfbig.export.loader import SavedClassifier

    texts = read_texts(args)
    clf = SavedClassifier(args.model)
    pred = clf.predict(texts, batch_size=args.batch_size)
    for text, label, probs in zip(texts, pred.labels, pred.probabilities):
        shown = text if len(text) <= 60 else text[:57] + "..."
        scores = "  ".join(f"{name} {p:.4f}" for name, p in zip(clf.labels, probs))
        print(f"{label}\t{scores}\t{shown}")
    return 0
