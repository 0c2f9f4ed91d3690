"""model.pooling: the vector a sequence-level head reads (pooler, [CLS] state, masked mean)."""
import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.layers.pooling import pool

STATES = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]],
                   [[5.0, 6.0], [7.0, 8.0], [9.0, 10.0]]], np.float32)
MASK = np.array([[1, 1, 0], [1, 1, 1]], np.int32)


def test_mean_ignores_padding_and_cls_takes_the_first_state():
    out = {"sequence_output": tf.constant(STATES), "pooled_output": tf.constant([[0.5, 0.5], [0.5, 0.5]])}
    np.testing.assert_allclose(pool(out, MASK, "mean").numpy(), [[2.0, 3.0], [7.0, 8.0]])
    np.testing.assert_allclose(pool(out, MASK, "cls").numpy(), [[1.0, 2.0], [5.0, 6.0]])
    assert pool(out, MASK, "pooler") is out["pooled_output"]
    np.testing.assert_array_equal(pool(out, np.zeros_like(MASK), "mean").numpy(), np.zeros((2, 2)))


def test_mean_of_bfloat16_states_is_summed_in_float32():
    states = tf.cast(tf.fill([1, 300, 1], 1.01), tf.bfloat16)  # 300 × 1.0078125 in bf16 loses digits when summed in bf16
    result = pool({"sequence_output": states}, tf.ones([1, 300], tf.int32), "mean")
    assert result.dtype == tf.bfloat16 and float(result[0, 0]) == pytest.approx(1.0078125)
    with pytest.raises(ValueError, match="pooling 'max'"):
        pool({"sequence_output": states}, tf.ones([1, 300], tf.int32), "max")
