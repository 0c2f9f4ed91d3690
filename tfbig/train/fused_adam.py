"""Adam and AdamW whose update of each variable is one fused kernel (TensorFlow's ResourceApplyAdam).

Keras' Adam updates a variable with about ten element-wise ops (m, v, the square root, the division, each a
pass over memory); the fused kernel reads the gradient, m, v and the variable once and writes them back once.
The arithmetic is Keras' own: m ← m + (g − m)(1 − β₁), v ← v + (g² − v)(1 − β₂),
w ← w − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m/(√v + ε). A sparse gradient (an embedding table's) is made dense first:
Keras' sparse path decays every row of m and v too, so the result is the same. AMSGrad and the adaptive
epsilon keep Keras' own update. The slots are Keras' (same names): a checkpoint of either restores into the other.
"""
from tfbig._keras import keras, tf


class _FusedAdamUpdate:
    """The update step of Keras' Adam as one ResourceApplyAdam per variable (mixed into Adam and AdamW)."""

    def update_step(self, gradient, variable):
        if self.amsgrad or getattr(self, "adaptive_epsilon", False):
            return super().update_step(gradient, variable)
        dtype = variable.dtype
        local_step = tf.cast(self.iterations + 1, dtype)
        beta_1 = tf.cast(self.beta_1, dtype)
        beta_2 = tf.cast(self.beta_2, dtype)
        index = self._index_dict[self._var_key(variable)]
        m, v = self._momentums[index], self._velocities[index]
        if isinstance(gradient, tf.IndexedSlices):
            gradient = tf.convert_to_tensor(gradient)
        return tf.raw_ops.ResourceApplyAdam(
            var=variable.handle, m=m.handle, v=v.handle, beta1_power=tf.pow(beta_1, local_step),
            beta2_power=tf.pow(beta_2, local_step), lr=tf.cast(self.learning_rate, dtype), beta1=beta_1,
            beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=tf.cast(gradient, dtype), use_locking=False)


@keras.utils.register_keras_serializable("tfbig")
class FusedAdam(_FusedAdamUpdate, keras.optimizers.Adam):
    """keras.optimizers.Adam (same arguments and slots) with the fused update."""


@keras.utils.register_keras_serializable("tfbig")
class FusedAdamW(_FusedAdamUpdate, keras.optimizers.AdamW):
    """keras.optimizers.AdamW (same arguments and slots; the decoupled decay as Keras applies it) with the
    fused update."""
