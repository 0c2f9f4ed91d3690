"""DistillationModel: a frozen teacher (or several) trains a student classifier with compile/fit."""
from tfbig._keras import keras, tf
from tfbig.distill import losses
from tfbig.distribute.losses import weighted_average_loss
from tfbig.train.objective_model import ObjectiveModel


def _weighted_mean(values, weights):
    """(mean, weight) of a logged term: over the positions `weights` keeps when it is per position as they
    are ((B,) per example, (B, T) per token); a per-example term beside per-token weights: its plain mean."""
    values = tf.cast(values, tf.float32)
    if values.shape.rank != weights.shape.rank:
        return tf.reduce_mean(values), tf.cast(tf.shape(values)[0], tf.float32)
    w = tf.cast(weights, tf.float32)
    n = tf.reduce_sum(w)
    return tf.math.divide_no_nan(tf.reduce_sum(values * w), n), n


def default_layer_map(teacher_layers: int, student_layers: int) -> list:
    """Student layer j (1..Ls) learns from teacher layer round(j·Lt/Ls): the top layers always meet."""
    return [(round(j * teacher_layers / student_layers), j) for j in range(1, student_layers + 1)]


def _dummy_features(length: int = 4) -> dict:
    ids = tf.ones([1, length], tf.int32)
    return {"input_ids": ids, "attention_mask": ids, "token_type_ids": tf.zeros_like(ids)}


