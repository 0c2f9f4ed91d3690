"""Single-label classification: one class per text, softmax over the pooled output."""
import numpy as np

from tfbig._keras import keras, tf
from tfbig.errors import UserError
from tfbig.tasks.base import Task
from tfbig.tasks.metrics import MacroF1
from tfbig.tasks.registry import register_task


@keras.utils.register_keras_serializable("tfbig")
class ClassificationHead(keras.layers.Layer):
    """Backbone outputs → dropout on `pooled_output` → Dense(num_classes) logits.

    num_classes: int. Number of labels.
    dropout: float. Dropout rate before the Dense layer.
    """

    # It reads nothing of the backbone's outputs but "pooled_output": an export may compute the last block at the
    # [CLS] position only (tfbig.export.fused).
    reads_pooled_output_only = True

    def __init__(self, num_classes: int, dropout: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = int(num_classes)
        self.rate = float(dropout)
        self.dropout = keras.layers.Dropout(self.rate)
        self.dense = keras.layers.Dense(
            self.num_classes, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02), name="dense")

    def call(self, backbone_outputs, training=False):
        return self.dense(self.dropout(backbone_outputs["pooled_output"], training=training))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "dropout": self.rate}


@register_task
class ClassificationTask(Task):
    """One label per text. Targets are class ids (the index in the sorted label vocabulary)."""

    name = "classification"
    loss_name = "ce"

    def fit(self, targets):
        self.labels = sorted(set(targets))
        return self

    def split(self, examples, test_fraction, val_fraction, seed):
        from tfbig.data.split import stratified_split

        return stratified_split(examples, test_fraction, val_fraction, seed)

    def read_given(self, data_cfg):
        """Given files of labelled classes (tfbig.data.given_splits.read_given_splits); of (text, text_pair)
        pairs with data.text_pair_column, the generic path (Task.read_given) with the pair reader."""
        if self.text_pair_column:
            splits, stats = super().read_given(data_cfg)
            if len(self.labels) < 2:
                raise UserError(f"{data_cfg.train}: a classifier needs at least 2 classes in train; found "
                                f"{self.labels}")
            return splits, stats
        from tfbig.data.given_splits import read_given_splits

        splits, stats = read_given_splits(data_cfg)
        self.labels = list(splits.labels)
        return splits, stats

    def limit_given(self, examples, limit_per_class):
        from tfbig.data.split import limit_per_class as limit

        return limit(examples, limit_per_class)

    def check_targets(self, targets, where):
        unknown = sorted(set(targets) - set(self.labels))
        if unknown:
            raise UserError(f"{where}: labels {unknown} are not among the training labels {self.labels}")

    def encode(self, targets):
        index = {name: i for i, name in enumerate(self.labels)}
        return np.asarray([index[t] for t in targets], np.int32)

    def build_head(self, dropout):
        return ClassificationHead(len(self.labels), dropout=dropout, name="head")

    def loss(self, y, outputs):
        return keras.losses.sparse_categorical_crossentropy(y, outputs, from_logits=True)

    def metrics(self):
        return [keras.metrics.SparseCategoricalAccuracy(name="accuracy"), MacroF1(len(self.labels), name="macro_f1")]

    def report(self, y_true, outputs):
        from tfbig.reports.classification import classification_report

        predicted = np.asarray(outputs).argmax(-1) if len(outputs) else np.zeros((0,), np.int64)
        return classification_report(np.asarray(y_true).tolist(), predicted.tolist(), self.labels)

    def write_report(self, report, folder, title="test split"):
        import os

        from tfbig.io_utils import atomic_write_bytes
        from tfbig.reports.plots import confusion_matrix_png, per_class_png

        atomic_write_bytes(os.path.join(folder, "confusion_matrix.png"),
                           confusion_matrix_png(report["confusion_matrix"], self.labels, f"Confusion matrix, {title}"))
        atomic_write_bytes(os.path.join(folder, "per_class.png"), per_class_png(report))
        return {"confusion matrix": "confusion_matrix.png", "per-class precision, recall and F1": "per_class.png"}

    def summary_scalars(self, report):
        return {"accuracy": report["accuracy"], "macro_f1": report["macro"]["f1"]}

    def floor_metrics(self, report):
        return {"accuracy": report["accuracy"], "macro_f1": report["macro"]["f1"]}

    def report_images(self, report):
        from tfbig.reports.plots import confusion_matrix_png

        return {"test_confusion_matrix": confusion_matrix_png(report["confusion_matrix"], self.labels, "test split")}

    def format_report(self, report):
        from tfbig.reports.classification import format_report

        return format_report(report)

    def markdown(self, report, title, details, images):
        from tfbig.reports.markdown import report_markdown

        return report_markdown(report, title, details, images)

    def validation_images(self, model):
        from tfbig.reports.plots import confusion_matrix_png

        found = [m for m in model.metrics if isinstance(m, MacroF1)]
        if not found:
            return {}
        matrix = found[0].matrix.numpy().astype(np.int64)
        return {"validation_confusion_matrix": confusion_matrix_png(matrix, self.labels, "validation")}

    def baseline(self, train_texts, train_y, test_texts, test_y, seed):
        from tfbig.reports.baseline import tfidf_baseline

        return tfidf_baseline(train_texts, list(train_y), test_texts, list(test_y), self.labels, seed=seed)

    def serving_outputs(self, outputs):
        probs = tf.nn.softmax(tf.cast(outputs, tf.float32), axis=-1)
        label_id = tf.argmax(probs, axis=-1, output_type=tf.int32)
        return {"probabilities": probs, "label_id": label_id, "label": tf.gather(tf.constant(self.labels), label_id)}

    def format_prediction(self, row):
        scores = "  ".join(f"{name} {p:.4f}" for name, p in zip(self.labels, row["probabilities"]))
        return f"{_text(row['label'])}\t{scores}"

    def outputs_from_served(self, served):
        """log-probabilities: the logits up to a constant per row (the same argmax)."""
        return np.log(np.maximum(np.asarray(served["probabilities"], np.float64), 1e-30))

    def soft_targets(self, teacher_outputs, weights, temperature):
        from tfbig.tasks.soft_targets import mixed_log_softmax

        return mixed_log_softmax(teacher_outputs, weights, temperature)

    def distill_loss(self, student_outputs, targets, temperature):
        from tfbig.tasks.soft_targets import kd_per_example

        return kd_per_example(student_outputs, targets, temperature)


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
