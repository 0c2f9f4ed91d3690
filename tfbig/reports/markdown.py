"""A readable report.md from a `classification_report` dict."""
from tfbig.reports.floor import floor_markdown


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def report_markdown(report: dict, title: str, details: dict | None = None, images: dict | None = None) -> str:
    """Markdown: summary table, per-class table, confusion matrix (rows: true), and image links.

    details: dict of {name: value} listed under the title (model, data, ...).
    images: dict of {caption: relative path}.
    """
    lines = [f"# {title}", ""]
    for key, value in (details or {}).items():
        lines.append(f"- **{key}**: {value}")
    m = report["macro"]
    lines += ["", _row(["examples", "accuracy", "macro precision", "macro recall", "macro F1"]),
              _row(["---:"] * 5),
              _row([report["num_examples"], f"{report['accuracy']:.4f}", f"{m['precision']:.4f}",
                    f"{m['recall']:.4f}", f"{m['f1']:.4f}"]),
              "", "## Per class", "", _row(["class", "precision", "recall", "F1", "support"]),
              _row(["---", "---:", "---:", "---:", "---:"])]
    for name, c in report["per_class"].items():
        lines.append(_row([name, f"{c['precision']:.4f}", f"{c['recall']:.4f}", f"{c['f1']:.4f}", c["support"]]))
    if report.get("never_predicted"):
        lines += ["", f"Never predicted on this split: {', '.join(report['never_predicted'])}."]
    lines += floor_markdown(report)
    labels = report["labels"]
    lines += ["", "## Confusion matrix", "", "Rows: true class; columns: predicted class.", "",
              _row(["true \\ predicted"] + labels), _row(["---"] + ["---:"] * len(labels))]
    for name, counts in zip(labels, report["confusion_matrix"]):
        lines.append(_row([f"**{name}**"] + counts))
    for caption, path in (images or {}).items():
        lines += ["", f"![{caption}]({path})"]
    return "\n".join(lines) + "\n"
