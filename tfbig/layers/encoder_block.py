"""One Transformer encoder block: self-attention and feed-forward, each with a residual and a LayerNorm."""
from tfbig._keras import keras, tf
from tfbig.layers.attention import MultiHeadSelfAttention
from tfbig.layers.feed_forward import FeedForward
from tfbig.layers.dropout import Dropout16
from tfbig.layers.initializers import BERT_INITIALIZER, serialize_initializer


@keras.utils.register_keras_serializable("tfbig")
class TransformerEncoderBlock(keras.layers.Layer):
    """Post-LN (BERT): x = LN(x + drop(attn(x))); x = LN(x + drop(ffn(x))). Pre-LN with `norm_first=True`.

    hidden_size: int. Width of the residual stream.
    num_heads: int. Attention heads.
    intermediate_size: int. Width of the feed-forward inner layer.
    dropout: float. Dropout on each sublayer's output before the residual sum.
    attention_dropout: float. Dropout on the attention probabilities.
    activation: str. Feed-forward activation ("gelu" is BERT's exact GELU).
    layer_norm_epsilon: float. Epsilon of both LayerNorms.
    norm_first: bool. Pre-LayerNorm: normalise each sublayer's input instead of the residual sum.
    kernel_initializer: initializer. For every kernel.

    The residual stream and the LayerNorms stay in float32 under a mixed policy; the sublayers cast their
    input to the compute dtype (bfloat16/float16) for the matrix products.
    """

    def __init__(self, hidden_size: int, num_heads: int, intermediate_size: int, dropout: float = 0.1,
                 attention_dropout: float = 0.1, activation: str = "gelu", layer_norm_epsilon: float = 1e-12,
                 norm_first: bool = False, kernel_initializer=BERT_INITIALIZER, **kwargs):
        super().__init__(**kwargs)
        self._autocast = False  # keep the float32 residual stream as it comes in
        self.hidden_size = int(hidden_size)
        self.num_heads = int(num_heads)
        self.intermediate_size = int(intermediate_size)
        self.dropout_rate = float(dropout)
        self.attention_dropout = float(attention_dropout)
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.norm_first = bool(norm_first)
        self.kernel_initializer = kernel_initializer
        self.attention = MultiHeadSelfAttention(hidden_size, num_heads, dropout=attention_dropout,
                                                kernel_initializer=kernel_initializer, name="attention")
        self.attention_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype="float32", name="attention_layer_norm")
        self.feed_forward = FeedForward(hidden_size, intermediate_size, activation=activation,
                                        kernel_initializer=kernel_initializer, name="feed_forward")
        self.output_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_epsilon, dtype="float32", name="output_layer_norm")
        self.dropout = Dropout16(dropout)

    def _residual(self, x, sublayer_out, training):
        return x + tf.cast(self.dropout(sublayer_out, training=training), x.dtype)

    def call(self, inputs, attention_mask=None, training=None, return_attention_scores=False,
             first_token_only=False, unpadding=None):
        """(B, T, H) -> (B, T, H) in float32; with return_attention_scores also the block's attention
        probabilities (B, N, T, T).

        At inference (training false) the block runs on 2-D rows (B·T, H) from end to end: every Dense is a
        MatMul + BiasAdd that Grappler fuses into one _FusedMatMul (the GELU too where oneDNN is on, float32; seen
        in a block's optimised graph); only the attention products see (B, N, T, D). Training keeps the
        (B, T, H) graph, whose tensordot puts a reshape between each MatMul and its BiasAdd.
        first_token_only (inference): the block's output at the first position only, (B, 1, H) (its
        probabilities (B, N, 1, T)): the keys and values of every position, then one query, one residual, one
        feed-forward row per sequence — what a last block computes when only its [CLS] state is read.
        unpadding (training): a tfbig.layers.unpad.Unpadding; `inputs` and the output are then the (n, H) rows of
        the real tokens only (tfbig.layers.unpad)."""
        x = tf.cast(inputs, tf.float32)
        if training and unpadding is not None:
            x, probs = self._sublayers(x, attention_mask, training, None, unpadding=unpadding)
        elif not training:
            shape = tf.shape(x)
            rows, probs = self._sublayers(tf.reshape(x, [-1, self.hidden_size]), attention_mask, False, shape[1],
                                          first_token_only)
            x = rows[:, tf.newaxis] if first_token_only else tf.reshape(rows, shape)
        else:
            x, probs = self._sublayers(x, attention_mask, training, None)
        return (x, probs) if return_attention_scores else x

    def _sublayers(self, x, attention_mask, training, length, first_token_only=False, unpadding=None):
        """Attention and feed-forward with their residuals and LayerNorms, on (B, T, H) or (B·T, H) rows (or the
        real tokens' (n, H) rows with unpadding); first_token_only (rows): of the first row of each sequence,
        (B, H) rows out."""

        def norm(layer, y):  # a LayerNormalization fixes its input's rank when built: rows go in as (1, B·T, H)
            return layer(y) if y.shape.rank == 3 else tf.reshape(layer(y[tf.newaxis]), [-1, self.hidden_size])

        attend = norm(self.attention_layer_norm, x) if self.norm_first else x
        attended, probs = self.attention(attend, attention_mask=attention_mask, training=training,
                                         return_attention_scores=True, length=length,
                                         first_token_only=first_token_only, unpadding=unpadding)
        if first_token_only:  # the residual stream of the first positions: (B, H)
            x = tf.reshape(x, [-1, length, self.hidden_size])[:, 0]
        if self.norm_first:
            x = self._residual(x, attended, training)
            x = self._residual(x, self.feed_forward(norm(self.output_layer_norm, x), training=training), training)
        else:
            x = norm(self.attention_layer_norm, self._residual(x, attended, training))
            x = norm(self.output_layer_norm, self._residual(x, self.feed_forward(x, training=training), training))
        return x, probs

    def get_config(self):
        config = super().get_config()
        config.update({
            "hidden_size": self.hidden_size, "num_heads": self.num_heads,
            "intermediate_size": self.intermediate_size, "dropout": self.dropout_rate,
            "attention_dropout": self.attention_dropout, "activation": self.activation,
            "layer_norm_epsilon": self.layer_norm_epsilon, "norm_first": self.norm_first,
            "kernel_initializer": serialize_initializer(self.kernel_initializer),
        })
        return config
