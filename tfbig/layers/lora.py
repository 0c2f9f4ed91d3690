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
        if not self.lora_rank or self.merged:
            return super().call(inputs)
        if self.lora_dropout is not None and training:  # the adapter sees another input than W: two paths
            out = super().call(inputs)
            x = tf.cast(self.lora_dropout(inputs, training=training), self.compute_dtype)
            # (..., in) · (in, r) · (r, out): r ≪ in, out, so two thin products instead of one (in, out) sum
            return out + tf.tensordot(tf.tensordot(x, self.lora_a, 1), self.lora_b, 1) * tf.cast(self.lora_scale,
                                                                                                   out.dtype)
        out = lora_product(tf.cast(inputs, self.compute_dtype), self.kernel, self.lora_a, self.lora_b,
                           self.lora_scale)
        if self.use_bias:
            out = tf.nn.bias_add(out, tf.cast(self.bias, out.dtype))
        return out


def lora_product(x, kernel, lora_a, lora_b, scale: float):
    """x·(W + scale·A·B) as one product, with a gradient for x, A and B only (W is frozen).

    Autodiff of x·W + scale·(x·A)·B makes two thin products (x·A)·B and dy·Bᵀ·Aᵀ of shape (tokens, out) and two
    sums more than a plain Dense, in each direction; autodiff of x·(W + scale·A·B) makes the full weight gradient
    xᵀ·dy that LoRA exists to avoid. This forms W + scale·A·B once per call (in, r, out: no token dimension), runs
    one product forward and one backward for dx, and gets dA = scale·xᵀ·(dy·Bᵀ) and dB = scale·(x·A)ᵀ·dy from
    (tokens, r) products. The variables are read as a layer reads them (in x's dtype: bfloat16 under a mixed
    policy), W + scale·A·B is summed in float32 and cast back. With B = 0 the product is x·W exactly.
    """
    dtype = x.dtype
    a32, b32, kernel32 = (tf.cast(tf.convert_to_tensor(v), tf.float32) for v in (lora_a, lora_b, kernel))

    @tf.custom_gradient
    def product(x, a32, b32):
        weight = tf.cast(kernel32 + tf.matmul(a32, b32) * scale, dtype)
        fan_in, units = int(weight.shape[0]), int(weight.shape[1])
        rows = tf.reshape(x, [-1, fan_in])
        out = tf.reshape(tf.matmul(rows, weight), tf.concat([tf.shape(x)[:-1], [units]], 0))

        def grad(dy):
            dy_rows = tf.reshape(dy, [-1, units])
            dx = tf.reshape(tf.matmul(dy_rows, weight, transpose_b=True), tf.shape(x))
            a, b = tf.cast(a32, dtype), tf.cast(b32, dtype)
            da = tf.matmul(rows, tf.matmul(dy_rows, b, transpose_b=True), transpose_a=True)
            db = tf.matmul(tf.matmul(rows, a), dy_rows, transpose_a=True)
            return dx, tf.cast(da, tf.float32) * scale, tf.cast(db, tf.float32) * scale

        return out, grad

    return product(x, a32, b32)
