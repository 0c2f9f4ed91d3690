"""The distillation losses against values computed by hand."""
import math

import numpy as np

from tfbig._keras import tf
from tfbig.distill import losses


def test_kd_is_zero_when_student_logits_equal_teacher_logits():
    logits = tf.constant(np.random.default_rng(0).normal(size=(5, 4)) * 3, tf.float32)
    for temperature in (1.0, 2.0, 5.0):
        target = losses.soft_targets([logits], [1.0], temperature)
        kd = losses.kd_per_example(logits, target, temperature).numpy()
        np.testing.assert_array_equal(kd, 0.0)


def test_kd_is_t_squared_times_kl_by_hand():
    teacher, student = tf.constant([[2.0, 0.0]]), tf.constant([[0.0, 0.0]])
    for temperature in (1.0, 2.0, 4.0):
        z = math.exp(2.0 / temperature)
        p = [z / (z + 1), 1 / (z + 1)]
        kl = sum(pi * math.log(pi / 0.5) for pi in p)  # softmax(student / T) = [0.5, 0.5]
        target = losses.soft_targets([teacher], [1.0], temperature)
        got = losses.kd_per_example(student, target, temperature).numpy()[0]
        assert abs(got - temperature**2 * kl) < 1e-6


def test_soft_targets_average_teachers_with_weights():
    a, b = tf.constant([[1.0, 0.0, -1.0]]), tf.constant([[0.0, 3.0, 0.0]])
    got = np.exp(losses.soft_targets([a, b], [0.75, 0.25], 2.0).numpy())
    want = 0.75 * tf.nn.softmax(a / 2.0).numpy() + 0.25 * tf.nn.softmax(b / 2.0).numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_hidden_mse_skips_padding_tokens():
    student = tf.constant([[[1.0, 1.0], [3.0, 3.0], [100.0, 100.0]]])  # (1, 3, 2); the last token is padding
    teacher = tf.zeros([1, 3, 2])
    got = losses.hidden_mse_per_example(student, teacher, tf.constant([[1, 1, 0]])).numpy()
    np.testing.assert_allclose(got, [(1.0 + 9.0) / 2], rtol=1e-7)


def test_attention_kl_by_hand_and_zero_when_equal():
    t = tf.constant([[[[0.5, 0.5], [1.0, 0.0]]]])  # (1, 1 head, 2 queries, 2 keys)
    s = tf.constant([[[[0.25, 0.75], [0.5, 0.5]]]])
    want = (0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75) + math.log(1.0 / 0.5)) / 2
    got = losses.attention_kl_per_example(s, t, tf.constant([[1, 1]])).numpy()
    np.testing.assert_allclose(got, [want], rtol=1e-6)
    np.testing.assert_allclose(losses.attention_kl_per_example(t, t, tf.constant([[1, 1]])).numpy(), [0.0], atol=1e-7)


def test_attention_kl_averages_heads_when_counts_differ():
    t = tf.constant([[[[0.5, 0.5]], [[1.0, 0.0]]]])  # 2 heads, 1 query -> head mean [0.75, 0.25]
    s = tf.constant([[[[0.75, 0.25]]]])  # 1 head, equal to the teacher's head mean
    np.testing.assert_allclose(losses.attention_kl_per_example(s, t, tf.constant([[1]])).numpy(), [0.0], atol=1e-7)
