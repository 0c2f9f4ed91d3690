"""Regression: one or more float targets per text, learnt on standardised targets, served in their own units.

The head predicts z = Dense(pooled) for the standardised targets (y − mean) / std and returns
z · std + mean: the model's outputs (and so the test report, the export and a distillation's teacher) are
in the targets' own units, while the loss, ((out − y) / std)² = (z − (y − mean) / std)², is the MSE on
standardised targets. mean and std are fitted on the training split and kept as non-trainable variables of
the head, so every checkpoint, rebuilt run and SavedModel carries them; the task's config and the export's
metadata record them too.
"""
import math

import numpy as np

from tfbig._keras import keras, tf
from tfbig.errors import UserError
from tfbig.tasks.base import Task
from tfbig.tasks.metrics import MeanPearson
from tfbig.tasks.registry import register_task

LOSSES = ("mse", "huber")  # train.regression_loss


@keras.utils.register_keras_serializable("tfbig")
class RegressionHead(keras.layers.Layer):
    """Backbone outputs → dropout on `pooled_output` → Dense(K) standardised → · std + mean, in float32.

    num_targets: int. K, the number of targets.
    dropout: float. Dropout rate before the Dense layer.
    mean, std: lists of K floats. The training targets' mean and standard deviation (initial values of the
        non-trainable `target_mean` / `target_std`; a loaded checkpoint overwrites them).
    """

    # It reads nothing of the backbone's outputs but "pooled_output": an export may compute the last block at the
    # [CLS] position only (tfbig.export.fused).
    reads_pooled_output_only = True

    def __init__(self, num_targets: int, dropout: float = 0.1, mean=None, std=None, **kwargs):
        super().__init__(**kwargs)
        self.num_targets = int(num_targets)
        self.rate = float(dropout)
        self.mean_init = [float(v) for v in (mean if mean is not None else [0.0] * self.num_targets)]
        self.std_init = [float(v) for v in (std if std is not None else [1.0] * self.num_targets)]
        self.dropout = keras.layers.Dropout(self.rate)
        self.dense = keras.layers.Dense(
            self.num_targets, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02), name="dense")
        self.target_mean = self.add_weight(name="target_mean", shape=(self.num_targets,), dtype=tf.float32,
                                           initializer=keras.initializers.Constant(self.mean_init), trainable=False,
                                           experimental_autocast=False)
        self.target_std = self.add_weight(name="target_std", shape=(self.num_targets,), dtype=tf.float32,
                                          initializer=keras.initializers.Constant(self.std_init), trainable=False,
                                          experimental_autocast=False)

    def call(self, backbone_outputs, training=False):
        z = self.dense(self.dropout(backbone_outputs["pooled_output"], training=training))  # (B, K)
        # The stats stay float32 under a mixed policy (no autocast): a bfloat16 mean of 30 is off by 0.1.
        return tf.cast(z, tf.float32) * self.target_std + self.target_mean

    def get_config(self):
        return {**super().get_config(), "num_targets": self.num_targets, "dropout": self.rate,
                "mean": self.mean_init, "std": self.std_init}


def parse_numbers(columns: list):
    """parse(values, where) for tfbig.data.text_files.read_fields: a tuple of finite floats, else a UserError
    naming the file, line, column and value."""

    def parse(values, where):
        out = []
        for column, value in zip(columns, values):
            try:
                if isinstance(value, bool):
                    raise ValueError
                number = float(value.strip() if isinstance(value, str) else value)
                if not math.isfinite(number):
                    raise ValueError
            except (TypeError, ValueError):
                raise UserError(f"{where}: target '{column}' is {value!r}, not a finite number") from None
            out.append(number)
        return tuple(out)

    return parse


