"""A text classifier (backbone → dropout → Dense) whose train_step minimises cross-entropy + λ/2·Σw² (+ λ₁·Σ|w|)."""
from tfbig._keras import keras, tf
from tfbig.distribute.losses import average_loss
from tfbig.evaluate.metrics import MacroF1

DEFAULT_PENALTY_EXCLUDE = ("bias", "LayerNorm", "layer_norm")


class TextClassifier(keras.Model):
    """Backbone pooled output → dropout → Dense(num_classes) logits, trained with an explicit objective.

    backbone: keras layer. Takes the features dict, returns {"sequence_output", "pooled_output"}.
    num_classes: int. Number of labels.
    dropout: float. Dropout on the pooled output.
    l2: float. λ of the penalty λ/2·Σw² added to the loss (the L2 of the article's objective).
    l1: float. λ₁ of the penalty λ₁·Σ|w|.
    penalty_exclude: sequence of str. Variables whose name contains one of these get no penalty.
    accumulation_steps: int. Each training batch is processed as this many micro-batches whose gradients
        are summed before one optimizer step (tfbig.train.accumulation).

    The loss is averaged over the *global* batch (`tfbig.distribute.losses.average_loss`), the penalty divided
    by the number of replicas (`tf.nn.scale_regularization_loss`), so that summing gradients over
    replicas gives the single-device gradient. With a plain mean, N replicas give N× too large gradients.
    """

    def __init__(self, backbone, num_classes: int, dropout: float = 0.1, l2: float = 0.0, l1: float = 0.0,
                 penalty_exclude=DEFAULT_PENALTY_EXCLUDE, accumulation_steps: int = 1, **kwargs):
        super().__init__(**kwargs)
        self.backbone = backbone
        self.num_classes = int(num_classes)
        self.l2 = float(l2)
        self.l1 = float(l1)
        self.penalty_exclude = tuple(penalty_exclude)
        self.accumulation_steps = int(accumulation_steps)
        self.dropout = keras.layers.Dropout(dropout)
        self.head = keras.layers.Dense(
            num_classes, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02), name="head"
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.ce_tracker = keras.metrics.Mean(name="ce")
        self.l2_tracker = keras.metrics.Mean(name="l2_term")
        self.l1_tracker = keras.metrics.Mean(name="l1_term")
        self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self.macro_f1 = MacroF1(num_classes, name="macro_f1")
        # Running totals for examples/s and tokens/s; not in `metrics`, so never reset by fit.
        self.examples_seen = keras.metrics.Sum(name="examples_seen", dtype=tf.float64)
        self.tokens_seen = keras.metrics.Sum(name="tokens_seen", dtype=tf.float64)

    def call(self, inputs, training=False):
        pooled = self.backbone(inputs, training=training)["pooled_output"]
        logits = self.head(self.dropout(pooled, training=training))
        return tf.cast(logits, tf.float32)  # softmax and loss in float32 under mixed precision

    def forward(self, inputs, training=False, **backbone_kwargs):
        """The backbone's outputs plus "logits"; `backbone_kwargs` (output_hidden_states=True,
        output_attentions=True) ask the backbone for its "hidden_states"/"attentions" (distillation)."""
        out = dict(self.backbone(inputs, training=training, **backbone_kwargs))
        out["logits"] = tf.cast(self.head(self.dropout(out["pooled_output"], training=training)), tf.float32)
        return out

    @property
    def metrics(self):
        return [self.loss_tracker, self.ce_tracker, self.l2_tracker, self.l1_tracker, self.accuracy, self.macro_f1]

    def penalized_weights(self):
        return [w for w in self.trainable_weights if not any(s in w.name for s in self.penalty_exclude)]

    def penalty_terms(self):
        """Returns (λ/2·Σw², λ₁·Σ|w|) over the penalized weights, in float32."""
        weights = [tf.cast(w, tf.float32) for w in self.penalized_weights()]
        zero = tf.constant(0.0)
        l2 = 0.5 * self.l2 * tf.add_n([tf.reduce_sum(tf.square(w)) for w in weights]) if self.l2 and weights else zero
        l1 = self.l1 * tf.add_n([tf.reduce_sum(tf.abs(w)) for w in weights]) if self.l1 and weights else zero
        return l2, l1

    def compute_objective(self, x, y, training: bool):
        """Returns (loss to differentiate on this replica, logits, per-example CE, l2 term, l1 term)."""
        logits = self(x, training=training)
        per_example = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        l2, l1 = self.penalty_terms()
        loss = average_loss(per_example) + tf.nn.scale_regularization_loss(l2 + l1)
        return loss, logits, per_example, l2, l1

    def train_step(self, data):
        x, y = data[0], data[1]
        if self.accumulation_steps > 1:
            from tfbig.train.accumulation import accumulated_gradients

            grads, logits, per_example = accumulated_gradients(self, x, y, self.accumulation_steps)
            l2, l1 = self.penalty_terms()
        else:
            with tf.GradientTape() as tape:
                loss, logits, per_example, l2, l1 = self.compute_objective(x, y, training=True)
                scaled = self.optimizer.get_scaled_loss(loss) if hasattr(self.optimizer, "get_scaled_loss") else loss
            grads = tape.gradient(scaled, self.trainable_variables)
            if hasattr(self.optimizer, "get_unscaled_gradients"):
                grads = self.optimizer.get_unscaled_gradients(grads)
        # Read after the forward pass: a model first built inside fit has created its variables only now.
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        self.examples_seen.update_state(tf.cast(tf.shape(y)[0], tf.float64))
        self.tokens_seen.update_state(tf.reduce_sum(tf.cast(x["attention_mask"], tf.float64)))
        return self._update_metrics(y, logits, per_example, l2, l1)

    def test_step(self, data):
        x, y = data[0], data[1]
        _, logits, per_example, l2, l1 = self.compute_objective(x, y, training=False)
        return self._update_metrics(y, logits, per_example, l2, l1)

    def _update_metrics(self, y, logits, per_example, l2, l1):
        n = tf.cast(tf.shape(per_example)[0], tf.float32)
        ce = tf.math.divide_no_nan(tf.reduce_sum(per_example), n)  # 0, not NaN, on a replica with no example
        self.ce_tracker.update_state(ce, sample_weight=n)
        self.loss_tracker.update_state(ce + l2 + l1, sample_weight=n)
        self.l2_tracker.update_state(l2)
        self.l1_tracker.update_state(l1)
        self.accuracy.update_state(y, logits)
        self.macro_f1.update_state(y, logits)
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        return {
            "backbone": keras.layers.serialize(self.backbone),
            "num_classes": self.num_classes,
            "dropout": self.dropout.rate,
            "l2": self.l2,
            "l1": self.l1,
            "penalty_exclude": list(self.penalty_exclude),
            "accumulation_steps": self.accumulation_steps,
        }
