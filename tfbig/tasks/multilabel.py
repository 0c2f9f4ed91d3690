"""Multi-label classification: a set of labels per text (possibly empty), one sigmoid per label.

Targets are (N, L) multi-hot float32 rows over the sorted label vocabulary; the loss is the binary
cross-entropy averaged over labels. After training, a threshold per label is tuned on the validation split
(`tune`, called by the run skeleton before the test split is seen) and kept as a non-trainable variable of
the head, so the weights, the rebuilt run and the SavedModel all serve with it.
"""
import numpy as np

from tfbig._keras import keras, tf
from tfbig.errors import UserError
from tfbig.tasks.base import Task
from tfbig.tasks.registry import register_task


@keras.utils.register_keras_serializable("tfbig")
class MultiLabelHead(keras.layers.Layer):
    """Backbone outputs → dropout on `pooled_output` → Dense(L) logits; holds the tuned `thresholds` (L,).

    num_labels: int. L. dropout: float. thresholds: list of L floats (initial values; 0.5 each by default).
    """

    # It reads nothing of the backbone's outputs but "pooled_output": an export may compute the last block at the
    # [CLS] position only (tfbig.export.fused).
    reads_pooled_output_only = True

    def __init__(self, num_labels: int, dropout: float = 0.1, thresholds=None, **kwargs):
        super().__init__(**kwargs)
        self.num_labels = int(num_labels)
        self.rate = float(dropout)
        self.thresholds_init = [float(t) for t in (thresholds if thresholds is not None else [0.5] * self.num_labels)]
        self.dropout = keras.layers.Dropout(self.rate)
        self.dense = keras.layers.Dense(
            self.num_labels, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02), name="dense")
        self.thresholds = self.add_weight(name="thresholds", shape=(self.num_labels,), dtype=tf.float32,
                                          initializer=keras.initializers.Constant(self.thresholds_init),
                                          trainable=False,
                                          experimental_autocast=False)

    def call(self, backbone_outputs, training=False):
        return self.dense(self.dropout(backbone_outputs["pooled_output"], training=training))

    def get_config(self):
        return {**super().get_config(), "num_labels": self.num_labels, "dropout": self.rate,
                "thresholds": self.thresholds_init}


@keras.utils.register_keras_serializable("tfbig")
class MicroF1(keras.metrics.Metric):
    """Micro-averaged F1 of logits > 0 (probability 0.5) against multi-hot targets, from streamed counts."""

    def __init__(self, name: str = "micro_f1", **kwargs):
        super().__init__(name=name, **kwargs)
        self.counts = self.add_weight(name="counts", shape=(3,), initializer="zeros", dtype=tf.float64)  # tp fp fn

    def update_state(self, y_true, logits, sample_weight=None):
        y = tf.cast(y_true, tf.float64) > 0.5
        p = logits > 0
        count = lambda a, b: tf.reduce_sum(tf.cast(tf.logical_and(a, b), tf.float64))  # noqa: E731
        self.counts.assign_add(tf.stack([count(y, p), count(~y, p), count(y, ~p)]))

    def result(self):
        tp, fp, fn = tf.unstack(self.counts)
        return tf.cast(tf.math.divide_no_nan(2 * tp, 2 * tp + fp + fn), tf.float32)

    def reset_state(self):
        self.counts.assign(tf.zeros_like(self.counts))


def parse_label_list(separator: str):
    """parse(values, where) for tfbig.data.text_files.read_fields: a sorted tuple of distinct label names
    from a JSON list (JSONL) or a `separator`-joined string (CSV/TSV, or a JSON string); "" and [] are ()."""

    def parse(values, where):
        (value,) = values
        if isinstance(value, list):
            if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
                raise UserError(f"{where}: a label list holds strings, got {value!r}")
            names = [str(v).strip() for v in value]
        elif isinstance(value, str):
            names = [v.strip() for v in value.split(separator)]
        else:
            raise UserError(f"{where}: labels {value!r} are neither a list nor a '{separator}'-separated string")
        return tuple(sorted(set(n for n in names if n)))

    return parse


