"""A regression's report: Pearson, Spearman, MAE and RMSE per target, and a predicted-vs-true scatter plot."""
import numpy as np

from tfbig.reports.floor import floor_markdown

MAX_POINTS = 2000  # scatter points kept in report.json per target (an even sample of the test split)


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / denominator) if denominator > 0 else 0.0


def _ranks(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    return rankdata(x)  # ties share their mean rank, as Spearman's rho needs


def regression_report(y_true, predicted, names: list) -> dict:
    """Per target and averaged over targets: pearson, spearman, mae, rmse; `points` for the scatter plot.

    y_true, predicted: (N, K) arrays in the targets' own units. names: the K target names.
    """
    y = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    p = np.asarray(predicted, np.float64).reshape(len(predicted), -1)
    per_target, points = {}, {}
    step = max(1, -(-len(y) // MAX_POINTS))
    for k, name in enumerate(names):
        err = p[:, k] - y[:, k]
        per_target[name] = {
            "pearson": _pearson(y[:, k], p[:, k]) if len(y) > 1 else 0.0,
            "spearman": _pearson(_ranks(y[:, k]), _ranks(p[:, k])) if len(y) > 1 else 0.0,
            "mae": float(np.abs(err).mean()) if len(y) else 0.0,
            "rmse": float(np.sqrt((err**2).mean())) if len(y) else 0.0,
        }
        points[name] = {"true": np.round(y[::step, k], 4).tolist(), "predicted": np.round(p[::step, k], 4).tolist()}
    report = {key: float(np.mean([m[key] for m in per_target.values()])) for key in ("pearson", "spearman", "mae", "rmse")}
    report.update({"num_examples": int(len(y)), "per_target": per_target, "points": points})
    return report


def format_report(report: dict) -> str:
    lines = [f"pearson {report['pearson']:.4f}  spearman {report['spearman']:.4f}  mae {report['mae']:.4f}  "
             f"rmse {report['rmse']:.4f}  ({report['num_examples']} examples)"]
    if len(report["per_target"]) > 1:
        lines += [f"  {name}: pearson {m['pearson']:.4f}  spearman {m['spearman']:.4f}  mae {m['mae']:.4f}  "
                  f"rmse {m['rmse']:.4f}" for name, m in report["per_target"].items()]
    return "\n".join(lines)


def report_markdown(report: dict, title: str, details: dict, images: dict) -> str:
    lines = [f"# {title}", ""] + [f"- **{k}**: {v}" for k, v in details.items()] + ["", f"{report['num_examples']} examples.", ""]
    lines += ["| target | Pearson | Spearman | MAE | RMSE |", "|---|---|---|---|---|"]
    lines += [f"| {name} | {m['pearson']:.4f} | {m['spearman']:.4f} | {m['mae']:.4f} | {m['rmse']:.4f} |"
              for name, m in report["per_target"].items()]
    lines += floor_markdown(report)
    lines += [f"\n![{caption}]({path})" for caption, path in images.items()]
    return "\n".join(lines) + "\n"


def scatter_png(points: dict, title: str = "test split") -> bytes:
    """One panel per target: predicted against true, with the y = x line."""
    from tfbig.reports.plots import _png, _pyplot

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(points), figsize=(4.5 * len(points), 4.5), squeeze=False)
    for ax, (name, pts) in zip(axes[0], points.items()):
        t, p = np.asarray(pts["true"]), np.asarray(pts["predicted"])
        ax.scatter(t, p, s=6, alpha=0.4)
        if len(t):
            lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
            ax.plot([lo, hi], [lo, hi], color="gray", linewidth=1)
        ax.set_xlabel(f"true {name}")
        ax.set_ylabel(f"predicted {name}")
        ax.set_title(f"{name}, {title}")
    fig.tight_layout()
    return _png(fig)


def ridge_baseline(train_texts, train_y, test_texts, test_y, names: list, seed: int = 0) -> dict:
    """TF-IDF + ridge regression (one per target) on the same split: the floor a fine-tuned encoder must beat."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    model = make_pipeline(TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=1),
                          Ridge(alpha=1.0, random_state=seed))
    model.fit(train_texts, np.asarray(train_y, np.float64))
    predicted = np.asarray(model.predict(test_texts)).reshape(len(test_texts), -1)
    report = regression_report(test_y, predicted, names)
    report.pop("points")
    return {"model": "TF-IDF + ridge", **report}
