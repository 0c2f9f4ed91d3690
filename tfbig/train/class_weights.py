"""`train.class_weights`: per-class loss weights from the training split, so a rare class counts as much as
a frequent one in the objective (the objective is Σ w·loss / Σ w, w the example's class weight)."""
import numpy as np

from tfbig.errors import UserError


def balanced_class_weights(class_ids, num_classes: int) -> list:
    """n / (C·count_c) for each class c of `num_classes`: 1 for every class when the split is balanced, and
    the weights times the counts sum to n (scikit-learn's "balanced"). A class absent from the split gets 0.

    >>> balanced_class_weights([0, 0, 0, 0, 0, 0, 1, 1, 2], 3)
    [0.5, 1.5, 3.0]
    """
    ids = np.asarray(class_ids, np.int64).reshape(-1)
    counts = np.bincount(ids, minlength=int(num_classes)).astype(np.float64)
    n = float(len(ids))
    return [n / (num_classes * c) if c else 0.0 for c in counts]


def set_class_weights(task, train_split, mode: str) -> dict | None:
    """Gives `task` the class weights `train.class_weights` asks for; returns {label: weight} for the report,
    or None for "none"."""
    if mode == "none":
        task.class_weights = None
        return None
    labels = getattr(train_split, "labels", None)
    if labels is None or not task.labels:
        raise UserError(f"train.class_weights {mode} needs the training labels in memory and a class vocabulary "
                        f"(task '{task.name}', data streamed from shards has neither); set train.class_weights=none")
    ids = task.encode(list(labels))
    if ids.ndim != 1:
        raise UserError(f"train.class_weights {mode}: task '{task.name}' has no single class per example")
    task.class_weights = balanced_class_weights(ids, len(task.labels))
    return {str(label): round(w, 6) for label, w in zip(task.labels, task.class_weights)}
