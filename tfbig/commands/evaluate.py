"""`tfbig evaluate RUN_DIR|SAVED_MODEL --data PATH`: report.json, report.md and plots for labelled data.

Any task the run trained: the data is read by the task's own reader with the run's config (a run folder's
config.yaml, an export's assets/config.yaml), so --data is a file like the one the run trained on; the report and
plots are the task's (classification: confusion matrix and per-class scores; regression: a scatter; multilabel:
per-label scores; tagging: the tag confusion matrix)."""
import os


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="score a run folder or a SavedModel on labelled data; write a report",
                       description=__doc__)
    p.add_argument("model", metavar="RUN_DIR|SAVED_MODEL",
                   help="a run folder (runs/NAME) or a SavedModel (a version folder or its parent)")
    p.add_argument("--data", help="labelled data: folder per class, .csv/.tsv/.jsonl; default for a run folder: "
                                  "its own test split")
    p.add_argument("--format", default="auto", help="auto | folder | csv | tsv | jsonl")
    p.add_argument("--text-column", default=None, help="default: text (classification), else the run's")
    p.add_argument("--label-column", default=None,
                   help="default: label (classification), else the run's (regression: names joined by commas)")
    p.add_argument("--out", help="output folder (default: RUN_DIR/evaluation, or ./evaluation for a SavedModel)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="texts per batch (default: the run's data.batch_size; 64 for a SavedModel)")
    p.set_defaults(func=run)


def run(args) -> int:
    from tfbig.evaluate.evaluation import evaluate_path

    result = evaluate_path(args.model, args.data, out=args.out, data_format=args.format,
                           text_column=args.text_column, label_column=args.label_column, batch_size=args.batch_size)
    print(result["text"])
    print(f"\nreport: {os.path.join(result['out'], 'report.md')}")
    return 0
