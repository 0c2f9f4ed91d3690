"""General distillation (TinyBERT's first stage, Jiao et al., 2020): a frozen teacher encoder teaches a smaller
student encoder on unlabelled text, layer by layer, before any task is seen.

For a batch of rows (B, T) and a layer map [(a₁, b₁), …] pairing teacher layer a with student layer b
(1-based transformer layers), the per-example objective is

    embedding_weight · MSE(W₀ s₀, t₀)                        # embedding outputs, through a learned W₀
  + hidden_weight    · mean_k MSE(W_k s_{b_k}, t_{a_k})      # block outputs, one learned W_k per pair
  + attention_weight · mean_k KL(A^t_{a_k} ‖ A^s_{b_k})      # attention distributions over keys

with every MSE and KL averaged over the row's real tokens (tfbig.distill.losses). W: Dense(student width →
teacher width), identity-initialised when the widths match. The student learns only from the teacher's
internals, so the labels of the batch (MLM targets of tfbig.data.mlm_batches) are ignored.
"""
from tfbig._keras import keras, tf
from tfbig.distill import losses
from tfbig.distill.model import default_layer_map
from tfbig.distribute.losses import weighted_average_loss
from tfbig.errors import UserError
from tfbig.models.presets import preset
from tfbig.tasks.base import Task
from tfbig.train.objective_model import ObjectiveModel

TERMS = ("embedding_mse", "hidden_mse", "attention_kl")
SHAPE_KEYS = ("num_hidden_layers", "hidden_size", "num_attention_heads", "intermediate_size")


class GeneralDistillTarget(Task):
    """What the run skeleton asks of a task, for a run with no labels: a name and one label for labels.txt."""

    name = "general_distill"
    loss_name = "loss"

    def __init__(self):
        super().__init__(["[HIDDEN_STATES]"])


def student_encoder(teacher, preset_name: str = "tiny", name: str = "student", **shape):
    """A randomly initialised BertEncoder on the teacher's vocabulary, positions and activation.

    preset_name: str. A tfbig.models.presets name, or "" for a shape given in full by `shape`.
    shape: num_hidden_layers, hidden_size, num_attention_heads, intermediate_size; 0 or absent keeps the preset's.
    """
    from tfbig.models.encoder import BertEncoder

    sizes = {k: v for k, v in preset(preset_name).items() if k in SHAPE_KEYS} if preset_name else {}
    sizes.update({k: int(v) for k, v in shape.items() if v})
    missing = [k for k in SHAPE_KEYS if k not in sizes]
    if missing:
        raise UserError(f"general.preset is empty and general.{missing[0]} is 0: give a preset or the whole shape")
    if sizes["hidden_size"] % sizes["num_attention_heads"]:
        raise UserError(f"general.hidden_size {sizes['hidden_size']} is not a multiple of num_attention_heads "
                        f"{sizes['num_attention_heads']}")
    same = {k: getattr(teacher, k) for k in ("vocab_size", "max_position_embeddings", "type_vocab_size",
                                             "hidden_act", "layer_norm_eps", "hidden_dropout_prob",
                                             "attention_probs_dropout_prob")}
    return BertEncoder(name=name, **same, **sizes).build_weights()


