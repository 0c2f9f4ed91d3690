"""Training on the real tokens only: a padded (B, T) batch's residual stream as (n, H) rows of its n real tokens.

Every Dense product, GELU, LayerNorm and dropout of a block is per token, so a padded token costs as much as a
real one and changes nothing a loss reads. `Unpadding` gathers the real tokens' rows once after the embeddings;
the blocks run on those rows, and only attention scatters its queries, keys and values back to (B, T) for the
(B, N, T, T) products. The encoder's outputs are scattered back to (B, T, H), zeros at the padded positions.
`benchmarks/train_step.py --padded` measures the step with and without it.

Not under XLA (jit_compile, TPU): the number of real tokens is a dynamic shape there.
"""
from tfbig._keras import tf

try:
    from tensorflow.python.ops import control_flow_util
except ImportError:  # pragma: no cover - another TensorFlow layout: never unpad
    control_flow_util = None


def in_xla_context() -> bool:
    """True while tracing for XLA (jit_compile, TPU): dynamic shapes are not allowed there."""
    if control_flow_util is None:
        return True
    graph = tf.compat.v1.get_default_graph()
    return bool(control_flow_util.GraphOrParentsInXlaContext(graph))


class Unpadding:
    """The real tokens of a (B, T) 1/0 attention mask among the B·T row-major positions.

    positions: (n,) int32, the flat index b·T + t of each real token, in order.
    """

    def __init__(self, attention_mask):
        shape = tf.shape(attention_mask)
        self.batch, self.length = shape[0], shape[1]
        flat = tf.reshape(tf.cast(attention_mask, tf.bool), [-1])
        self.positions = tf.cast(tf.where(flat)[:, 0], tf.int32)

    def gather(self, x):
        """(B, T, W) or (B·T, W) -> (n, W): the real tokens' rows."""
        return tf.gather(tf.reshape(x, [-1, x.shape[-1]]), self.positions)

    def scatter(self, rows):
        """(n, W) -> (B·T, W): the rows at their positions, zeros at the padded ones (gradient: a gather)."""
        width = rows.shape[-1] if rows.shape[-1] is not None else tf.shape(rows)[-1]
        return tf.scatter_nd(self.positions[:, tf.newaxis], rows, [self.batch * self.length, width])

    def padded(self, rows):
        """(n, W) -> (B, T, W), zeros at the padded positions."""
        return tf.reshape(self.scatter(rows), [self.batch, self.length, rows.shape[-1]])
