"""Teacher-logit caching: run the teachers once over the training set and carry their logits with the data.

A distillation epoch then costs the student's forward and backward pass only. The cache is valid only while
the inputs repeat exactly: with augmented (changing) texts, run the teacher live (`cache_teacher_logits: false`).
"""
import logging
import time

import numpy as np

from tfbig._keras import tf
from tfbig.data.pairs import is_pair_texts, make_pair_dataset
from tfbig.data.pipeline import make_dataset

log = logging.getLogger(__name__)


def compute_teacher_logits(teachers, texts, tokenizer, batch_size: int) -> np.ndarray:
    """Logits of every text in input order: (N, C) for one teacher, (N, K, C) for a list of K.

    Batches are bucketed by length (less padding) and carry each text's index, so order is restored. `texts`
    may be the (a, b) tuples of a pair split: each is then tokenized as one two-segment input.
    """
    many = isinstance(teachers, (list, tuple))
    teachers = list(teachers) if many else [teachers]
    ds = (make_pair_dataset if is_pair_texts(texts) else make_dataset)(texts, list(range(len(texts))), tokenizer, batch_size,
                                                         bucketing=True)
    forward = tf.function(lambda x: tf.stack([t(x, training=False) for t in teachers], axis=1),
                          reduce_retracing=True)
    out = None
    start = time.time()
    for x, index in ds:
        logits = forward(x).numpy()  # (B, K, C)
        if out is None:
            out = np.zeros((len(texts),) + logits.shape[1:], np.float32)
        out[index.numpy()] = logits
    log.info("teacher logits for %d texts in %.1f s", len(texts), time.time() - start)
    if out is None:
        out = np.zeros((0, len(teachers), 0), np.float32)
    return out if many else out[:, 0]


def with_teacher_logits(texts, label_ids, logits: np.ndarray, tokenizer, batch_size: int, shuffle: bool = False,
                        seed: int = 0, bucketing: bool = True, static_shapes: bool = False):
    """The pipeline of `make_dataset` yielding (features, (label, teacher_logits)) batches.

    The pipeline carries each example's index instead of its label and looks both up after batching, so
    shuffling and length bucketing keep every example with its own label and logits.
    """
    if len(logits) != len(texts) or len(label_ids) != len(texts):
        raise ValueError(f"{len(texts)} texts, {len(label_ids)} labels and {len(logits)} logit rows must match")
    labels_table = tf.constant(list(label_ids), tf.int32)
    logits_table = tf.constant(np.asarray(logits, np.float32))
    ds = make_dataset(texts, list(range(len(texts))), tokenizer, batch_size, shuffle=shuffle, seed=seed,
                      bucketing=bucketing, static_shapes=static_shapes)
    ds = ds.map(lambda x, i: (x, (tf.gather(labels_table, i), tf.gather(logits_table, i))),
                num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