class GeneralDistillationModel(ObjectiveModel):
    """Trains `student` (a BertEncoder) on the intermediate terms of the module docstring against `teacher`.

    teacher: BertEncoder. Frozen (trainable=False) and run with training=False.
    student: BertEncoder. What learns, with the projections this model owns.
    layer_map: list of (teacher_layer, student_layer) or None. 1-based transformer layers; None: student layer
        j ↔ teacher layer round(j·Lt/Ls) (the top layers meet). The embedding outputs always pair (0 ↔ 0).
    embedding_weight, hidden_weight, attention_weight: float. Weights of the three terms.

    >>> model = GeneralDistillationModel(BertEncoder.from_pretrained(folder), student_encoder(teacher, "tiny"))
    >>> model.compile(optimizer="adam"); model.fit(corpus_batches, epochs=1)
    """

    def __init__(self, teacher, student, layer_map=None, embedding_weight: float = 1.0, hidden_weight: float = 1.0,
                 attention_weight: float = 1.0, accumulation_steps: int = 1, **kwargs):
        super().__init__(accumulation_steps=accumulation_steps, **kwargs)
        teacher.trainable = False
        student.pooler.trainable = False  # no term reads pooled_output: it would get no gradient (a task learns it)
        self.teacher, self.student = teacher, student
        lt, ls = teacher.num_hidden_layers, student.num_hidden_layers
        pairs = [(int(a), int(b)) for a, b in layer_map] if layer_map else default_layer_map(lt, ls)
        for a, b in pairs:
            if not (1 <= a <= lt and 1 <= b <= ls):
                raise UserError(f"general.layer_map pair {a}:{b} is outside teacher layers 1..{lt} / student 1..{ls} "
                                "(the embeddings always pair 0:0)")
        self.layer_map = pairs
        self.embedding_weight, self.hidden_weight = float(embedding_weight), float(hidden_weight)
        self.attention_weight = float(attention_weight)
        t_width, s_width = teacher.hidden_size, student.hidden_size
        init = "identity" if t_width == s_width else "glorot_uniform"
        self.projections = []  # [0]: the embeddings; [k + 1]: layer_map[k]
        for k in range(len(pairs) + 1):
            proj = keras.layers.Dense(t_width, kernel_initializer=init, dtype="float32", name=f"projection_{k}")
            proj.build((None, None, s_width))
            self.projections.append(proj)
        self.trackers = {n: keras.metrics.Mean(name=n) for n in ("loss",) + TERMS}

    def call(self, inputs, training=False):
        return self.student(inputs, training=training)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def learned_variables(self):
        """The student and the projections, never the teacher."""
        return self.student.trainable_variables + [v for p in self.projections for v in p.trainable_variables]

    def per_example_terms(self, x, training: bool) -> dict:
        """{embedding_mse, hidden_mse, attention_kl, per_example}: each (B,)."""
        wants = {"output_hidden_states": True, "output_attentions": bool(self.attention_weight)}
        t = tf.nest.map_structure(tf.stop_gradient, self.teacher(x, training=False, **wants))
        s = self.student(x, training=training, **wants)
        mask = x["attention_mask"]
        th, sh = t["hidden_states"], s["hidden_states"]
        terms = {"embedding_mse": losses.hidden_mse_per_example(self.projections[0](sh[0]), th[0], mask)}
        mse = [losses.hidden_mse_per_example(p(sh[b]), th[a], mask)
               for p, (a, b) in zip(self.projections[1:], self.layer_map)]
        terms["hidden_mse"] = tf.add_n(mse) / len(mse)
        per_example = self.embedding_weight * terms["embedding_mse"] + self.hidden_weight * terms["hidden_mse"]
        if self.attention_weight:
            kl = [losses.attention_kl_per_example(s["attentions"][b - 1], t["attentions"][a - 1], mask)
                  for a, b in self.layer_map]
            terms["attention_kl"] = tf.add_n(kl) / len(kl)
            per_example += self.attention_weight * terms["attention_kl"]
        terms["per_example"] = per_example
        return terms

    def compute_objective(self, x, y, training: bool) -> dict:
        terms = self.per_example_terms(x, training)
        terms["loss"] = weighted_average_loss(terms["per_example"], tf.ones_like(terms["per_example"]))
        return terms

    def update_metrics(self, y, terms):
        n = tf.cast(tf.shape(terms["per_example"])[0], tf.float32)
        self.trackers["loss"].update_state(tf.reduce_mean(terms["per_example"]), sample_weight=n)
        for name in TERMS:
            if name in terms:
                self.trackers[name].update_state(tf.reduce_mean(terms[name]), sample_weight=n)
        return {m.name: m.result() for m in self.trackers.values() if m.name in terms or m.name == "loss"}
