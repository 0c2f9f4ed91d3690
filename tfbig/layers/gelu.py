"""BERT's exact GELU, x·Φ(x), for training: float32 arithmetic and a hand-written gradient.

`tf.nn.gelu`'s autodiff gradient is about ten elementwise ops over the (tokens, intermediate) tensor, and under
a bfloat16 policy each of them runs in bfloat16, which this CPU computes more slowly than float32. Here
the forward keeps Φ(x) in float32 and the gradient is dy·(Φ(x) + x·φ(x)): fewer ops, each in float32, the
output cast to the input's dtype. Kept for the backward pass: x and Φ(x) (float32).

Inference keeps `tf.nn.gelu`, whose op pattern Grappler fuses into the preceding MatMul + BiasAdd.
"""
from tfbig._keras import tf

SQRT_HALF = 0.7071067811865476
INV_SQRT_2PI = 0.3989422804014327


@tf.custom_gradient
def exact_gelu(x):
    """x·Φ(x), Φ the standard normal CDF; float32 inside, x's dtype out; gradient dy·(Φ(x) + x·φ(x))."""
    cdf = 0.5 * tf.math.erfc(tf.cast(x, tf.float32) * -SQRT_HALF)

    def grad(dy):
        x32 = tf.cast(x, tf.float32)
        pdf = tf.exp(-0.5 * tf.square(x32)) * INV_SQRT_2PI
        return tf.cast(tf.cast(dy, tf.float32) * (cdf + x32 * pdf), x.dtype)

    return tf.cast(tf.cast(x, tf.float32) * cdf, x.dtype), grad
