"""Loss averaging that is exact across replicas, even when a batch does not split evenly."""
from tfbig._keras import tf


def global_batch_size(per_example_loss):
    """Number of examples in the global batch: summed over replicas, so unequal shares (a batch of 3 on
    2 replicas: 2 and 1) still divide by 3. tf.nn.compute_average_loss alone assumes equal shares
    (local size × replicas) and would divide by 4 and 2 here."""
    n = tf.cast(tf.shape(per_example_loss)[0], tf.float32)
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync == 1:
        return n
    return ctx.all_reduce(tf.distribute.ReduceOp.SUM, n)


def average_loss(per_example_loss):
    """Σ loss on this replica ÷ the global batch size: the replicas' gradients sum to the global mean's."""
    per_example_loss = tf.cast(per_example_loss, tf.float32)
    return tf.math.divide_no_nan(tf.reduce_sum(per_example_loss), global_batch_size(per_example_loss))


def weighted_average_loss(values, weights):
    """Σ values·weights on this replica ÷ Σ weights over the global batch.

    values, weights: tensors of one shape, (B,) per example or (B, T) per token (weights 0 mask a position).
    A replica holding fewer labelled positions weighs exactly its share, as on one device.
    """
    values = tf.cast(values, tf.float32)
    weights = tf.cast(weights, tf.float32)
    total = tf.reduce_sum(weights)
    ctx = tf.distribute.get_replica_context()
    if ctx is not None and ctx.num_replicas_in_sync > 1:
        total = ctx.all_reduce(tf.distribute.ReduceOp.SUM, total)
    return tf.math.divide_no_nan(tf.reduce_sum(values * weights), total)
