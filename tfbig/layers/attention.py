"""Multi-head self-attention with a padding mask, softmax in float32."""
import math

import numpy as np

from tfbig._keras import keras, tf
from tfbig.layers.dropout import Dropout16
from tfbig.layers.initializers import BERT_INITIALIZER, fresh_initializer, serialize_initializer
from tfbig.layers.lora import LoraDense

NEG_INF = -1e9  # added to the scores of padded keys; exp() of it is exactly 0 in float32


def additive_mask(attention_mask):
    """(B, T) 1/0 mask of real/padding tokens -> (B, 1, 1, T) float32: 0 where attended, NEG_INF where not."""
    mask = tf.cast(attention_mask, tf.float32)
    return ((1.0 - mask) * NEG_INF)[:, tf.newaxis, tf.newaxis, :]


class FusedProjection:
    """x·W + b with one (in, out) kernel stored in the dtype it computes in: an attention layer's query, key and
    value products side by side (`MultiHeadSelfAttention.fused_qkv`, the queries' 1/√d folded into their
    columns), or a Dense layer's product with its kernel in bfloat16 (`LoraDense.export_product`).

    kernel: float (in, out) array. bias: float (out,) array. dtype: the variables' dtype, float32 or the
    compute dtype of a mixed policy: stored as a Keras Dense would cast them at each call (the same values),
    the product needs no cast then. A plain object, not a tf.Module, so the Keras layer holding it does not
    track its variables: whoever saves it (the export's module) does.
    """

    def __init__(self, kernel, bias, dtype="float32", name: str = "fused_qkv"):
        self.kernel = tf.Variable(tf.cast(np.asarray(kernel, np.float32), dtype), trainable=False,
                                  name=f"{name}_kernel")
        self.bias = tf.Variable(tf.cast(np.asarray(bias, np.float32), dtype), trainable=False, name=f"{name}_bias")

    @property
    def variables(self) -> list:
        return [self.kernel, self.bias]

    def __call__(self, inputs):
        """(rows, in) -> (rows, out) in the inputs' dtype: one MatMul + BiasAdd (a _FusedMatMul in Grappler)."""
        return tf.nn.bias_add(tf.matmul(inputs, tf.cast(self.kernel, inputs.dtype)),
                              tf.cast(self.bias, inputs.dtype))