@register_task
class MultiLabelTask(Task):
    """A label set per text. labels: the sorted label vocabulary. thresholds: one per label (0.5 until tuned)."""

    name = "multilabel"
    loss_name = "bce"
    monitor_default = "val_micro_f1"
    tunes_on_validation = True

    def __init__(self, labels: list | None = None, thresholds=None, separator: str = "|"):
        super().__init__(labels)
        self.thresholds = None if thresholds is None else [float(t) for t in thresholds]
        self.separator = separator
        self._head = None

    # --- data -------------------------------------------------------------------------------------------
    def read_examples(self, data_cfg):
        from tfbig.data.clean import clean
        from tfbig.data.sources import load_field_examples, target_columns

        self.separator = getattr(data_cfg, "label_separator", "|") or "|"
        if data_cfg.source == "debtags":
            from tfbig.data.debtags import read_debtags

            examples = read_debtags()
        else:
            columns = target_columns(data_cfg)
            if len(columns) != 1:
                raise UserError(f"data.label_column {data_cfg.label_column!r}: a multilabel task reads one column "
                                "holding each text's label list")
            examples = load_field_examples(data_cfg, columns, parse_label_list(self.separator))
        examples, stats = clean(examples)
        stats["empty_label_lists"] = sum(1 for labels in examples.labels if not labels)
        return examples, stats

    def fit(self, targets):
        self.labels = sorted({name for row in targets for name in row})
        if not self.labels:
            raise UserError("multilabel: no training example has a label")
        self.thresholds = [0.5] * len(self.labels)
        return self

    def check_targets(self, targets, where):
        unknown = sorted({name for row in targets for name in row} - set(self.labels))
        if unknown:
            raise UserError(f"{where}: labels {unknown} are not among the training labels {self.labels}")

    def encode(self, targets):
        """(N, L) float32 multi-hot rows; a label outside the vocabulary (unseen in train) is dropped."""
        index = {name: i for i, name in enumerate(self.labels)}
        y = np.zeros((len(targets), len(self.labels)), np.float32)
        for row, names in enumerate(targets):
            for name in names:
                if name in index:
                    y[row, index[name]] = 1.0
        return y

    def split(self, examples, test_fraction, val_fraction, seed):
        """Iterative stratification (Sechidis et al., 2011; Szymański & Kajdanowicz, 2017): every label's
        share is kept in each split as far as possible, so rare labels reach validation and test."""
        from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

        from tfbig.data.split import Splits
        from tfbig.data.text_files import Examples

        vocabulary = sorted({name for row in examples.labels for name in row})
        index = {name: i for i, name in enumerate(vocabulary)}
        y = np.zeros((len(examples), max(len(vocabulary), 1)), np.int64)
        for row, names in enumerate(examples.labels):
            y[row, [index[n] for n in names]] = 1
        if len(examples) < 3:
            raise UserError(f"multilabel: {len(examples)} example(s) cannot be split into train, validation and test")

        def cut(ids, fraction):
            splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
            rest, held = next(splitter.split(np.zeros(len(ids)), y[ids]))
            return ids[rest], ids[held]

        rest, test = cut(np.arange(len(examples)), test_fraction)
        train, val = cut(rest, val_fraction / (1 - test_fraction)) if val_fraction > 0 else (rest, rest[:0])

        def take(ids):
            ids = sorted(int(i) for i in ids)
            return Examples([examples.texts[i] for i in ids], [examples.labels[i] for i in ids])

        return Splits(take(train), take(val), take(test), vocabulary)

    @property
    def target_dtype(self):
        return tf.float32

    # --- model ------------------------------------------------------------------------------------------
    def build_head(self, dropout):
        self._head = MultiLabelHead(len(self.labels), dropout=dropout, thresholds=self.thresholds, name="head")
        return self._head

    def loss(self, y, outputs):
        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(y, tf.float32), logits=tf.cast(outputs, tf.float32))
        return tf.reduce_mean(bce, axis=-1)  # (B,)

    def metrics(self):
        return [MicroF1(name="micro_f1")]

    # --- thresholds -------------------------------------------------------------------------------------
    def tune(self, y_true, outputs) -> list:
        """Tunes each label's threshold on validation (targets, logits); stores them in the task and head."""
        from tfbig.reports.multilabel import tune_thresholds

        probabilities = 1 / (1 + np.exp(-np.asarray(outputs, np.float64)))
        self.thresholds = tune_thresholds(y_true, probabilities)
        if self._head is not None:
            self._head.thresholds.assign(self.thresholds)
        return self.thresholds

    def current_thresholds(self) -> list:
        """The head's thresholds when built (a loaded run's), else the task's (0.5 each before tuning)."""
        if self._head is not None:
            return [round(float(t), 6) for t in self._head.thresholds.numpy()]
        return list(self.thresholds or [0.5] * len(self.labels or []))

    # --- evaluation -------------------------------------------------------------------------------------
    def report(self, y_true, outputs):
        from tfbig.reports.multilabel import multilabel_report

        thresholds = np.asarray(self.current_thresholds())
        logits = np.reshape(outputs, (-1, len(self.labels)))
        predicted = 1 / (1 + np.exp(-logits.astype(np.float64))) >= thresholds
        report = multilabel_report(np.reshape(y_true, (-1, len(self.labels))), predicted, self.labels)
        report["thresholds"] = thresholds.tolist()
        return report

    def write_report(self, report, folder, title="test split"):
        import os

        from tfbig.io_utils import atomic_write_bytes
        from tfbig.reports.plots import per_class_png

        atomic_write_bytes(os.path.join(folder, "per_label.png"),
                           per_class_png(report, f"Per-label precision, recall and F1, {title}"))
        return {"per-label precision, recall and F1": "per_label.png"}

    def summary_scalars(self, report):
        return {"micro_f1": report["micro"]["f1"], "macro_f1": report["macro"]["f1"],
                "samples_f1": report["samples_f1"], "subset_accuracy": report["subset_accuracy"]}

    def report_images(self, report):
        from tfbig.reports.plots import per_class_png

        return {"test_per_label": per_class_png(report, "Per-label precision, recall and F1")}

    def format_report(self, report):
        from tfbig.reports.multilabel import format_report

        return format_report(report)

    def markdown(self, report, title, details, images):
        from tfbig.reports.multilabel import report_markdown

        return report_markdown(report, title, details, images)

    def floor_metrics(self, report):
        return {"micro_f1": report["micro"]["f1"], "macro_f1": report["macro"]["f1"]}

    def baseline(self, train_texts, train_y, test_texts, test_y, seed):
        from tfbig.reports.multilabel import one_vs_rest_baseline

        return one_vs_rest_baseline(train_texts, train_y, test_texts, test_y, self.labels, seed=seed)

    # --- serving ----------------------------------------------------------------------------------------
    def serving_outputs(self, outputs):
        """probabilities (B, L); predicted (B, L) 0/1 at each label's threshold; labels (B,) the predicted
        names joined by the data's label separator ("" for none)."""
        probs = tf.reshape(tf.sigmoid(tf.cast(outputs, tf.float32)), [-1, len(self.labels)])  # rank known statically
        thresholds = self._head.thresholds if self._head is not None else tf.constant(self.current_thresholds())
        predicted = probs >= thresholds
        names = tf.ragged.boolean_mask(tf.broadcast_to(tf.constant(self.labels), tf.shape(predicted)), predicted)
        joined = tf.strings.reduce_join(names, axis=-1, separator=self.separator)  # (B,)
        return {"probabilities": probs, "predicted": tf.cast(predicted, tf.int32), "labels": joined}

    def restore_export_metadata(self, metadata):
        self.thresholds = [float(t) for t in metadata.get("thresholds", self.current_thresholds())]
        self.separator = metadata.get("separator", self.separator)
        return self

    def format_prediction(self, row):
        """The labels at or over their threshold with their probabilities, likeliest first; (none) if none."""
        probs, chosen = np.asarray(row["probabilities"]), np.asarray(row["predicted"])
        order = sorted((i for i in range(len(self.labels)) if chosen[i]), key=lambda i: -probs[i])
        return "  ".join(f"{self.labels[i]} {probs[i]:.4f}" for i in order) or "(none)"

    def outputs_from_served(self, served):
        """The logits of the served probabilities (sigmoid's inverse): report thresholds them as the head's."""
        p = np.clip(np.asarray(served["probabilities"], np.float64), 1e-12, 1 - 1e-12)
        return np.log(p) - np.log1p(-p)

    def export_metadata(self):
        return {**super().export_metadata(), "thresholds": self.current_thresholds(), "separator": self.separator}

    # --- distillation -----------------------------------------------------------------------------------
    def soft_targets(self, teacher_outputs, weights, temperature):
        """(B, L) the teachers' weighted sigmoid(logits / T)."""
        return tf.add_n([w * tf.sigmoid(tf.cast(t, tf.float32) / temperature) for w, t in zip(weights, teacher_outputs)])

    def distill_loss(self, student_outputs, targets, temperature):
        """(B,) T² · mean over labels of BCE(q, sigmoid(s/T)) − H(q): the Bernoulli KL, BCE's gradient, 0 when
        the student's logits are the (one) teacher's."""
        q = tf.clip_by_value(targets, 1e-7, 1 - 1e-7)
        bce = tf.nn.sigmoid_cross_entropy_with_logits(labels=q, logits=tf.cast(student_outputs, tf.float32) / temperature)
        entropy = -(q * tf.math.log(q) + (1 - q) * tf.math.log(1 - q))
        return temperature**2 * tf.reduce_mean(bce - entropy, axis=-1)

    def get_config(self):
        return {"labels": self.labels, "thresholds": self.current_thresholds(), "separator": self.separator}
