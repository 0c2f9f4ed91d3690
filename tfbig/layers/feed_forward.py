"""The position-wise feed-forward network of a Transformer block: Dense → GELU → Dense."""
from tfbig._keras import keras, tf
from tfbig.layers.initializers import BERT_INITIALIZER, fresh_initializer, serialize_initializer
from tfbig.layers.lora import LoraDense

HIDDEN_ACTS = {"gelu": "gelu", "gelu_new": "gelu_approximate", "gelu_pytorch_tanh": "gelu_approximate",
               "relu": "relu"}  # Hugging Face `hidden_act` -> FeedForward activation

ACTIVATIONS = {
    "gelu": lambda x: tf.nn.gelu(x, approximate=False),  # exact, erf-based, as BERT
    "gelu_approximate": lambda x: tf.nn.gelu(x, approximate=True),  # the tanh approximation
    "relu": tf.nn.relu,
}


@keras.utils.register_keras_serializable("tfbig")
class FeedForward(keras.layers.Layer):
    """(B, T, hidden_size) → Dense(intermediate_size) → activation → Dense(hidden_size).

    hidden_size: int. Width of the input and output.
    intermediate_size: int. Width of the inner layer (4 × hidden_size in BERT).
    activation: str. One of "gelu" (exact), "gelu_approximate", "relu".
    kernel_initializer: initializer. For both kernels.
    """

    def __init__(self, hidden_size: int, intermediate_size: int, activation: str = "gelu",
                 kernel_initializer=BERT_INITIALIZER, **kwargs):
        super().__init__(**kwargs)
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation '{activation}' is not one of {', '.join(ACTIVATIONS)}")
        self.hidden_size = int(hidden_size)
        self.intermediate_size = int(intermediate_size)
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.intermediate = LoraDense(
            intermediate_size, kernel_initializer=fresh_initializer(kernel_initializer), name="intermediate")
        self.output_dense = LoraDense(
            hidden_size, kernel_initializer=fresh_initializer(kernel_initializer), name="output_dense")

    def call(self, inputs, training=None):
        """(B, T, H) -> (B, T, H), or rows (N, H) -> (N, H). In training the graph is the plain one; at
        inference both products run on 2-D rows, so each Dense is MatMul + BiasAdd, which Grappler fuses into
        one _FusedMatMul (with oneDNN on, the GELU too), instead of tensordot's reshape between the MatMul and
        the BiasAdd, which stops the fusion."""
        if training or inputs.shape.rank == 2:
            return self.output_dense(ACTIVATIONS[self.activation](self.intermediate(inputs)))
        rows = tf.reshape(inputs, [-1, self.hidden_size])
        out = self.output_dense(ACTIVATIONS[self.activation](self.intermediate(rows)))
        return tf.reshape(out, tf.shape(inputs))

    def get_config(self):
        config = super().get_config()
        config.update({"hidden_size": self.hidden_size, "intermediate_size": self.intermediate_size,
                       "activation": self.activation,
                       "kernel_initializer": serialize_initializer(self.kernel_initializer)})
        return config
