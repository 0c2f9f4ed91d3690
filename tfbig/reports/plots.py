"""Report figures as PNG bytes: the confusion matrix and a per-class precision/recall/F1 bar chart."""
import io

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    _pyplot().close(fig)
    return buf.getvalue()


def confusion_matrix_png(matrix, labels: list, title: str = "Confusion matrix") -> bytes:
    """The matrix (rows: true, columns: predicted) with the count in each cell."""
    plt = _pyplot()
    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(1.2 * len(labels) + 2, 1.0 * len(labels) + 1.5))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            text = f"{m[i, j]:g}"
            ax.text(j, i, text, ha="center", va="center", color="white" if m[i, j] > m.max() / 2 else "black")
    fig.tight_layout()
    return _png(fig)


def per_class_png(report: dict, title: str = "Per-class precision, recall and F1") -> bytes:
    """Grouped bars of precision, recall and F1 for each class of a `classification_report` dict."""
    plt = _pyplot()
    names = list(report["per_class"])
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(names) + 2), 4.5))
    for k, key in enumerate(("precision", "recall", "f1")):
        values = [report["per_class"][n][key] for n in names]
        bars = ax.bar(x + (k - 1) * 0.27, values, width=0.27, label=key)
        ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
    ax.axhline(report["macro"]["f1"], color="gray", linestyle="--", linewidth=1,
               label=f"macro-F1 {report['macro']['f1']:.3f}")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylim(0, 1.1)
    ax.set_title(title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=4, fontsize=8, frameon=False)
    fig.tight_layout()
    return _png(fig)