@keras.utils.register_keras_serializable("tfbig")
class MultiHeadSelfAttention(keras.layers.Layer):
    """softmax(Q·Kᵀ/√d + mask)·V over `num_heads` heads, then an output projection.

    hidden_size: int. Width of the input and output; a multiple of num_heads.
    num_heads: int. Number of attention heads (head size hidden_size / num_heads).
    dropout: float. Dropout on the attention probabilities (as BERT).
    kernel_initializer: initializer. For the projection kernels (biases start at 0).

    Call: `layer(x, attention_mask=additive_mask(mask))` with x (B, T, hidden).

    Measured on CPU at MiniLM's size (one block, forward + backward): three query/key/value projections
    with 4-D head transposes and two batched matmuls are as fast as einsum or a fused (hidden, 3·hidden)
    projection split by tf.split, and 25% faster than a fused projection reshaped to 5-D and transposed
    at once; XLA (jit_compile) was slower than plain graph mode.
    """

    def __init__(self, hidden_size: int, num_heads: int, dropout: float = 0.1,
                 kernel_initializer=BERT_INITIALIZER, **kwargs):
        super().__init__(**kwargs)
        if hidden_size % num_heads:
            raise ValueError(f"hidden_size {hidden_size} is not divisible by num_heads {num_heads}")
        self.hidden_size = int(hidden_size)
        self.num_heads = int(num_heads)
        self.head_size = self.hidden_size // self.num_heads
        self.dropout_rate = float(dropout)
        self.kernel_initializer = kernel_initializer

        def dense(name):
            return LoraDense(hidden_size, kernel_initializer=fresh_initializer(kernel_initializer), name=name)

        self.query, self.key, self.value = dense("query"), dense("key"), dense("value")
        self.output_dense = dense("output_dense")
        self.dropout = Dropout16(dropout)
        # A FusedProjection (rows -> Q·(1/√d), K, V side by side) while an export traces the layer
        # (tfbig.export.fused): inference then runs one product and one head transpose instead of three each.
        self.fused_qkv = None

    def call(self, inputs, attention_mask=None, training=None, return_attention_scores=False, length=None,
             first_token_only=False, unpadding=None):
        """(B, T, H) -> (B, T, H); with return_attention_scores also the float32 probabilities (B, N, T, T)
        before dropout (distillation's attention term).

        At inference (training false) the four projections run on 2-D rows (B·T, H), each a MatMul + BiasAdd
        that Grappler fuses; `inputs` may then be rows already, with `length` T: the output is rows (B·T, H).
        first_token_only (inference): only the first position attends (keys and values from all): the output is
        (B, 1, H), or its rows (B, H), and the probabilities (B, N, 1, T) — what a last block computes when
        only its [CLS] state is read.
        unpadding (training): a tfbig.layers.unpad.Unpadding; `inputs` are then the (n, H) rows of the real
        tokens only, and so is the output: the queries, keys and values are scattered to (B, T) for the products.
        """
        if training and unpadding is not None:
            return self._attend(inputs, unpadding.batch, unpadding.length, attention_mask, training,
                                return_attention_scores, unpadding=unpadding)
        if training:
            batch, length = tf.shape(inputs)[0], tf.shape(inputs)[1]
            return self._attend(inputs, batch, length, attention_mask, training, return_attention_scores)
        if inputs.shape.rank == 2:
            if length is None:
                raise ValueError("attention on (B·T, H) rows needs their length T")
            rows, batch = inputs, tf.shape(inputs)[0] // tf.maximum(length, 1)
        else:
            batch, length = tf.shape(inputs)[0], tf.shape(inputs)[1]
            rows = tf.reshape(inputs, [-1, self.hidden_size])
        output, probs32 = self._attend(rows, batch, length, attention_mask, training, True, first_token_only)
        if inputs.shape.rank != 2:
            output = tf.reshape(output, [batch, 1 if first_token_only else length, self.hidden_size])
        return (output, probs32) if return_attention_scores else output

    @property
    def scale(self) -> float:
        """1/√d, d the head size: the queries' factor."""
        return 1.0 / math.sqrt(self.head_size)

    def fused_projection(self) -> FusedProjection:
        """A FusedProjection of the current query, key and value kernels and biases (the query's scaled by
        1/√d) in the layer's compute dtype: set it as `fused_qkv` and inference computes the same function (to
        float rounding) with one product. Built from the kernels as they are now: merge LoRA adapters first."""
        dense = (self.query, self.key, self.value)
        kernels = [layer.kernel.numpy() for layer in dense]
        biases = [np.zeros(layer.units, np.float32) if layer.bias is None else layer.bias.numpy() for layer in dense]
        kernels[0], biases[0] = kernels[0] * self.scale, biases[0] * self.scale
        return FusedProjection(np.concatenate(kernels, axis=1), np.concatenate(biases), self.compute_dtype)

    def _attend(self, inputs, batch, length, attention_mask, training, return_attention_scores,
                first_token_only=False, unpadding=None):
        """The attention of (B, T, H) inputs, or of (B·T, H) rows (then the output is rows too); with
        first_token_only (rows only) that of the first position of each sequence: (B, H) rows; with unpadding,
        that of the (n, H) rows of the real tokens: (n, H) rows."""

        def heads(x, positions=length):  # (B, T, H) or (B·T, H) (or the real tokens' (n, H)) -> (B, N, T, D)
            if unpadding is not None:
                x = unpadding.scatter(x)
            return tf.transpose(tf.reshape(x, [batch, positions, self.num_heads, self.head_size]), [0, 2, 1, 3])

        if self.fused_qkv is not None and not training:
            # (B·T, 3H) -> (3, B, N, T, D) in one transpose; the queries come scaled by 1/√d
            qkv = tf.cast(self.fused_qkv(inputs), self.compute_dtype)
            qkv = tf.transpose(tf.reshape(qkv, [batch, length, 3, self.num_heads, self.head_size]), [2, 0, 3, 1, 4])
            q, k, v = qkv[0], qkv[1], qkv[2]
            if first_token_only:
                q = q[:, :, :1]
        else:
            queries = tf.reshape(inputs, [batch, length, self.hidden_size])[:, 0] if first_token_only else inputs
            q = heads(self.query(queries) * tf.cast(self.scale, self.compute_dtype), 1 if first_token_only else length)
            k, v = heads(self.key(inputs)), heads(self.value(inputs))
        scores = tf.cast(tf.matmul(q, k, transpose_b=True), tf.float32)  # (B, N, T, T), softmax in float32
        if attention_mask is not None:
            scores += attention_mask
        probs32 = tf.nn.softmax(scores, axis=-1)
        context = tf.matmul(self.dropout(tf.cast(probs32, v.dtype), training=training), v)  # (B, N, T, D)
        shape = [batch, length, self.hidden_size] if inputs.shape.rank == 3 else [-1, self.hidden_size]
        context = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), shape)
        if unpadding is not None:
            context = unpadding.gather(context)
        output = self.output_dense(context)
        return (output, probs32) if return_attention_scores else output

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_size": self.hidden_size, "num_heads": self.num_heads, "dropout": self.dropout_rate,
                       "kernel_initializer": serialize_initializer(self.kernel_initializer)})
        return config
