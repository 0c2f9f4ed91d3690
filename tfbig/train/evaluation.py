"""A model's outputs and report on one split, in input order, through the task."""
import numpy as np

from tfbig._keras import tf
from tfbig.data.pipeline import make_dataset
from tfbig.tasks.registry import as_task


def predict_outputs(model, texts, tokenizer, batch_size: int) -> np.ndarray:
    """The model's outputs for `texts`, in input order (no bucketing, which would reorder)."""
    from tfbig.progress import progress

    ds = make_dataset(texts, None, tokenizer, batch_size, bucketing=False)
    batches = progress(ds, desc="predicting", total=-(-len(texts) // batch_size), unit="batch")
    # Not predict_on_batch: with steps_per_execution > 1 it reads that many batches from a one-batch iterator.
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    return np.concatenate([forward(x).numpy() for x, _ in batches], axis=0) if len(texts) else np.zeros((0,))


def split_outputs(model, split, task, tokenizer, batch_size: int):
    """(encoded targets, outputs) of a split: in-memory Examples or a ShardSplit read from its files."""
    from tfbig.progress import progress

    predicted, true = [], []
    forward = tf.function(lambda x: model(x, training=False), reduce_retracing=True)
    batches = as_task(task).split_dataset(split, tokenizer, batch_size, bucketing=False)
    total = -(-len(split) // batch_size) if hasattr(split, "__len__") else None
    for x, y in progress(batches, desc="evaluating", total=total, unit="batch"):
        predicted.append(forward(x).numpy())
        true.append(y.numpy())
    if not true:
        return np.zeros((0,)), np.zeros((0,))
    return _concat_padded(true, -100), _concat_padded(predicted, 0.0)


def _concat_padded(batches: list, value) -> np.ndarray:
    """Batches concatenated on axis 0, each padded on axis 1 to the longest first (per-token outputs (B, T, ...)
    of batches with their own T; per-example ones pass through). value: the padding (-100: an unlabelled token)."""
    if batches[0].ndim < 2 or len({b.shape[1] for b in batches}) == 1:
        return np.concatenate(batches)
    width = max(b.shape[1] for b in batches)
    return np.concatenate([np.pad(b, [(0, 0), (0, width - b.shape[1])] + [(0, 0)] * (b.ndim - 2),
                                  constant_values=value) for b in batches])


def evaluate_split(model, split, task_or_labels, tokenizer, batch_size: int) -> dict:
    """The task's report on a split (task_or_labels: a Task, or class names for classification)."""
    task = as_task(task_or_labels)
    y_true, outputs = split_outputs(model, split, task, tokenizer, batch_size)
    return task.report(y_true, outputs)
