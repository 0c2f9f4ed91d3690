"""The floor every run must beat: the model's metrics beside a cheap baseline's, and when the model loses, a
warning line with the likely cause read from the run itself (its validation curve, its classes, its
predictions)."""
from collections import Counter

FEW_EXAMPLES = 10  # a class with fewer training examples than this is named as a likely cause


def compare_to_floor(model: dict, floor: dict) -> dict:
    """{metric: {model, floor, beats}} for the metrics both sides have; `beats` is model ≥ floor (a tie is not
    a loss: on a small test split both sides often land on the same count of correct examples)."""
    return {name: {"model": float(model[name]), "floor": float(floor[name]),
                   "beats": float(model[name]) >= float(floor[name])} for name in model if name in floor}


def floor_lines(report: dict) -> list:
    """Lines "accuracy 0.9812 vs floor 0.9788: beats" for the terminal and report.md."""
    return [f"{name} {m['model']:.4f} vs floor {m['floor']:.4f}: {'beats' if m['beats'] else 'BELOW THE FLOOR'}"
            for name, m in (report.get("floor") or {}).items()]


def floor_markdown(report: dict) -> list:
    """report.md's "The floor" section (a table of metric, model, floor, beats); [] when the run has no floor."""
    if not report.get("floor"):
        return []
    baseline = report.get("baseline") or {}
    base = baseline.get("model") or baseline.get("name") or "baseline"
    lines = ["", "## The floor", "", f"The same split scored by {base}; the model must match or beat it.", "",
             "| metric | model | floor | beats |", "| --- | ---: | ---: | --- |"]
    for name, f in report["floor"].items():
        lines.append(f"| {name} | {f['model']:.4f} | {f['floor']:.4f} | {'yes' if f['beats'] else '**no**'} |")
    return lines


def class_counts(labels) -> dict:
    """{label: count} of a split's targets when each is one hashable label (classification), else {}."""
    if not labels or not all(isinstance(label, (str, int)) for label in labels):
        return {}
    return dict(Counter(labels))


def _still_falling(history: dict) -> str:
    losses = [float(v) for v in (history or {}).get("val_loss", [])]
    if len(losses) >= 2 and losses[-1] < losses[-2] and losses[-1] <= min(losses):
        shown = " → ".join(f"{v:.3f}" for v in losses[-3:])
        return (f"validation loss was still falling when training stopped ({shown}): train longer (raise "
                "train.min_steps, or set train.epochs)")
    return ""


def _few_examples(train_counts: dict) -> str:
    few = sorted((n, str(label)) for label, n in (train_counts or {}).items() if n < FEW_EXAMPLES)
    if not few:
        return ""
    named = ", ".join(f"{label} ({n})" for n, label in few[:5]) + (f" and {len(few) - 5} more" if len(few) > 5 else "")
    return (f"{len(few)} class(es) have fewer than {FEW_EXAMPLES} training examples: {named} (more data for "
            "them, or train.class_weights=balanced)")


def never_predicted(report: dict) -> list:
    """The classes of a classification report that the model never predicted on the test split, though the
    split has examples of them (a column of zeros in the confusion matrix, a row that is not)."""
    matrix, labels = report.get("confusion_matrix"), report.get("labels")
    if not matrix or not labels:
        return []
    columns = [sum(row[j] for row in matrix) for j in range(len(labels))]
    return [labels[j] for j in range(len(labels)) if columns[j] == 0 and sum(matrix[j]) > 0]


def _collapsed(report: dict) -> str:
    missing = never_predicted(report)
    if not missing:
        return ""
    labels = report["labels"]
    named = ", ".join(map(str, missing[:8])) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
    return (f"predictions collapsed onto {len(labels) - len(missing)} of {len(labels)} classes; never predicted: "
            f"{named} (try train.class_weights=balanced, or train longer)")


def floor_check(report: dict, history: dict | None = None, train_counts: dict | None = None) -> str | None:
    """None when the model beats its floor on every metric of `report["floor"]`; else one warning line naming
    the metrics it lost on and the likely causes found in the run.

    history: dict. The fit history ({"val_loss": [per epoch], ...}), or None.
    train_counts: dict. {class: training examples} (`class_counts` of the training split), or None.
    """
    floor = report.get("floor") or {}
    lost = {name: m for name, m in floor.items() if not m["beats"]}
    if not lost:
        return None
    what = ", ".join(f"{name} {m['model']:.4f} < {m['floor']:.4f}" for name, m in lost.items())
    baseline = (report.get("baseline") or {}).get("model", "the baseline")
    causes = [c for c in (_still_falling(history), _few_examples(train_counts), _collapsed(report)) if c]
    cause = "; ".join(causes) if causes else "no cause stands out in the run (try train.class_weights=balanced, " \
                                             "another train.learning_rate or more data)"
    return f"the model does not beat its floor ({baseline}) on the test split: {what}. Likely cause: {cause}"
