"""train.class_weights balanced: n / (C·count_c) from the training split, applied per example in the loss."""
import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.config import load_config
from tfbig.data.text_files import Examples
from tfbig.errors import UserError
from tfbig.reports.classification import classification_report
from tfbig.tasks.registry import get_task
from tfbig.testing import tiny_classifier
from tfbig.train.callbacks import BestCheckpoint
from tfbig.train.class_weights import balanced_class_weights, set_class_weights


def test_balanced_weights_are_n_over_classes_times_count():
    assert balanced_class_weights([0, 0, 0, 0, 0, 0, 1, 1, 2], 3) == [9 / 18, 9 / 6, 9 / 3]
    assert balanced_class_weights([1, 0, 1, 0], 2) == [1.0, 1.0]
    assert balanced_class_weights([0, 0, 1], 3) == [3 / 6, 3 / 3, 0.0]  # a class the split lacks


def test_set_class_weights_from_the_training_split():
    task = get_task("classification", ["a", "b", "c"])
    train = Examples(["t"] * 9, ["a"] * 6 + ["b"] * 2 + ["c"])
    assert set_class_weights(task, train, "balanced") == {"a": 0.5, "b": 1.5, "c": 3.0}
    got = task.loss_weights(tf.constant([2, 0, 1, 0], tf.int32)).numpy()
    np.testing.assert_array_equal(got, np.float32([3.0, 0.5, 1.5, 0.5]))
    assert set_class_weights(task, train, "none") is None
    np.testing.assert_array_equal(task.loss_weights(tf.constant([2, 0])).numpy(), [1.0, 1.0])


def test_the_objective_is_the_class_weighted_mean_of_the_cross_entropy(tiny_bert_dir):
    model = tiny_classifier(tiny_bert_dir, num_classes=2)
    model.task.class_weights = [0.75, 1.5]  # 3 of class 0, 1 of class 1 → 4 / (2·3), 4 / (2·1)
    ids = tf.constant([[2, 10, 11, 3], [2, 12, 3, 0], [2, 13, 14, 3], [2, 15, 3, 0]], tf.int32)
    x = {"input_ids": ids, "attention_mask": tf.cast(ids > 0, tf.int32), "token_type_ids": tf.zeros_like(ids)}
    y = tf.constant([0, 0, 1, 0], tf.int32)
    got = float(model.compute_objective(x, y, training=False)["loss"])
    ce = keras.losses.sparse_categorical_crossentropy(y, model(x, training=False), from_logits=True).numpy()
    w = np.array([0.75, 0.75, 1.5, 0.75])
    assert got == pytest.approx(float((w * ce).sum() / w.sum()), rel=1e-6)


def test_config_choices_and_macro_f1_monitor():
    assert load_config(None).train.class_weights == "none"
    assert load_config(None, ["train.class_weights=balanced"]).train.class_weights == "balanced"
    with pytest.raises(UserError, match="train.class_weights 'balance' is not one of none, balanced"):
        load_config(None, ["train.class_weights=balance"])
    assert load_config(None, ["train.monitor=val_macro_f1"]).train.monitor == "val_macro_f1"
    assert BestCheckpoint("unused", "val_macro_f1").mode == "max"


def test_the_report_lists_classes_never_predicted():
    report = classification_report([0, 1, 2, 2], [0, 0, 0, 2], ["a", "b", "c"])
    assert report["never_predicted"] == ["b"]
