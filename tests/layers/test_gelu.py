import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.layers.gelu import exact_gelu

X = np.linspace(-6.0, 6.0, 241, dtype=np.float32).reshape(1, -1)


def _value_and_grad(fn, x, dy):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = fn(x)
    return y, tape.gradient(y, x, output_gradients=dy)


def test_float32_equals_tf_gelu_and_its_autodiff_gradient():
    x = tf.constant(X)
    dy = tf.constant(np.cos(X))
    y, g = _value_and_grad(exact_gelu, x, dy)
    ref_y, ref_g = _value_and_grad(lambda v: tf.nn.gelu(v, approximate=False), x, dy)
    assert y.dtype == g.dtype == tf.float32
    np.testing.assert_allclose(y.numpy(), ref_y.numpy(), atol=1e-7)
    np.testing.assert_allclose(g.numpy(), ref_g.numpy(), atol=3e-7)
    # the closed form: dGELU/dx at 0 is 1/2, and at ±6 it is 1 / 0 to float precision
    assert g.numpy()[0, 120] == pytest.approx(0.5 * np.cos(0.0))
    np.testing.assert_allclose(g.numpy()[0, [0, -1]] / np.cos(X[0, [0, -1]]), [0.0, 1.0], atol=1e-6)


def test_bfloat16_is_the_float32_result_rounded_once():
    x = tf.cast(tf.constant(X), tf.bfloat16)
    dy = tf.cast(tf.constant(np.cos(X)), tf.bfloat16)
    y, g = _value_and_grad(exact_gelu, x, dy)
    assert y.dtype == g.dtype == tf.bfloat16
    x32, dy32 = tf.cast(x, tf.float32), tf.cast(dy, tf.float32)  # the same bf16 inputs, in float32
    ref_y, ref_g = _value_and_grad(lambda v: tf.nn.gelu(v, approximate=False), x32, dy32)
    np.testing.assert_array_equal(y.numpy(), tf.cast(ref_y, tf.bfloat16).numpy())
    np.testing.assert_allclose(tf.cast(g, tf.float32).numpy(), ref_g.numpy(), rtol=2 ** -8, atol=1e-6)
