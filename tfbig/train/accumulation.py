"""Gradient accumulation: one optimizer step over a batch processed as `steps` micro-batches, one at a time.

The input pipeline yields batches of `steps × data.batch_size`; only one micro-batch's activations are alive
at a time (the loop runs its iterations strictly in sequence), so the effective batch can be larger than
memory allows. Each micro-batch's objective is weighted by its share of the batch, n_i / n: its
cross-entropy term `Σ ce_i / (n_i·R)` becomes `Σ ce_i / (n·R)` (the full batch's average, R replicas) and the
penalty term adds up to exactly one penalty. With equal micro-batches that weight is 1/steps. Summed
gradients therefore equal those of one step on the whole batch.
"""
from tfbig._keras import tf


def _dense(grad, variable):
    if grad is None:
        return tf.zeros_like(variable)
    return tf.convert_to_tensor(grad)  # embedding gradients arrive as IndexedSlices


def accumulated_gradients(model, x, y, steps: int):
    """Returns (gradients, logits, per-example CE) of `model.compute_objective` over `steps` micro-batches.

    model: a model with `compute_objective(x, y, training)` returning (loss, logits, per_example, l2, l1)
        and an optimizer (mixed-precision loss scaling is applied per micro-batch and undone on the sum).
    x: dict of (B, T) tensors. y: (B,) labels. steps: int ≥ 1; the last micro-batch may be smaller.
    """
    optimizer = model.optimizer
    variables = model.trainable_variables
    n = tf.shape(y)[0]
    size = (n + steps - 1) // steps
    count = (n + size - 1) // size  # micro-batches actually present: fewer than `steps` for a small last batch

    def body(i, grads, logits_ta, per_example_ta):
        start = i * size
        stop = tf.minimum(start + size, n)
        x_i = tf.nest.map_structure(lambda t: t[start:stop], x)
        weight = tf.cast(stop - start, tf.float32) / tf.cast(n, tf.float32)
        with tf.GradientTape() as tape:
            loss, logits, per_example, _, _ = model.compute_objective(x_i, y[start:stop], training=True)
            loss = loss * weight
            if hasattr(optimizer, "get_scaled_loss"):
                loss = optimizer.get_scaled_loss(loss)
        new = tape.gradient(loss, variables)
        grads = [g + _dense(d, v) for g, d, v in zip(grads, new, variables)]
        return i + 1, grads, logits_ta.write(i, logits), per_example_ta.write(i, per_example)

    zeros = [tf.zeros_like(v) for v in variables]
    logits_ta = tf.TensorArray(tf.float32, size=count, infer_shape=False)
    per_example_ta = tf.TensorArray(tf.float32, size=count, infer_shape=False)
    _, grads, logits_ta, per_example_ta = tf.while_loop(
        lambda i, *_: i < count, body, [tf.constant(0), zeros, logits_ta, per_example_ta],
        parallel_iterations=1)  # one micro-batch in memory at a time, RNG draws in order
    if hasattr(optimizer, "get_unscaled_gradients"):
        grads = optimizer.get_unscaled_gradients(grads)
    return grads, logits_ta.concat(), per_example_ta.concat()
