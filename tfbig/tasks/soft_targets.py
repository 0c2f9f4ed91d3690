"""Soft targets of a classifier's teachers: T² · KL(softmax(t/T) ‖ softmax(s/T)) (Hinton et al., 2015).

The T² keeps the soft term's gradient the same size as the hard term's when T changes (the gradient of
KL(·/T) shrinks as 1/T²).
"""
from tfbig._keras import tf


def mixed_log_softmax(teacher_logits, weights, temperature: float):
    """Log of the weighted average of the teachers' softened distributions, log Σᵢ wᵢ·softmax(tᵢ/T).

    teacher_logits: list of (B, C) tensors, one per teacher. weights: list of floats summing to 1.
    Returns (B, C) float32 log-probabilities (logs, so one teacher's target is exactly log_softmax(t/T)).
    """
    logs = [tf.nn.log_softmax(tf.cast(t, tf.float32) / temperature, axis=-1) for t in teacher_logits]
    if len(logs) == 1:
        return logs[0]
    log_w = tf.math.log(tf.constant(weights, tf.float32))[:, None, None]  # (K, 1, 1)
    return tf.reduce_logsumexp(tf.stack(logs) + log_w, axis=0)


def kd_per_example(student_logits, target_log_probs, temperature: float):
    """(B,) T² · KL(target ‖ softmax(student/T)); exactly 0 when the student's logits are the (one) teacher's."""
    log_student = tf.nn.log_softmax(tf.cast(student_logits, tf.float32) / temperature, axis=-1)
    log_p = tf.cast(target_log_probs, tf.float32)
    kl = tf.reduce_sum(tf.exp(log_p) * (log_p - log_student), axis=-1)
    return temperature**2 * kl
