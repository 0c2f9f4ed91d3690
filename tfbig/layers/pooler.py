"""BERT's pooler: the [CLS] vector through Dense + tanh."""
from tfbig._keras import keras, tf
from tfbig.layers.initializers import BERT_INITIALIZER, fresh_initializer, serialize_initializer


@keras.utils.register_keras_serializable("tfbig")
class Pooler(keras.layers.Layer):
    """(B, T, hidden_size) → tanh(Dense(x[:, 0])) of shape (B, hidden_size), returned in float32.

    hidden_size: int. Width of the input and output.
    kernel_initializer: initializer. For the kernel.
    """

    def __init__(self, hidden_size: int, kernel_initializer=BERT_INITIALIZER, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = int(hidden_size)
        self.kernel_initializer = kernel_initializer
        self.dense = keras.layers.Dense(hidden_size, activation="tanh",
                                        kernel_initializer=fresh_initializer(kernel_initializer), name="dense")


    def call(self, inputs):
        return tf.cast(self.dense(inputs[:, 0]), tf.float32)

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_size": self.hidden_size,
                       "kernel_initializer": serialize_initializer(self.kernel_initializer)})
        return config
