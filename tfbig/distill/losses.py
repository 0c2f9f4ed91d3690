"""Distillation losses, one value per example so that tfbig.distribute.losses.average_loss can scale them across replicas.

- soft_targets / kd_per_example: T² · KL(softmax(t/T) ‖ softmax(s/T)) (Hinton et al., 2015). The T² keeps the
  soft term's gradient the same size as the hard term's when T changes (the gradient of KL(·/T) shrinks as 1/T²).
- hidden_mse_per_example: mean squared error between (projected) student and teacher hidden states, over
  non-padding tokens (TinyBERT, Jiao et al., 2020).
- attention_kl_per_example: KL between teacher and student attention distributions over non-padding
  queries (MiniLM, Wang et al., 2020; TinyBERT distils the same maps).
"""
from tfbig._keras import tf

EPS = 1e-12  # floor for log(p) of the student's attention probabilities (masked keys are exactly 0)


def soft_targets(teacher_logits, weights, temperature: float):
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
