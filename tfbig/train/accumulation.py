"""Gradient accumulation: one optimizer step over a batch processed as `steps` micro-batches, one at a time.

The input pipeline yields batches of `steps × data.batch_size`; each micro-batch waits (control dependency)
for the previous one's gradients, so only one micro-batch's activations are alive at a time and the
effective batch can be larger than memory allows. The loop is unrolled (`steps` is a Python int): no
while-loop, so a strategy's all-reduce inside the objective stays legal.

Scaling: micro-batch i's objective is weighted by N_i / N, its share of the global batch (examples summed
over replicas). Its cross-entropy term `Σ ce / N_i` (the objective's global-batch average) becomes
`Σ ce / N`, and the penalty terms add up to exactly one penalty; with equal micro-batches the weight is
1/steps. Summed gradients therefore equal those of one step on the whole batch.
"""
from tfbig._keras import tf


def _dense(grad, variable):
    if grad is None:
        return tf.zeros_like(variable)
    return tf.convert_to_tensor(grad)  # embedding gradients arrive as IndexedSlices


def _summed_over_replicas(values):
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return values
    return ctx.all_reduce(tf.distribute.ReduceOp.SUM, values)


def accumulated_gradients(model, x, y, steps: int):
    """Returns (gradients, objective) of `model.compute_objective` over `steps` micro-batches.

    model: an ObjectiveModel (`compute_objective(x, y, training)` → dict with "loss", `loss_weights(y)`,
        `learned_variables()`) with an optimizer (mixed-precision loss scaling is applied per micro-batch
        and undone on the sum).
    x: dict of (B, T) tensors. y: (B, ...) targets (or a tuple of them). steps: int ≥ 1. Micro-batches hold
        ⌈B/steps⌉ examples; the last ones may be smaller or empty (an empty one contributes nothing).
    The returned objective concatenates the micro-batches' per-example entries (what metrics read) and
    sums the scalars' shares.
    """
    optimizer = model.optimizer
    variables = model.learned_variables()
    n = tf.shape(x["input_ids"])[0]
    size = (n + steps - 1) // steps
    bounds = [(tf.minimum(i * size, n), tf.minimum((i + 1) * size, n)) for i in range(steps)]

    # A micro-batch's share is its part of the global batch's loss weight (examples, or labelled tokens).
    local = tf.stack([tf.reduce_sum(model.loss_weights(tf.nest.map_structure(lambda t: t[a:b], y)))
                      for a, b in bounds])  # (steps,)
    shares = _summed_over_replicas(local)
    shares = tf.math.divide_no_nan(shares, tf.reduce_sum(shares))
    grads, parts = None, []
    for i, (start, stop) in enumerate(bounds):
        with tf.control_dependencies(grads or []):  # micro-batch i starts after i-1's backward pass
            x_i = tf.nest.map_structure(lambda t: tf.identity(t[start:stop]), x)
            y_i = tf.nest.map_structure(lambda t: tf.identity(t[start:stop]), y)
        with tf.GradientTape() as tape:
            objective = model.compute_objective(x_i, y_i, training=True)
            loss = tf.where(local[i] > 0, objective["loss"] * shares[i], 0.0)
            if hasattr(optimizer, "get_scaled_loss"):
                loss = optimizer.get_scaled_loss(loss)
        new = [_dense(g, v) for g, v in zip(tape.gradient(loss, variables), variables)]
        grads = new if grads is None else [a + b for a, b in zip(grads, new)]
        parts.append(objective)
    if hasattr(optimizer, "get_unscaled_gradients"):
        grads = optimizer.get_unscaled_gradients(grads)
    return grads, _joined(parts)


def _joined(parts: list) -> dict:
    """One objective dict from the micro-batches': batch-shaped entries concatenated, scalars from the last
    (the penalty terms, which depend on the weights only). "loss" is left out: the gradients carry it."""
    out = {}
    for key, last in parts[-1].items():
        if key == "loss":
            continue
        out[key] = tf.concat([p[key] for p in parts], 0) if last.shape.rank else last
    return out
