"""Int8Dense: the oneDNN int8 product equals a numpy emulation of the same quantization, and is close to x·W + b."""
import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.layers.int8 import QMAX, Int8Dense, quantize_kernel


def _emulated(x, kernel, bias):
    """The quantization Int8Dense documents, in float64 numpy: shift to ≥ 0, uint8 with zero point 0, int8
    per-channel weights, exact integer products."""
    q_w, scale = quantize_kernel(kernel)
    rows = x.reshape(-1, x.shape[-1]).astype(np.float64)
    shifted = rows + max(-rows.min(), 0.0)
    step = shifted.max() / 255
    q_x = np.floor(shifted / step + 0.5)  # QuantizeV2 MIN_FIRST rounds half away from zero (all ≥ 0 here)
    acc = q_x @ q_w.astype(np.float64)
    out = (acc * step - max(-rows.min(), 0.0) * q_w.sum(0)) * scale + bias
    return out.reshape(x.shape[:-1] + (kernel.shape[1],))


def test_quantize_kernel_per_output_channel():
    kernel = np.array([[1.0, -0.02, 0.0], [-0.25, 0.005, 0.0]], np.float32)
    q, scale = quantize_kernel(kernel)
    assert q.dtype == np.int8 and scale.dtype == np.float32
    np.testing.assert_array_equal(q, [[127, -127, 0], [-32, 32, 0]])  # each column spans its own ±127
    np.testing.assert_allclose(scale, [1 / QMAX, 0.02 / QMAX, 1.0])  # a zero column keeps scale 1


@pytest.mark.parametrize("shape, offset", [((37, 32), 0.3), ((3, 5, 32), -0.2), ((6, 32), 2.5)])
def test_int8_product_equals_its_emulation(shape, offset):
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) + offset).astype(np.float32)  # offset 2.5: all positive, no shift
    kernel = (rng.standard_normal((32, 48)) * rng.uniform(0.05, 1.0, 48)).astype(np.float32)
    bias = rng.standard_normal(48).astype(np.float32)
    out = Int8Dense(kernel, bias)(tf.constant(x)).numpy()
    assert out.shape == shape[:-1] + (48,) and out.dtype == np.float32
    want = _emulated(x, kernel, bias)
    np.testing.assert_allclose(out, want, atol=2e-4 * np.abs(want).max())  # float32 rounding only
    exact = x @ kernel + bias
    rel = np.sqrt(np.mean((out - exact) ** 2)) / exact.std()
    assert 1e-4 < rel < 0.02  # 8-bit steps: ~1% of the outputs' spread, not float32's exactness


def test_int8_product_of_zeros_and_of_no_rows():
    dense = Int8Dense(np.ones((4, 3), np.float32), np.array([1.0, 2.0, 3.0], np.float32))
    np.testing.assert_allclose(dense(tf.zeros([2, 4])).numpy(), [[1, 2, 3]] * 2, atol=1e-6)
    assert dense(tf.zeros([0, 4])).shape == (0, 3)
