"""Streaming Keras metrics computed from a confusion matrix, so macro-F1 appears in `fit` logs and TensorBoard."""
from tfbig._keras import keras, tf


@keras.utils.register_keras_serializable("tfbig")
class MacroF1(keras.metrics.Metric):
    """Macro-averaged F1 over `num_classes`, accumulated as a confusion matrix (rows: true, columns: predicted).

    num_classes: int. Number of labels.

    Classes without true or predicted examples count as F1 0, as scikit-learn's `zero_division=0` does,
    so the value equals `f1_score(y, pred, average="macro", labels=range(num_classes))`.
    `matrix` holds the counts, e.g. for a confusion-matrix image after an evaluation.
    """

    def __init__(self, num_classes: int, name: str = "macro_f1", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_classes = int(num_classes)
        self.matrix = self.add_weight(name="matrix", shape=(self.num_classes, self.num_classes),
                                      initializer="zeros", dtype=tf.float64)

    def update_state(self, y_true, logits, sample_weight=None):
        y_true = tf.reshape(tf.cast(y_true, tf.int32), [-1])
        y_pred = tf.reshape(tf.argmax(logits, axis=-1, output_type=tf.int32), [-1])
        keep = y_true >= 0  # -1 marks unlabelled examples
        counts = tf.math.confusion_matrix(tf.boolean_mask(y_true, keep), tf.boolean_mask(y_pred, keep),
                                          num_classes=self.num_classes, dtype=tf.float64)
        self.matrix.assign_add(counts)

    def result(self):
        tp = tf.linalg.diag_part(self.matrix)
        denominator = tf.reduce_sum(self.matrix, axis=0) + tf.reduce_sum(self.matrix, axis=1)  # 2tp + fp + fn
        f1 = tf.math.divide_no_nan(2.0 * tp, denominator)
        return tf.cast(tf.reduce_mean(f1), tf.float32)

    def reset_state(self):
        self.matrix.assign(tf.zeros_like(self.matrix))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.utils.register_keras_serializable("tfbig")
class MeanPearson(keras.metrics.Metric):
    """Pearson's r between targets and predictions, per column, averaged over the `num_targets` columns.

    num_targets: int. Columns of the (B, K) targets and predictions.

    Accumulates n, Σy, Σp, Σy², Σp², Σyp per column in float64, so the value over many batches equals
    np.corrcoef over all rows at once (a column without variance counts as r = 0).
    """

    def __init__(self, num_targets: int, name: str = "pearson", **kwargs):
        super().__init__(name=name, **kwargs)
        self.num_targets = int(num_targets)
        self.sums = self.add_weight(name="sums", shape=(6, self.num_targets), initializer="zeros", dtype=tf.float64)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y = tf.reshape(tf.cast(y_true, tf.float64), [-1, self.num_targets])
        p = tf.reshape(tf.cast(y_pred, tf.float64), [-1, self.num_targets])
        n = tf.cast(tf.shape(y)[0], tf.float64) * tf.ones([self.num_targets], tf.float64)
        self.sums.assign_add(tf.stack([n, tf.reduce_sum(y, 0), tf.reduce_sum(p, 0), tf.reduce_sum(y * y, 0),
                                       tf.reduce_sum(p * p, 0), tf.reduce_sum(y * p, 0)]))

    def result(self):
        n, sy, sp, syy, spp, syp = tf.unstack(self.sums)
        cov = n * syp - sy * sp
        var = tf.maximum(n * syy - sy * sy, 0.0) * tf.maximum(n * spp - sp * sp, 0.0)
        return tf.cast(tf.reduce_mean(tf.math.divide_no_nan(cov, tf.sqrt(var))), tf.float32)

    def reset_state(self):
        self.sums.assign(tf.zeros_like(self.sums))

    def get_config(self):
        return {**super().get_config(), "num_targets": self.num_targets}
