"""DistillationModel: a frozen teacher (or several) trains a student classifier with compile/fit."""
from tfbig._keras import keras, tf
from tfbig.distill import losses
from tfbig.distribute.losses import average_loss


def default_layer_map(teacher_layers: int, student_layers: int) -> list:
    """Student layer j (1..Ls) learns from teacher layer round(j·Lt/Ls): the top layers always meet."""
    return [(round(j * teacher_layers / student_layers), j) for j in range(1, student_layers + 1)]


def _dummy_features(length: int = 4) -> dict:
    ids = tf.ones([1, length], tf.int32)
    return {"input_ids": ids, "attention_mask": ids, "token_type_ids": tf.zeros_like(ids)}


class DistillationModel(keras.Model):
    """Trains `student` on α·CE(labels) + (1−α)·T²·KL(teacher soft targets ‖ student) [+ intermediate terms].

    teacher: keras model or list of them. Returns logits; for the hidden/attention terms a TextClassifier
        (its `forward` exposes "hidden_states"/"attentions"). Runs outside the tape with training=False and is
        frozen (trainable=False); its weights never change.
    student: TextClassifier. The only model that learns (with the hidden-state projections this model owns).
    temperature: float. T of the softened distributions.
    alpha: float. Weight of the hard-label cross-entropy; 1 − α weights the soft term.
    teacher_weights: list of float or None. Weights of the teachers' soft targets (normalised); None: equal.
    hidden_weight: float. Weight of the hidden-state MSE (student states through a learned Dense projection).
    attention_weight: float. Weight of the attention-distribution KL.
    layer_map: list of (teacher_layer, student_layer) or None. Which layers the intermediate terms pair;
        0 is the embedding output (hidden term only), i ≥ 1 the i-th transformer layer. Both intermediate terms
        use the first teacher. None: `default_layer_map`.

    Batches are (features, labels) — the teachers run live — or (features, (labels, teacher_logits)) with
    logits cached beforehand (tfbig.distill.cache), (B, C) for one teacher or (B, K, C) for K.
    `evaluate`/`predict` use the student alone; export `model.student`.

    >>> model = DistillationModel(teacher, student, temperature=2.0, alpha=0.5)
    >>> model.compile(optimizer="adam"); model.fit(train_ds, epochs=3)
    """

    def __init__(self, teacher, student, temperature: float = 2.0, alpha: float = 0.5, teacher_weights=None,
                 hidden_weight: float = 0.0, attention_weight: float = 0.0, layer_map=None, **kwargs):
        super().__init__(**kwargs)
        teachers = list(teacher) if isinstance(teacher, (list, tuple)) else [teacher]
        if not teachers:
            raise ValueError("DistillationModel needs at least one teacher")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        weights = [1.0] * len(teachers) if teacher_weights is None else [float(w) for w in teacher_weights]
        if len(weights) != len(teachers) or min(weights) < 0 or sum(weights) <= 0:
            raise ValueError(f"teacher_weights {weights} must be {len(teachers)} non-negative numbers, not all 0")
        for t in teachers:
            t.trainable = False
        self.teachers = teachers
        self.student = student
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.teacher_weights = [w / sum(weights) for w in weights]
        self.hidden_weight = float(hidden_weight)
        self.attention_weight = float(attention_weight)
        self.layer_map, self.projections = [], []
        if self.hidden_weight or self.attention_weight:
            self._setup_intermediate(layer_map)
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("loss", "ce", "kd", "hidden_mse", "attention_kl")}
        self.accuracy = keras.metrics.SparseCategoricalAccuracy(name="accuracy")

    def _setup_intermediate(self, layer_map):
        """Reads both models' depth and width from one dummy forward pass; creates the projections."""
        for m, role in ((self.teachers[0], "teacher"), (self.student, "student")):
            if not hasattr(m, "forward"):
                raise TypeError(f"the hidden/attention terms need a {role} with forward(); got {type(m).__name__}")
        t = self.teachers[0].forward(_dummy_features(), output_hidden_states=True)["hidden_states"]
        s = self.student.forward(_dummy_features(), output_hidden_states=True)["hidden_states"]
        lt, ls = len(t) - 1, len(s) - 1
        pairs = default_layer_map(lt, ls) if not layer_map else [(int(a), int(b)) for a, b in layer_map]
        for a, b in pairs:
            if not (0 <= a <= lt and 0 <= b <= ls):
                raise ValueError(f"layer_map pair ({a}, {b}) is outside teacher 0..{lt} / student 0..{ls}")
        self.layer_map = pairs
        t_width, s_width = int(t[-1].shape[-1]), int(s[-1].shape[-1])
        if self.hidden_weight:
            # Identity start when widths match: the student's own states are the first guess.
            init = "identity" if t_width == s_width else "glorot_uniform"
            for k in range(len(pairs)):
                proj = keras.layers.Dense(t_width, kernel_initializer=init, name=f"hidden_projection_{k}")
                proj.build((None, None, s_width))
                self.projections.append(proj)

    def call(self, inputs, training=False):
        return self.student(inputs, training=training)

    @property
    def metrics(self):
        return list(self.trackers.values()) + [self.accuracy]

    def learned_variables(self):
        """What the optimizer updates: the student and the projections, never a teacher."""
        return self.student.trainable_variables + [v for p in self.projections for v in p.trainable_variables]

    @staticmethod
    def unpack(data):
        """(x, y) or (x, (y, teacher_logits)) -> x, y, teacher_logits or None."""
        x, target = data[0], data[1]
        if isinstance(target, (tuple, list)):
            return x, target[0], target[1]
        return x, target, None

    def teacher_outputs(self, x, cached_logits=None) -> dict:
        """Soft-target log-probabilities (B, C) and, when the intermediate terms ask, the first teacher's states."""
        out, logits = {}, []
        if self.hidden_weight or self.attention_weight:
            first = self.teachers[0].forward(x, training=False, output_hidden_states=bool(self.hidden_weight),
                                             output_attentions=bool(self.attention_weight))
            out.update({k: first[k] for k in ("hidden_states", "attentions") if k in first})
            logits = [first["logits"]]
        if cached_logits is not None:
            cached = tf.cast(cached_logits, tf.float32)
            logits = tf.unstack(cached[:, None, :] if cached.shape.rank == 2 else cached, axis=1)
            if len(logits) != len(self.teachers):
                raise ValueError(f"cached logits hold {len(logits)} teachers; the model has {len(self.teachers)}")
        else:
            logits += [t(x, training=False) for t in self.teachers[len(logits):]]
        out["log_probs"] = losses.soft_targets(logits, self.teacher_weights, self.temperature)
        return tf.nest.map_structure(tf.stop_gradient, out)

    def compute_terms(self, x, y, teacher_out: dict, training: bool) -> dict:
        """Per-example terms (B,) and "loss", the scalar this replica differentiates."""
        kw = {"output_hidden_states": bool(self.hidden_weight), "output_attentions": bool(self.attention_weight)}
        s = self.student.forward(x, training=training, **kw) if any(kw.values()) else \
            {"logits": self.student(x, training=training)}
        terms = {"logits": s["logits"],
                 "ce": keras.losses.sparse_categorical_crossentropy(y, s["logits"], from_logits=True),
                 "kd": losses.kd_per_example(s["logits"], teacher_out["log_probs"], self.temperature)}
        per_example = self.alpha * terms["ce"] + (1.0 - self.alpha) * terms["kd"]
        mask = x["attention_mask"]
        if self.hidden_weight:
            mse = [losses.hidden_mse_per_example(p(s["hidden_states"][b]), teacher_out["hidden_states"][a], mask)
                   for p, (a, b) in zip(self.projections, self.layer_map)]
            terms["hidden_mse"] = tf.add_n(mse) / len(mse)
            per_example += self.hidden_weight * terms["hidden_mse"]
        if self.attention_weight:
            kl = [losses.attention_kl_per_example(s["attentions"][b - 1], teacher_out["attentions"][a - 1], mask)
                  for a, b in self.layer_map if a >= 1 and b >= 1]
            if not kl:
                raise ValueError(f"layer_map {self.layer_map} pairs no transformer layers for the attention term")
            terms["attention_kl"] = tf.add_n(kl) / len(kl)
            per_example += self.attention_weight * terms["attention_kl"]
        penalty = tf.add_n(self.student.penalty_terms()) if hasattr(self.student, "penalty_terms") else 0.0
        terms["penalty"] = penalty
        terms["per_example"] = per_example
        # Global-batch mean and per-replica penalty share: summing replicas' gradients gives one device's.
        terms["loss"] = average_loss(per_example) + tf.nn.scale_regularization_loss(penalty)
        return terms

    def train_step(self, data):
        x, y, cached = self.unpack(data)
        teacher_out = self.teacher_outputs(x, cached)  # outside the tape: no gradient reaches a teacher
        with tf.GradientTape() as tape:
            terms = self.compute_terms(x, y, teacher_out, training=True)
            loss = terms["loss"]
            scaled = self.optimizer.get_scaled_loss(loss) if hasattr(self.optimizer, "get_scaled_loss") else loss
        variables = self.learned_variables()
        grads = tape.gradient(scaled, variables)
        if hasattr(self.optimizer, "get_unscaled_gradients"):
            grads = self.optimizer.get_unscaled_gradients(grads)
        self.optimizer.apply_gradients(zip(grads, variables))
        return self._update_metrics(y, terms)

    def test_step(self, data):
        """Scores the student alone on the labels: loss = ce (+ penalty), accuracy."""
        x, y, _ = self.unpack(data)
        logits = self.student(x, training=False)
        ce = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        n = tf.cast(tf.shape(ce)[0], tf.float32)
        self.trackers["ce"].update_state(tf.reduce_mean(ce), sample_weight=n)
        self.trackers["loss"].update_state(tf.reduce_mean(ce), sample_weight=n)
        self.accuracy.update_state(y, logits)
        return {"loss": self.trackers["loss"].result(), "ce": self.trackers["ce"].result(),
                "accuracy": self.accuracy.result()}

    def _update_metrics(self, y, terms):
        n = tf.cast(tf.shape(terms["ce"])[0], tf.float32)
        self.trackers["loss"].update_state(tf.reduce_mean(terms["per_example"]) + terms["penalty"], sample_weight=n)
        for name in ("ce", "kd", "hidden_mse", "attention_kl"):
            if name in terms:
                self.trackers[name].update_state(tf.reduce_mean(terms[name]), sample_weight=n)
        self.accuracy.update_state(y, terms["logits"])
        return {m.name: m.result() for m in self.metrics if m.name in terms or m.name in ("loss", "accuracy")}
