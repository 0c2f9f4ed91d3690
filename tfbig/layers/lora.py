"""LoRA (Hu et al., 2021): a Dense layer whose frozen kernel W gets a trainable low-rank update (α/r)·A·B."""
from tfbig._keras import keras, tf
from tfbig.layers.dropout import Dropout16

# PEFT's A init (kaiming-uniform with a=√5): uniform on ±1/√fan_in; B starts at 0, so A·B = 0 at the start.
LORA_A_INITIALIZER = {"class_name": "VarianceScaling",
                      "config": {"scale": 1.0 / 3.0, "mode": "fan_in", "distribution": "uniform"}}


def freeze_weights(layer, weights) -> None:
    """Moves `weights` of `layer` to its non-trainable list (Keras 2 keeps trainability per layer, not per
    variable). The lists are edited in place: assigning them would go through Layer.__setattr__, which files
    every trainable variable back under trainable."""
    moving = [w for w in layer._trainable_weights if any(w is f for f in weights)]
    layer._trainable_weights[:] = [w for w in layer._trainable_weights if all(w is not f for f in moving)]
    layer._non_trainable_weights[:0] = moving


@keras.utils.register_keras_serializable("tfbig")
class LoraDense(keras.layers.Dense):
    """keras Dense that can take a LoRA adapter: y = x·W + b + (alpha/rank)·drop(x)·A·B, A (in, r), B (r, out).

    Until `enable_lora` it is a plain Dense (same variables, same ops). Its variables keep the names
    `kernel`/`bias`, so checkpoints written without LoRA load unchanged; the adapter adds `lora_a`/`lora_b`.

    >>> dense = LoraDense(64); dense.build((None, 32)); dense.enable_lora(rank=8, alpha=16.0)
    >>> [v.name for v in dense.trainable_weights]  # lora_a, lora_b: the kernel and bias are frozen
    """

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)
        self.lora_rank = 0
        self.lora_alpha = 0.0
        self.merged = False  # True while the update is folded into the kernel (export): call skips A·B
        self.lora_dropout = None
        # While an export traces the layer, a product replacing x·W + b, called instead of it: an Int8Dense
        # (tfbig.layers.int8, export precision int8) or a FusedProjection with a bfloat16 kernel (tfbig.export.fused)
        self.export_product = None

    @property
    def lora_scale(self) -> float:
        return self.lora_alpha / self.lora_rank if self.lora_rank else 0.0

    def enable_lora(self, rank: int, alpha: float, dropout: float = 0.0) -> None:
        """Adds A (random) and B (zeros), freezes the kernel and bias. Call on a built layer, in the scope the
        model's variables belong to (a distribution strategy's).

        rank: int. Inner width r of A·B (≥ 1). alpha: float. The update is scaled by alpha / rank.
        dropout: float. Dropout on the adapter's input (the frozen path sees the undropped input).
        """
        if not self.built:
            raise ValueError(f"{self.name}: build the layer before enabling LoRA")
        if self.lora_rank:
            raise ValueError(f"{self.name}: LoRA is enabled already (rank {self.lora_rank})")
        if rank < 1:
            raise ValueError(f"LoRA rank must be at least 1, got {rank}")
        if self.activation is not keras.activations.linear:
            raise ValueError(f"{self.name}: LoRA needs a linear Dense (the update is added before no activation)")
        fan_in = int(self.kernel.shape[0])
        self.lora_rank, self.lora_alpha = int(rank), float(alpha)
        self.lora_a = self.add_weight("lora_a", shape=(fan_in, self.lora_rank),
                                      initializer=keras.initializers.get(LORA_A_INITIALIZER), trainable=True)
        self.lora_b = self.add_weight("lora_b", shape=(self.lora_rank, self.units), initializer="zeros",
                                      trainable=True)
        if dropout > 0:
            self.lora_dropout = Dropout16(dropout)
            self.lora_dropout(tf.zeros([1, fan_in]))  # creates its generator now: resumable checkpoints hold it
        freeze_weights(self, [w for w in (self.kernel, self.bias) if w is not None])

    def delta(self):
        """(alpha/rank)·A·B in float32, shape of the kernel."""
        return tf.matmul(tf.convert_to_tensor(self.lora_a, tf.float32),
                         tf.convert_to_tensor(self.lora_b, tf.float32)) * self.lora_scale

    def call(self, inputs, training=None):
        if self.export_product is not None:  # it replaces x·W + b (an adapter is merged first)
            return self.activation(self.export_product(inputs))
        out = super().call(inputs)
        if not self.lora_rank or self.merged:
            return out
        x = self.lora_dropout(inputs, training=training) if self.lora_dropout is not None else inputs
        x = tf.cast(x, self.compute_dtype)
        # (..., in) · (in, r) · (r, out): r ≪ in, out, so two thin products instead of one (in, out) sum
        return out + tf.tensordot(tf.tensordot(x, self.lora_a, 1), self.lora_b, 1) * tf.cast(self.lora_scale, out.dtype)
