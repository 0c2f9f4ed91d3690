"""Token + position + segment embeddings, summed, layer-normalised and dropped out (BERT's input layer)."""
from tfbig._keras import keras, tf
from tfbig.layers.dropout import Dropout16
from tfbig.layers.initializers import BERT_INITIALIZER, fresh_initializer, serialize_initializer


@keras.utils.register_keras_serializable("tfbig")
class BertEmbeddings(keras.layers.Layer):
    """Maps {"input_ids", "token_type_ids"} (B, T) int to (B, T, hidden_size) vectors.

    vocab_size: int. Number of token ids.
    hidden_size: int. Width of each vector.
    max_position_embeddings: int. Longest sequence the position table covers.
    type_vocab_size: int. Number of segment ids.
    dropout: float. Dropout after the LayerNorm.
    layer_norm_epsilon: float. Epsilon of the LayerNorm.
    kernel_initializer: initializer. For the three tables (BERT: truncated normal, std 0.02).

    The sum and the LayerNorm run in float32 whatever the policy: the encoder keeps its residual stream
    in float32 and only the matrix products run in the compute dtype.

    >>> emb = BertEmbeddings(vocab_size=100, hidden_size=8, max_position_embeddings=16)
    >>> emb({"input_ids": tf.ones([2, 5], tf.int32)}).shape  # (2, 5, 8)
    """

    def __init__(self, vocab_size: int, hidden_size: int, max_position_embeddings: int = 512,
                 type_vocab_size: int = 2, dropout: float = 0.1, layer_norm_epsilon: float = 1e-12,
                 kernel_initializer=BERT_INITIALIZER, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.vocab_size = int(vocab_size)
        self.hidden_size = int(hidden_size)
        self.max_position_embeddings = int(max_position_embeddings)
        self.type_vocab_size = int(type_vocab_size)
        self.dropout_rate = float(dropout)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        self.kernel_initializer = kernel_initializer
        self.layer_norm = keras.layers.LayerNormalization(epsilon=layer_norm_epsilon, dtype="float32",
                                                          name="layer_norm")
        self.dropout = Dropout16(dropout, dtype="float32")

    def build(self, input_shape):
        def table(name, rows):
            return self.add_weight(name=name, shape=(rows, self.hidden_size),
                                   initializer=fresh_initializer(self.kernel_initializer))

        self.word_embeddings = table("word_embeddings", self.vocab_size)
        self.position_embeddings = table("position_embeddings", self.max_position_embeddings)
        self.token_type_embeddings = table("token_type_embeddings", self.type_vocab_size)
        super().build(input_shape)

    def call(self, inputs, training=None):
        input_ids = inputs["input_ids"]
        token_type_ids = inputs.get("token_type_ids")
        length = tf.shape(input_ids)[1]
        x = tf.gather(self.word_embeddings, input_ids)  # (B, T, H)
        x += self.position_embeddings[tf.newaxis, :length]  # positions 0..T-1, as BERT
        if token_type_ids is None:
            x += self.token_type_embeddings[0]
        else:
            x += tf.gather(self.token_type_embeddings, token_type_ids)
        return self.dropout(self.layer_norm(x), training=training)

    def get_config(self):
        config = super().get_config()
        config.update({
            "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
            "max_position_embeddings": self.max_position_embeddings, "type_vocab_size": self.type_vocab_size,
            "dropout": self.dropout_rate, "layer_norm_epsilon": self.layer_norm_epsilon,
            "kernel_initializer": serialize_initializer(self.kernel_initializer),
        })
        return config
