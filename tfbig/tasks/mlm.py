"""Masked-language modelling: predict the masked word pieces of unlabelled text (BERT's pretraining task).

Batches are (features, targets) with targets {"mlm_positions" (B, P) int32, "mlm_ids" (B, P) int32,
"mlm_weights" (B, P) float32}: P slots per sequence, weight 0 on unused slots (tfbig.data.mlm_batches).
The head decodes the P positions only; the loss is the cross-entropy per slot, averaged over the real
(weighted) slots of the global batch.
"""
import math

import numpy as np

from tfbig._keras import keras, tf
from tfbig.errors import UserError
from tfbig.tasks.base import Task
from tfbig.tasks.registry import register_task

MLM_LABELS = ["[MASK]"]  # the run's target vocabulary is the tokenizer's; labels.txt records the task's one kind


@keras.utils.register_keras_serializable("tfbig")
class MaskedAccuracy(keras.metrics.Metric):
    """Share of masked slots whose arg-max prediction is the original piece (slots of weight 0 left out)."""

    def __init__(self, name: str = "masked_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.correct = self.add_weight(name="correct", initializer="zeros", dtype=tf.float64)
        self.count = self.add_weight(name="count", initializer="zeros", dtype=tf.float64)

    def update_state(self, y, logits, sample_weight=None):
        w = tf.cast(y["mlm_weights"], tf.float64)
        hit = tf.cast(tf.equal(tf.argmax(logits, -1, output_type=tf.int32), tf.cast(y["mlm_ids"], tf.int32)),
                      tf.float64)
        self.correct.assign_add(tf.reduce_sum(hit * w))
        self.count.assign_add(tf.reduce_sum(w))

    def result(self):
        return tf.cast(tf.math.divide_no_nan(self.correct, self.count), tf.float32)

    def reset_state(self):
        self.correct.assign(0.0)
        self.count.assign(0.0)


@keras.utils.register_keras_serializable("tfbig")
class Perplexity(keras.metrics.Metric):
    """exp(mean masked-slot cross-entropy): the mean is over all slots seen since the last reset."""

    def __init__(self, name: str = "perplexity", **kwargs):
        super().__init__(name=name, **kwargs)
        self.total = self.add_weight(name="total", initializer="zeros", dtype=tf.float64)
        self.count = self.add_weight(name="count", initializer="zeros", dtype=tf.float64)

    def update_state(self, y, logits, sample_weight=None):
        w = tf.cast(y["mlm_weights"], tf.float64)
        ce = tf.cast(masked_ce(y, logits), tf.float64)
        self.total.assign_add(tf.reduce_sum(ce * w))
        self.count.assign_add(tf.reduce_sum(w))

    def result(self):
        return tf.cast(tf.exp(tf.math.divide_no_nan(self.total, self.count)), tf.float32)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


def masked_ce(y, logits):
    """(B, P) cross-entropy of each slot's original piece under `logits` (B, P, V)."""
    return keras.losses.sparse_categorical_crossentropy(tf.cast(y["mlm_ids"], tf.int32), tf.cast(logits, tf.float32),
                                                        from_logits=True)


def report_from_values(mlm_loss: float, masked_accuracy: float) -> dict:
    """The report of a pretraining run's held-out slice (perplexity = exp of the mean loss)."""
    loss = float(mlm_loss)
    return {"mlm_loss": loss, "masked_accuracy": float(masked_accuracy),
            "perplexity": float(math.exp(min(loss, 700.0)))}


@register_task
class MaskedLMTask(Task):
    """Masked-language modelling on unlabelled text; the head is tfbig.layers.mlm_head.MaskedLMHead."""

    name = "mlm"
    loss_name = "mlm_loss"

    def __init__(self, labels: list | None = None):
        super().__init__(labels or MLM_LABELS)

    def fit(self, targets):
        return self

    def head_for(self, backbone, dropout):
        from tfbig.layers.feed_forward import HIDDEN_ACTS
        from tfbig.layers.mlm_head import MaskedLMHead
        from tfbig.models.encoder import BertEncoder

        if not isinstance(backbone, BertEncoder):
            raise UserError("task mlm needs model.backbone tfbig (its head is tied to tfbig's word embeddings), got "
                            f"{type(backbone).__name__}")
        head = MaskedLMHead(backbone.vocab_size, backbone.hidden_size, activation=HIDDEN_ACTS[backbone.hidden_act],
                            layer_norm_epsilon=backbone.layer_norm_eps,
                            kernel_initializer=keras.initializers.TruncatedNormal(stddev=backbone.initializer_range),
                            name="head")
        return head.tie_to(backbone.embeddings)

    def model_inputs(self, x, y):
        return {**x, "mlm_positions": y["mlm_positions"]}

    def loss(self, y, outputs):
        return masked_ce(y, outputs)

    def loss_weights(self, y):
        return tf.cast(y["mlm_weights"], tf.float32)

    def metrics(self):
        return [MaskedAccuracy(), Perplexity()]

    def report(self, y_true, outputs):
        """y_true: dict of (N, P) arrays ("mlm_ids", "mlm_weights"); outputs: (N, P, V) logits."""
        logits = np.asarray(outputs, np.float64)
        ids, w = np.asarray(y_true["mlm_ids"]), np.asarray(y_true["mlm_weights"], np.float64)
        if not w.sum():
            return report_from_values(0.0, 0.0)
        shifted = logits - logits.max(-1, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
        ce = -np.take_along_axis(log_probs, ids[..., None], -1)[..., 0]
        correct = (logits.argmax(-1) == ids).astype(np.float64)
        return report_from_values((ce * w).sum() / w.sum(), (correct * w).sum() / w.sum())

    def summary_scalars(self, report):
        return {k: report[k] for k in ("mlm_loss", "masked_accuracy", "perplexity") if k in report}

    def format_report(self, report):
        return (f"mlm_loss {report['mlm_loss']:.4f}  masked_accuracy {report['masked_accuracy']:.4f}  "
                f"perplexity {report['perplexity']:.2f}")

    def serving_module(self, model, tokenizer, asset_files):
        from tfbig.tasks.fill_mask import FillMaskModule

        return FillMaskModule(model, tokenizer, asset_files)

    def export_metadata(self):
        return {"task": self.name, "labels": list(self.labels or [])}
