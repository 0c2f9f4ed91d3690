"""A Dense product in int8, dynamically quantized: per-output-channel symmetric int8 weights, the activations
quantized per call (one uint8 scale for the whole (rows, in) input), int32 accumulation, a float32 result.

The product runs on TensorFlow's oneDNN kernel `QuantizedMatMulWithBiasAndDequantize` (u8 × s8 → s32, with
the bias added and the result dequantized in the same kernel; VNNI/AMX where the CPU has them). That kernel
takes one scale per weight tensor and its zero-point handling for signed inputs did not match
`QuantizeV2`'s, so both are done here exactly:
  - the input is shifted by s = max(−min x, 0) to x + s ≥ 0 and quantized with range [0, max(x + s)]: zero
    point 0, q = round((x + s) / a);
  - the kernel sees the weights as int8 with scale 1 (range ±127): it returns a·(q·Wq) + bias';
  - x·W + b = (x + s)·W − s·colsum(W) + b, and W = Wq·diag(w): with bias' = b / w − s·colsum(Wq), one
    per-channel multiply by w after the kernel gives the float32 result.
"""
import numpy as np

from tfbig._keras import tf

QMAX = 127  # symmetric int8 weights in [−127, 127] (−128 unused: the range stays symmetric)


def quantize_kernel(kernel: np.ndarray) -> tuple:
    """(int8 kernel, float32 per-output-channel scales) of a float (in, out) kernel: W ≈ Wq · diag(scale).

    A column of zeros gets scale 1 (its int8 values are 0), never a division by zero.
    """
    kernel = np.asarray(kernel, np.float32)
    scale = np.abs(kernel).max(axis=0) / QMAX
    scale = np.where(scale > 0, scale, 1.0).astype(np.float32)
    q = np.clip(np.rint(kernel / scale), -QMAX, QMAX).astype(np.int8)
    return q, scale


class Int8Dense:
    """The int8 product that replaces a Dense layer's float one at inference (`LoraDense.export_product`).

    kernel: float (in, out) array. bias: float (out,) array or None. Its variables (`variables`): the int8
    kernel, the per-channel scales, the bias divided by them and the int8 kernel's column sums. A plain object,
    not a tf.Module, so a Keras layer holding it does not track its variables: whoever saves it (the export's
    module) does.

    >>> dense = Int8Dense(np.eye(4, dtype=np.float32), np.zeros(4, np.float32))
    >>> dense(tf.ones([2, 4])).shape  # (2, 4), float32
    """

    def __init__(self, kernel, bias=None):
        q, scale = quantize_kernel(kernel)
        bias = np.zeros(q.shape[1], np.float32) if bias is None else np.asarray(bias, np.float32)
        self.units = int(q.shape[1])
        self.kernel = tf.Variable(q, trainable=False, name="int8_kernel")
        self.scale = tf.Variable(scale, trainable=False, name="int8_scale")
        self.scaled_bias = tf.Variable(bias / scale, trainable=False, name="int8_scaled_bias")
        self.column_sum = tf.Variable(q.astype(np.float32).sum(axis=0), trainable=False, name="int8_column_sum")

    @property
    def variables(self) -> list:
        return [self.kernel, self.scale, self.scaled_bias, self.column_sum]

    def __call__(self, inputs):
        """(..., in) float32 -> (..., out) float32."""
        x = tf.cast(inputs, tf.float32)
        rows = x if x.shape.rank == 2 else tf.reshape(x, [-1, tf.shape(x)[-1]])
        shift = tf.maximum(-tf.reduce_min(rows), 0.0)  # an empty input's min is +inf: no shift
        shifted = rows + shift
        top = tf.maximum(tf.reduce_max(shifted), 1e-6)  # all zeros (or empty): any positive range
        q, low, high = tf.raw_ops.QuantizeV2(input=shifted, min_range=0.0, max_range=top, T=tf.quint8,
                                             mode="MIN_FIRST", ensure_minimum_range=0.0)
        out = tf.raw_ops.QuantizedMatMulWithBiasAndDequantize(
            a=q, b=tf.bitcast(tf.convert_to_tensor(self.kernel), tf.qint8),
            bias=self.scaled_bias - shift * self.column_sum, min_a=low, max_a=high,
            min_b=-float(QMAX), max_b=float(QMAX), min_freezed_output=-1.0, max_freezed_output=1.0,
            Toutput=tf.float32, input_quant_mode="MIN_FIRST") * self.scale
        if x.shape.rank == 2:
            return out
        return tf.reshape(out, tf.concat([tf.shape(x)[:-1], [self.units]], axis=0))
