"""Distillation losses, one value per example so that tfbig.distribute.losses.average_loss can scale them across replicas.

- soft_targets / kd_per_example (tfbig.tasks.soft_targets, where the classification task uses them): T² · KL(softmax(t/T) ‖ softmax(s/T)) (Hinton et al., 2015). The T² keeps the
  soft term's gradient the same size as the hard term's when T changes (the gradient of KL(·/T) shrinks as 1/T²).
- hidden_mse_per_example: mean squared error between (projected) student and teacher hidden states, over
  non-padding tokens (TinyBERT, Jiao et al., 2020).
- attention_kl_per_example: KL between teacher and student attention distributions over non-padding
  queries (MiniLM, Wang et al., 2020; TinyBERT distils the same maps).
"""
from tfbig._keras import tf
from tfbig.tasks.soft_targets import kd_per_example, mixed_log_softmax as soft_targets  # noqa: F401

EPS = 1e-12  # floor for log(p) of the student's attention probabilities (masked keys are exactly 0)


def masked_mean(values, mask):
    """(B, T) values, (B, T) 0/1 mask -> (B,) mean over the unmasked positions."""
    mask = tf.cast(mask, values.dtype)
    return tf.reduce_sum(values * mask, axis=-1) / tf.maximum(tf.reduce_sum(mask, axis=-1), 1.0)


def hidden_mse_per_example(student_hidden, teacher_hidden, mask):
    """(B, T, H) student (already projected to the teacher's width) and teacher states -> (B,) MSE over real tokens."""
    diff = tf.cast(student_hidden, tf.float32) - tf.cast(teacher_hidden, tf.float32)
    return masked_mean(tf.reduce_mean(tf.square(diff), axis=-1), mask)


def attention_kl_per_example(student_attention, teacher_attention, mask):
    """(B, h, T, T) attention probabilities -> (B,) KL(teacher ‖ student) over keys, averaged over heads and real queries.

    With different head counts the maps are averaged over heads first (one distribution per query).
    """
    s = tf.cast(student_attention, tf.float32)
    t = tf.cast(teacher_attention, tf.float32)
    if s.shape[1] != t.shape[1]:
        s = tf.reduce_mean(s, axis=1, keepdims=True)
        t = tf.reduce_mean(t, axis=1, keepdims=True)
    kl = tf.reduce_sum(tf.math.xlogy(t, t) - t * tf.math.log(tf.maximum(s, EPS)), axis=-1)  # (B, h, T)
    return masked_mean(tf.reduce_mean(kl, axis=1), mask)