class DistillationModel(ObjectiveModel):
    """Trains `student` on α·task loss(labels) + (1−α)·soft loss(teachers) [+ intermediate terms].

    teacher: TaskModel or list of them. Run with training=False and frozen (trainable=False): their
        variables are never watched by the tape and never change.
    student: TaskModel. The only model that learns (with the hidden-state projections this model owns);
        its task decides the hard loss, the soft loss (`Task.soft_targets`/`distill_loss`) and the metrics.
    temperature: float. T of the softened distributions.
    alpha: float. Weight of the hard-label loss; 1 − α weights the soft term.
    teacher_weights: list of float or None. Weights of the teachers' soft targets (normalised); None: equal.
    hidden_weight: float. Weight of the hidden-state MSE (student states through a learned Dense projection).
    attention_weight: float. Weight of the attention-distribution KL.
    layer_map: list of (teacher_layer, student_layer) or None. Which layers the intermediate terms pair;
        0 is the embedding output (hidden term only), i ≥ 1 the i-th transformer layer. Both intermediate terms
        use the first teacher. None: `default_layer_map`.
    accumulation_steps: int. Micro-batches per optimizer step.

    Batches are (features, labels) — the teachers run live — or (features, (labels, teacher_outputs)) with
    outputs cached beforehand (tfbig.distill.cache), (B, C) for one teacher or (B, K, C) for K.
    `evaluate`/`predict` use the student alone; export `model.student`.

    >>> model = DistillationModel(teacher, student, temperature=2.0, alpha=0.5)
    >>> model.compile(optimizer="adam"); model.fit(train_ds, epochs=3)
    """

    def __init__(self, teacher, student, temperature: float = 2.0, alpha: float = 0.5, teacher_weights=None,
                 hidden_weight: float = 0.0, attention_weight: float = 0.0, layer_map=None,
                 accumulation_steps: int = 1, **kwargs):
        super().__init__(accumulation_steps=accumulation_steps, **kwargs)
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
        self.task = student.task
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.teacher_weights = [w / sum(weights) for w in weights]
        self.hidden_weight = float(hidden_weight)
        self.attention_weight = float(attention_weight)
        self.layer_map, self.projections = [], []
        if self.hidden_weight or self.attention_weight:
            self._setup_intermediate(layer_map)
        self.trackers = {name: keras.metrics.Mean(name=name)
                         for name in ("loss", self.task.loss_name, "kd", "hidden_mse", "attention_kl")}
        self.task_metrics = self.task.metrics()

    def _setup_intermediate(self, layer_map):
        """Reads both models' depth and width from one dummy forward pass; creates the projections."""
        for m, role in ((self.teachers[0], "teacher"), (self.student, "student")):
            if not hasattr(m, "call_with_states"):
                raise TypeError(f"the hidden/attention terms need a {role} TaskModel; got {type(m).__name__}")
        t = self.teachers[0].call_with_states(_dummy_features(), output_hidden_states=True)["hidden_states"]
        s = self.student.call_with_states(_dummy_features(), output_hidden_states=True)["hidden_states"]
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
        return list(self.trackers.values()) + self.task_metrics

    def learned_variables(self):
        """What the optimizer updates: the student and the projections, never a teacher."""
        return self.student.trainable_variables + [v for p in self.projections for v in p.trainable_variables]

    @staticmethod
    def unpack(y):
        """labels or (labels, cached teacher outputs) -> labels, cached or None."""
        if isinstance(y, (tuple, list)):
            return y[0], y[1]
        return y, None

    def loss_weights(self, y):
        return self.task.loss_weights(self.unpack(y)[0])

    def teacher_outputs(self, x, cached=None) -> dict:
        """The soft targets and, when the intermediate terms ask, the first teacher's states."""
        out, outputs = {}, []
        if self.hidden_weight or self.attention_weight:
            first = self.teachers[0].call_with_states(x, training=False, output_hidden_states=bool(self.hidden_weight),
                                                      output_attentions=bool(self.attention_weight))
            out.update({k: first[k] for k in ("hidden_states", "attentions") if k in first})
            outputs = [first["outputs"]]
        if cached is not None:
            cached = tf.cast(cached, tf.float32)
            outputs = tf.unstack(cached[:, None] if cached.shape.rank == 2 else cached, axis=1)
            if len(outputs) != len(self.teachers):
                raise ValueError(f"cached outputs hold {len(outputs)} teachers; the model has {len(self.teachers)}")
        else:
            outputs += [t(x, training=False) for t in self.teachers[len(outputs):]]
        out["targets"] = self.task.soft_targets(outputs, self.teacher_weights, self.temperature)
        return tf.nest.map_structure(tf.stop_gradient, out)

    def compute_objective(self, x, y, training: bool) -> dict:
        """Per-example terms (B,) and "loss", the scalar this replica differentiates."""
        labels, cached = self.unpack(y)
        teacher_out = self.teacher_outputs(x, cached)  # teachers are frozen: nothing of theirs is watched
        kw = {"output_hidden_states": bool(self.hidden_weight), "output_attentions": bool(self.attention_weight)}
        s = self.student.call_with_states(x, training=training, **kw) if any(kw.values()) else \
            {"outputs": self.student(x, training=training)}
        hard = self.task.loss(labels, s["outputs"])
        kd = self.task.distill_loss(s["outputs"], teacher_out["targets"], self.temperature)
        terms = {"outputs": s["outputs"], self.task.loss_name: hard, "kd": kd,
                 "weights": self.task.loss_weights(labels)}
        per_example = self.alpha * hard + (1.0 - self.alpha) * kd
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
        terms["penalty"] = tf.convert_to_tensor(penalty, tf.float32)
        terms["per_example"] = per_example
        # Global-batch mean and per-replica penalty share: summing replicas' gradients gives one device's.
        terms["loss"] = weighted_average_loss(per_example, terms["weights"]) + \
            tf.nn.scale_regularization_loss(terms["penalty"])
        return terms

    def test_step(self, data):
        """Scores the student alone on the labels: loss = the task loss, and the task's metrics."""
        x, (labels, _) = data[0], self.unpack(data[1])
        outputs = self.student(x, training=False)
        hard, n = _weighted_mean(self.task.loss(labels, outputs), self.task.loss_weights(labels))
        self.trackers[self.task.loss_name].update_state(hard, sample_weight=n)
        self.trackers["loss"].update_state(hard, sample_weight=n)
        self.task.update_metrics(self.task_metrics, labels, outputs)
        return {m.name: m.result() for m in [self.trackers["loss"], self.trackers[self.task.loss_name]]
                + self.task_metrics}

    def update_metrics(self, y, terms):
        labels, _ = self.unpack(y)
        mean, n = _weighted_mean(terms["per_example"], terms["weights"])
        self.trackers["loss"].update_state(mean + terms["penalty"], sample_weight=n)
        for name in (self.task.loss_name, "kd", "hidden_mse", "attention_kl"):
            if name in terms:
                mean, n = _weighted_mean(terms[name], terms["weights"])
                self.trackers[name].update_state(mean, sample_weight=n)
        self.task.update_metrics(self.task_metrics, labels, terms["outputs"])
        shown = [m for m in self.trackers.values() if m.name in terms or m.name == "loss"] + self.task_metrics
        return {m.name: m.result() for m in shown}