@register_task
class RegressionTask(Task):
    """K float targets per text (`data.label_column`: one name, or several separated by commas).

    labels: the target names. `mean`/`std`: fitted on the training split (None before `fit`).
    loss: "mse" or "huber" (train.regression_loss), on standardised targets; huber_delta in standard deviations.
    """

    name = "regression"
    loss_name = "mse"
    monitor_default = "val_pearson"

    def __init__(self, labels: list | None = None, mean=None, std=None, loss: str = "mse", huber_delta: float = 1.0):
        super().__init__(labels)
        self.mean = None if mean is None else [float(v) for v in mean]
        self.std = None if std is None else [float(v) for v in std]
        self.loss_kind = loss
        self.huber_delta = float(huber_delta)
        self._head = None
        self.split_groups = None  # {text: domain} that split stratifies by (read_examples of data.source vader)

    def configure(self, cfg):
        super().configure(cfg)
        t = cfg.train
        self.loss_kind = getattr(t, "regression_loss", "mse")
        self.huber_delta = float(getattr(t, "huber_delta", 1.0))
        if self.loss_kind not in LOSSES:
            raise UserError(f"train.regression_loss '{self.loss_kind}' is not one of {', '.join(LOSSES)}")
        if self.huber_delta <= 0:
            raise UserError(f"train.huber_delta must be positive, got {self.huber_delta}")
        self.loss_name = self.loss_kind
        return self

    # --- data -------------------------------------------------------------------------------------------
    def read_examples(self, data_cfg):
        from tfbig.data import vader
        from tfbig.data.clean import clean
        from tfbig.data.sources import load_field_examples, target_columns

        from tfbig.data.pairs import clean_pairs, read_lee_pairs, read_pair_examples

        if data_cfg.source == "lee_pairs":
            self.labels = self.labels or ["similarity"]
            return clean_pairs(read_lee_pairs())
        self.split_groups = vader.domain_of_texts() if data_cfg.source == "vader" else None
        columns = [vader.TARGET] if data_cfg.source in vader.SOURCES else target_columns(data_cfg)
        if self.labels is None:
            self.labels = columns
        if getattr(data_cfg, "text_pair_column", ""):
            return clean_pairs(read_pair_examples(data_cfg, columns, parse_numbers(columns)))
        return clean(load_field_examples(data_cfg, columns, parse_numbers(columns)))

    def fit(self, targets):
        y = self._raw(targets)
        if len(y) == 0:
            raise UserError("regression: the training split is empty")
        if self.labels is None or len(self.labels) != y.shape[1]:
            self.labels = [f"target_{k}" for k in range(y.shape[1])] if y.shape[1] > 1 else ["target"]
        std = y.std(axis=0)
        self.mean = y.mean(axis=0).tolist()
        self.std = np.where(std > 0, std, 1.0).tolist()  # a constant target: left in its units
        return self

    def split(self, examples, test_fraction, val_fraction, seed):
        """Seeded random split (no classes to stratify by); stratified by domain where `split_groups` maps each
        text to one (data.source vader: its four domains, so every split holds them in the same proportions)."""
        from sklearn.model_selection import train_test_split

        from tfbig.data.split import Splits, group_split
        from tfbig.data.text_files import Examples

        index = list(range(len(examples)))
        if len(index) < 3:
            raise UserError(f"regression: {len(index)} example(s) cannot be split into train, validation and test")
        groups = getattr(self, "split_groups", None)
        if groups:
            train, val, test = group_split([groups.get(t, "") for t in examples.texts], test_fraction,
                                           val_fraction, seed)
        else:
            rest, test = train_test_split(index, test_size=test_fraction, random_state=seed)
            train, val = (train_test_split(rest, test_size=val_fraction / (1 - test_fraction), random_state=seed)
                          if val_fraction > 0 else (rest, []))

        def take(ids):
            ids = sorted(ids)
            return Examples([examples.texts[i] for i in ids], [examples.labels[i] for i in ids])

        return Splits(take(train), take(val), take(test), list(self.labels or []))

    def _raw(self, targets) -> np.ndarray:
        rows = [t if isinstance(t, (tuple, list, np.ndarray)) else (t,) for t in targets]
        return np.asarray(rows, np.float64).reshape(len(rows), -1)

    def encode(self, targets):
        """(N, K) float32 in the targets' own units (the head's outputs are too)."""
        y = self._raw(targets).astype(np.float32)
        if self.labels is not None and len(y) and y.shape[1] != len(self.labels):
            raise UserError(f"regression: {y.shape[1]} target(s) per example, the task has {len(self.labels)}: "
                            f"{self.labels}")
        return y

    @property
    def target_dtype(self):
        return tf.float32

    # --- model ------------------------------------------------------------------------------------------
    def build_head(self, dropout):
        self._head = RegressionHead(len(self.labels), dropout=dropout, mean=self.mean, std=self.std, name="head")
        return self._head

    def _scale(self):
        """(K,) the targets' std: the head's variable (what a loaded checkpoint holds), else the fitted value."""
        if self._head is not None:
            return self._head.target_std
        if self.std is None:
            raise UserError("regression: the task is not fitted (no target standard deviation)")
        return tf.constant(self.std, tf.float32)

    def _per_example(self, diff):
        """(B,) loss of standardised differences (B, K): the mean over targets of z² (MSE) or Huber(z)."""
        if self.loss_kind == "huber":
            a, d = tf.abs(diff), self.huber_delta
            return tf.reduce_mean(tf.where(a <= d, 0.5 * diff * diff, d * (a - 0.5 * d)), axis=-1)
        return tf.reduce_mean(tf.square(diff), axis=-1)

    def loss(self, y, outputs):
        return self._per_example((tf.cast(outputs, tf.float32) - tf.cast(y, tf.float32)) / self._scale())

    def metrics(self):
        return [MeanPearson(len(self.labels), name="pearson"), keras.metrics.MeanAbsoluteError(name="mae")]

    # --- evaluation -------------------------------------------------------------------------------------
    def report(self, y_true, outputs):
        from tfbig.reports.regression import regression_report

        k = len(self.labels)
        return regression_report(np.reshape(y_true, (-1, k)), np.reshape(outputs, (-1, k)), self.labels)

    def write_report(self, report, folder, title="test split"):
        import os

        from tfbig.io_utils import atomic_write_bytes
        from tfbig.reports.regression import scatter_png

        atomic_write_bytes(os.path.join(folder, "scatter.png"), scatter_png(report["points"], title))
        return {"predicted vs true": "scatter.png"}

    def summary_scalars(self, report):
        return {key: report[key] for key in ("pearson", "spearman", "mae", "rmse")}

    def report_images(self, report):
        from tfbig.reports.regression import scatter_png

        return {"test_scatter": scatter_png(report["points"], "test split")}

    def format_report(self, report):
        from tfbig.reports.regression import format_report

        return format_report(report)

    def markdown(self, report, title, details, images):
        from tfbig.reports.regression import report_markdown

        return report_markdown(report, title, details, images)

    def baseline(self, train_texts, train_y, test_texts, test_y, seed):
        from tfbig.reports.regression import ridge_baseline

        return ridge_baseline(train_texts, train_y, test_texts, test_y, self.labels, seed=seed)

    def floor_metrics(self, report):
        """Pearson and Spearman over all targets (the mean of the per-target values), higher being better."""
        return {"pearson": report["pearson"], "spearman": report["spearman"]}

    # --- serving ----------------------------------------------------------------------------------------
    def serving_outputs(self, outputs):
        """(B, K) predictions in the targets' units: the head has de-standardised them already."""
        return {"predictions": tf.cast(outputs, tf.float32)}

    def fitted_stats(self) -> tuple:
        """(mean, std) lists: the head's variables when it is built (a loaded run's), else the fitted ones."""
        if self._head is not None:
            return self._head.target_mean.numpy().tolist(), self._head.target_std.numpy().tolist()
        return self.mean, self.std

    def restore_export_metadata(self, metadata):
        self.mean, self.std = metadata.get("target_mean", self.mean), metadata.get("target_std", self.std)
        self.loss_kind = metadata.get("loss", self.loss_kind)
        return self

    def format_prediction(self, row):
        values = np.reshape(row["predictions"], (-1,))
        return "  ".join(f"{name} {v:.4f}" for name, v in zip(self.labels, values))

    def outputs_from_served(self, served):
        return np.asarray(served["predictions"], np.float32)

    def export_metadata(self):
        mean, std = self.fitted_stats()
        return {**super().export_metadata(), "target_mean": mean, "target_std": std, "loss": self.loss_kind}

    # --- distillation -----------------------------------------------------------------------------------
    def soft_targets(self, teacher_outputs, weights, temperature):
        """The teachers' weighted mean prediction (B, K); a temperature has no meaning for real values."""
        return tf.add_n([w * tf.cast(t, tf.float32) for w, t in zip(weights, teacher_outputs)])

    def distill_loss(self, student_outputs, targets, temperature):
        """(B,) MSE (or Huber) of the student's standardised predictions to the teachers'; 0 when equal."""
        return self._per_example((tf.cast(student_outputs, tf.float32) - targets) / self._scale())

    def get_config(self):
        mean, std = self.fitted_stats()
        return {"labels": self.labels, "mean": mean, "std": std, "loss": self.loss_kind, "huber_delta": self.huber_delta}
