"""`tfbig evaluate RUN_DIR|SAVED_MODEL --data PATH`: report.json, report.md and plots for labelled data."""
import os


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="score a run folder or a SavedModel on labelled data; write a report")
    p.add_argument("model", metavar="RUN_DIR|SAVED_MODEL",
                   help="a run folder (runs/NAME) or a SavedModel (a version folder or its parent)")
    p.add_argument("--data", help="labelled data: folder per class, .csv/.tsv/.jsonl; default for a run folder: "
                                  "its own test split")
    p.add_argument("--format", default="auto", help="auto | folder | csv | tsv | jsonl")
    p.add_argument("--text-column", default="text")
    p.add_argument("--label-column", default="label")
    p.add_argument("--out", help="output folder (default: RUN_DIR/evaluation, or ./evaluation for a SavedModel)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="texts per batch (default: the run's data.batch_size; 64 for a SavedModel)")
    p.set_defaults(func=run)


def run(args) -> int:
    from tfbig.evaluate.evaluation import evaluate_path
    from tfbig.reports.classification import format_report

    result = evaluate_path(args.model, args.data, out=args.out, data_format=args.format,
                           text_column=args.text_column, label_column=args.label_column, batch_size=args.batch_size)
    print(format_report(result["report"]))
    print(f"\nreport: {os.path.join(result['out'], 'report.md')}")
    return 0
