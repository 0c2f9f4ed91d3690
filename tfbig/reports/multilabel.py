"""A multi-label report: micro/macro/sample F1, subset accuracy, per-label P/R/F1; thresholds tuned per label."""
import numpy as np

from tfbig.reports.floor import floor_markdown

# Candidate thresholds tried per label on the validation split.
GRID = np.round(np.arange(0.05, 0.951, 0.05), 2)


def tune_thresholds(y_true, probabilities, default: float = 0.5) -> list:
    """The per-label threshold of GRID with the best F1 on (y_true, probabilities) — validation outputs only.

    A label without positives there keeps `default`; ties go to the threshold nearest `default`.
    """
    y = np.asarray(y_true) > 0.5
    p = np.asarray(probabilities, np.float64)
    out = []
    for k in range(y.shape[1]):
        if not y[:, k].any():
            out.append(default)
            continue
        predicted = p[:, k][:, None] >= GRID[None, :]  # (N, G)
        tp = (predicted & y[:, k][:, None]).sum(0)
        f1 = 2 * tp / np.maximum(predicted.sum(0) + y[:, k].sum(), 1)
        best = np.flatnonzero(f1 == f1.max())
        out.append(float(GRID[best[np.argmin(np.abs(GRID[best] - default))]]))
    return out


def multilabel_report(y_true, predicted, labels: list) -> dict:
    """y_true, predicted: (N, L) 0/1 arrays. Micro/macro/samples F1, subset accuracy, per-label P/R/F1."""
    from sklearn.metrics import f1_score, precision_recall_fscore_support

    y = (np.asarray(y_true) > 0.5).astype(np.int64).reshape(len(y_true), len(labels))
    p = (np.asarray(predicted) > 0.5).astype(np.int64).reshape(len(predicted), len(labels))
    pr, rc, f, s = precision_recall_fscore_support(y, p, average=None, zero_division=0)
    macro = precision_recall_fscore_support(y, p, average="macro", zero_division=0)
    micro = precision_recall_fscore_support(y, p, average="micro", zero_division=0)
    # An example with no true and no predicted label is right (F1 1), as sklearn's zero_division=1 counts it.
    samples = f1_score(y, p, average="samples", zero_division=1) if len(y) else 0.0
    return {
        "micro": {"precision": float(micro[0]), "recall": float(micro[1]), "f1": float(micro[2])},
        "macro": {"precision": float(macro[0]), "recall": float(macro[1]), "f1": float(macro[2])},
        "micro_f1": float(micro[2]), "macro_f1": float(macro[2]),  # flat too: summary_scalars' keys
        "samples_f1": float(samples),
        "subset_accuracy": float((y == p).all(axis=1).mean()) if len(y) else 0.0,
        "per_class": {name: {"precision": float(pr[i]), "recall": float(rc[i]), "f1": float(f[i]), "support": int(s[i])}
                      for i, name in enumerate(labels)},
        "labels": list(labels),
        "num_examples": int(len(y)),
        "empty_label_lists": int((y.sum(axis=1) == 0).sum()),
    }


def format_report(report: dict) -> str:
    return (f"micro-F1 {report['micro']['f1']:.4f}  macro-F1 {report['macro']['f1']:.4f}  samples-F1 "
            f"{report['samples_f1']:.4f}  subset accuracy {report['subset_accuracy']:.4f}  "
            f"({report['num_examples']} examples, {report['empty_label_lists']} without labels)")


def report_markdown(report: dict, title: str, details: dict, images: dict) -> str:
    lines = [f"# {title}", ""] + [f"- **{k}**: {v}" for k, v in details.items()] + ["", format_report(report), ""]
    lines += ["| label | precision | recall | F1 | support | threshold |", "|---|---|---|---|---|---|"]
    thresholds = report.get("thresholds") or [None] * len(report["labels"])
    lines += [f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} | {t} |"
              for (name, m), t in zip(report["per_class"].items(), thresholds)]
    lines += floor_markdown(report)
    lines += [f"\n![{caption}]({path})" for caption, path in images.items()]
    return "\n".join(lines) + "\n"


def one_vs_rest_baseline(train_texts, train_y, test_texts, test_y, labels: list, seed: int = 0) -> dict:
    """TF-IDF + one logistic regression per label (threshold 0.5) on the same split: the floor to beat."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    vectorizer = TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2 if len(train_texts) > 100 else 1)
    x = vectorizer.fit_transform(train_texts)
    y = (np.asarray(train_y) > 0.5).astype(np.int64)
    model = OneVsRestClassifier(LogisticRegression(C=10.0, max_iter=2000, random_state=seed))
    import warnings

    with warnings.catch_warnings():  # a label with no positive example in train is predicted constant
        warnings.simplefilter("ignore", UserWarning)
        model.fit(x, y)
        predicted = model.predict(vectorizer.transform(test_texts))
    return {"model": "TF-IDF + one-vs-rest logistic regression",
            **multilabel_report(test_y, np.asarray(predicted.todense() if hasattr(predicted, "todense") else predicted),
                                labels)}
