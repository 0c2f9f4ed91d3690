"""Classification report (scikit-learn metrics) and its plots."""
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support


def classification_report(y_true, y_pred, labels: list) -> dict:
    """Accuracy, macro and per-class precision/recall/F1, and the confusion matrix (rows: true, cols: predicted)."""
    ids = list(range(len(labels)))
    predicted = set(int(i) for i in y_pred)
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=ids, zero_division=0)
    mp, mr, mf, _ = precision_recall_fscore_support(y_true, y_pred, labels=ids, average="macro", zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro": {"precision": float(mp), "recall": float(mr), "f1": float(mf)},
        "per_class": {
            name: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(s[i])}
            for i, name in enumerate(labels)
        },
        "labels": list(labels),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
        "num_examples": int(len(y_true)),
        "never_predicted": [name for i, name in enumerate(labels) if i not in predicted],  # collapsed predictions
    }


def plot_confusion_matrix(matrix, labels: list, path: str, title: str = "Confusion matrix") -> None:
    """Writes the confusion matrix as a PNG with counts in the cells."""
    from tfbig.reports.plots import confusion_matrix_png
    from tfbig.io_utils import atomic_write_bytes

    atomic_write_bytes(path, confusion_matrix_png(matrix, labels, title))


def format_report(report: dict) -> str:
    """A short text table for the terminal."""
    lines = [f"accuracy {report['accuracy']:.4f}   macro-F1 {report['macro']['f1']:.4f}   "
             f"(n={report['num_examples']})", f"{'class':<16}{'precision':>10}{'recall':>10}{'f1':>10}{'support':>9}"]
    for name, m in report["per_class"].items():
        lines.append(f"{name:<16}{m['precision']:>10.4f}{m['recall']:>10.4f}{m['f1']:>10.4f}{m['support']:>9d}")
    if report.get("never_predicted"):
        lines.append(f"never predicted: {', '.join(report['never_predicted'])}")
    return "\n".join(lines)
