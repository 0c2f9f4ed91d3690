"""BERT's masked-language-model head: transform (dense → activation → LayerNorm) → decoder tied to the word
embeddings + a bias, run on the masked positions only."""
from tfbig._keras import keras, tf
from tfbig.layers.feed_forward import ACTIVATIONS
from tfbig.layers.initializers import BERT_INITIALIZER, fresh_initializer, serialize_initializer


@keras.utils.register_keras_serializable("tfbig")
class MaskedLMHead(keras.layers.Layer):
    """Backbone outputs → vocabulary logits at the masked positions.

    vocab_size: int. Rows of the tied word-embedding table (the logits' width).
    hidden_size: int. Width of the sequence output.
    activation: str. Of tfbig.layers.feed_forward.ACTIVATIONS ("gelu" exact, as BERT).
    layer_norm_epsilon: float. Epsilon of the transform's LayerNorm.
    kernel_initializer: initializer. For the transform's dense kernel.

    Input: a dict with "sequence_output" (B, T, H) and, optionally, "features": the model's inputs. When the
    features hold "mlm_positions" (B, P) int32, the P positions of each row are gathered *before* the
    transform and the (H × V) decoder matmul, so the most expensive product runs on ~15% of the tokens; the
    output is (B, P, V). Without them every position is decoded: (B, T, V).

    The decoder has no kernel of its own: `tie_to(embeddings)` makes it use the embedding layer's
    `word_embeddings` (V, H), as BERT ties them; the variable is not tracked here, so it is saved once.
    The sublayers are named as Hugging Face's `cls.predictions.transform.dense`,
    `cls.predictions.transform.LayerNorm` and `cls.predictions.bias` (tfbig.models.checkpoint maps them).

    >>> head = MaskedLMHead(vocab_size=100, hidden_size=16)
    >>> head.tie_to(encoder.embeddings)
    >>> head({"sequence_output": x, "features": {"mlm_positions": positions}})  # (B, P, 100)
    """

    def __init__(self, vocab_size: int, hidden_size: int, activation: str = "gelu", layer_norm_epsilon: float = 1e-12,
                 kernel_initializer=BERT_INITIALIZER, **kwargs):
        super().__init__(**kwargs)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation '{activation}' is not one of {', '.join(ACTIVATIONS)}")
        self.vocab_size = int(vocab_size)
        self.hidden_size = int(hidden_size)
        self.activation = activation
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = kernel_initializer
        self.dense = keras.layers.Dense(hidden_size, kernel_initializer=fresh_initializer(kernel_initializer),
                                        name="dense")
        self.layer_norm = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, dtype="float32",
                                                          name="LayerNorm")
        # Not tracked (object.__setattr__ skips Keras' tracking): the table belongs to the embeddings.
        object.__setattr__(self, "_embeddings", None)

    def tie_to(self, embeddings) -> "MaskedLMHead":
        """Decode with `embeddings.word_embeddings` (a BertEmbeddings layer, built or not); returns self."""
        object.__setattr__(self, "_embeddings", embeddings)
        return self

    @property
    def decoder_table(self):
        """The tied (V, H) word-embedding variable."""
        if self._embeddings is None:
            raise ValueError(f"{self.name}: tie_to(embeddings) before calling the head")
        return self._embeddings.word_embeddings

    def build(self, input_shape):
        # Added to float32 logits: kept float32 when read under a mixed policy (no autocast to bfloat16).
        self.bias = self.add_weight(name="bias", shape=(self.vocab_size,), initializer="zeros", dtype="float32",
                                    experimental_autocast=False)
        super().build(input_shape)

    def call(self, inputs, training=False):
        x = inputs["sequence_output"]  # (B, T, H)
        positions = (inputs.get("features") or {}).get("mlm_positions")
        if positions is not None:
            x = tf.gather(x, tf.cast(positions, tf.int32), batch_dims=1)  # (B, P, H)
        x = ACTIVATIONS[self.activation](self.dense(x))
        x = self.layer_norm(tf.cast(x, tf.float32))
        table = self.decoder_table
        compute = self.compute_dtype
        logits = tf.matmul(tf.cast(x, compute), tf.cast(table, compute), transpose_b=True)  # (B, P, V)
        return tf.cast(logits, tf.float32) + self.bias

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
                "activation": self.activation, "layer_norm_epsilon": self.layer_norm_epsilon,
                "kernel_initializer": serialize_initializer(self.kernel_initializer)}
