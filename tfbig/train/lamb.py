"""LAMB (You et al. 2019, "Large Batch Optimization for Deep Learning"): Adam's direction, rescaled per
variable by the trust ratio ‖w‖ / ‖update‖, so every layer moves by a similar *relative* amount however
large the batch (and the learning rate with it) grows.

    m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²,  r = m̂ / (√v̂ + ε) + λ·w
    w ← w − lr · (‖w‖ / ‖r‖) · r        (ratio 1 when either norm is 0)

Variables whose name holds one of `exclude` (biases and LayerNorm, as AdamW's decay exclusions) get neither
the decay term λ·w nor the trust ratio: their norms say nothing about a layer's scale.
"""
import re

from tfbig._keras import keras, tf


@keras.utils.register_keras_serializable("tfbig")
class Lamb(keras.optimizers.Optimizer):
    """learning_rate: float or schedule. beta_1, beta_2, epsilon: Adam's. weight_decay: float. λ of the
    decay term added to the update (not decoupled from the trust ratio, as in the paper).
    exclude: sequence of str. Regular expressions; a variable whose name matches one gets no decay and
    no trust ratio. Other arguments (global_clipnorm, ...) as keras.optimizers.Optimizer's.
    """

    def __init__(self, learning_rate=1e-3, beta_1: float = 0.9, beta_2: float = 0.999, epsilon: float = 1e-6,
                 weight_decay: float = 0.0, exclude=("bias", "LayerNorm", "layer_norm"), name: str = "Lamb",
                 **kwargs):
        kwargs.pop("weight_decay", None)
        super().__init__(name=name, weight_decay=None, **kwargs)  # the decay is part of the update here
        self._learning_rate = self._build_learning_rate(learning_rate)
        self.beta_1, self.beta_2, self.epsilon = float(beta_1), float(beta_2), float(epsilon)
        self.lamb_weight_decay = float(weight_decay)
        self.exclude = tuple(exclude)

    def build(self, var_list):
        super().build(var_list)
        if getattr(self, "_built", False):
            return
        self._built = True
        self._momentums = [self.add_variable_from_reference(model_variable=v, variable_name="m") for v in var_list]
        self._velocities = [self.add_variable_from_reference(model_variable=v, variable_name="v") for v in var_list]

    def adapts(self, variable) -> bool:
        """Whether `variable` gets the decay and the trust ratio (its name matches no `exclude`)."""
        return not any(re.search(pattern, variable.name) for pattern in self.exclude)

    def update_step(self, gradient, variable):
        dtype = variable.dtype
        lr = tf.cast(self.learning_rate, dtype)
        step = tf.cast(self.iterations + 1, dtype)
        b1, b2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
        index = self._index_dict[self._var_key(variable)]
        m, v = self._momentums[index], self._velocities[index]
        g = tf.convert_to_tensor(gradient)  # embedding gradients arrive as IndexedSlices
        m.assign(b1 * m + (1 - b1) * g)
        v.assign(b2 * v + (1 - b2) * tf.square(g))
        update = (m / (1 - tf.pow(b1, step))) / (tf.sqrt(v / (1 - tf.pow(b2, step))) + self.epsilon)
        if self.adapts(variable):
            if self.lamb_weight_decay:
                update += tf.cast(self.lamb_weight_decay, dtype) * variable
            w_norm, r_norm = tf.norm(variable), tf.norm(update)
            ratio = tf.where((w_norm > 0) & (r_norm > 0), w_norm / tf.maximum(r_norm, 1e-30), tf.ones_like(w_norm))
            update *= ratio
        variable.assign_sub(lr * update)

    def get_config(self):
        config = super().get_config()
        config.update({"learning_rate": self._serialize_hyperparameter(self._learning_rate),
                       "beta_1": self.beta_1, "beta_2": self.beta_2, "epsilon": self.epsilon,
                       "weight_decay": self.lamb_weight_decay, "exclude": list(self.exclude)})
        return config
