"""Training on the real tokens only: the same outputs and gradients as computing every padded position."""
import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.layers.unpad import Unpadding, in_xla_context
from tfbig.models.encoder import BertEncoder

GEOMETRY = {"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 4,
            "intermediate_size": 24, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
MASK = tf.constant([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [1, 1, 0, 0, 0, 0]], tf.int32)
IDS = tf.constant(np.random.RandomState(0).randint(1, 40, (3, 6)), tf.int32) * MASK
FEATURES = {"input_ids": IDS, "attention_mask": MASK, "token_type_ids": tf.zeros_like(IDS)}
REAL = MASK.numpy().astype(bool)


def test_gather_then_scatter_puts_each_real_row_back_and_zeros_the_padding():
    unpadding = Unpadding(MASK)
    x = tf.reshape(tf.range(3 * 6 * 2, dtype=tf.float32), [3, 6, 2])
    rows = unpadding.gather(x)
    assert rows.shape == (int(REAL.sum()), 2)
    np.testing.assert_array_equal(rows.numpy(), x.numpy()[REAL])
    back = unpadding.padded(rows).numpy()
    np.testing.assert_array_equal(back[REAL], x.numpy()[REAL])
    assert not back[~REAL].any()


def _encoder(unpad, recompute=False, **overrides):
    keras.utils.set_random_seed(0)
    encoder = BertEncoder(**{**GEOMETRY, **overrides}).build_weights()
    encoder.unpad = unpad
    if recompute:
        encoder.enable_recompute()
    return encoder


def _outputs_and_gradients(encoder, jit=False):
    weights = tf.cast(MASK, tf.float32)[..., tf.newaxis]

    @tf.function(jit_compile=jit)
    def step():
        with tf.GradientTape() as tape:
            out = encoder(FEATURES, training=True, output_hidden_states=True, output_attentions=True)
            loss = (tf.reduce_sum(tf.square(out["sequence_output"]) * weights)
                    + tf.reduce_sum(out["pooled_output"] * tf.range(16, dtype=tf.float32)))
        return out, tape.gradient(loss, encoder.trainable_variables)

    out, grads = step()
    return out, [tf.convert_to_tensor(g).numpy() for g in grads]


@pytest.mark.parametrize("recompute", [False, True])
def test_unpadded_training_has_the_padded_outputs_and_gradients(recompute):
    padded_out, padded_grads = _outputs_and_gradients(_encoder(False))
    encoder = _encoder(True, recompute)
    out, grads = _outputs_and_gradients(encoder)
    seq = out["sequence_output"].numpy()
    np.testing.assert_allclose(seq[REAL], padded_out["sequence_output"].numpy()[REAL], atol=1e-5)
    assert not seq[~REAL].any()  # the padded positions were never computed
    np.testing.assert_allclose(out["pooled_output"].numpy(), padded_out["pooled_output"].numpy(), atol=1e-5)
    for a, b in zip(out["hidden_states"], padded_out["hidden_states"]):
        np.testing.assert_allclose(a.numpy()[REAL], b.numpy()[REAL], atol=1e-5)
    for a, b in zip(out["attentions"], padded_out["attentions"]):  # every real query's probabilities
        np.testing.assert_allclose(a.numpy().transpose(0, 2, 1, 3)[REAL], b.numpy().transpose(0, 2, 1, 3)[REAL],
                                   atol=1e-6)
    assert len(grads) == len(padded_grads) == len(encoder.trainable_variables)
    for a, b, v in zip(grads, padded_grads, encoder.trainable_variables):
        scale = max(1.0, float(np.abs(b).max()))
        np.testing.assert_allclose(a, b, atol=2e-6 * scale, rtol=0, err_msg=v.name)


def test_norm_first_blocks_unpad_too():
    padded_out, padded_grads = _outputs_and_gradients(_encoder(False, norm_first=True))
    out, grads = _outputs_and_gradients(_encoder(True, norm_first=True))
    np.testing.assert_allclose(out["sequence_output"].numpy()[REAL],
                               padded_out["sequence_output"].numpy()[REAL], atol=1e-5)
    for a, b in zip(grads, padded_grads):
        np.testing.assert_allclose(a, b, atol=2e-6 * max(1.0, float(np.abs(b).max())), rtol=0)


def test_an_xla_step_computes_the_padded_positions():
    """Under jit_compile the number of real tokens would be a dynamic shape: the encoder keeps (B, T)."""
    assert not in_xla_context()
    assert tf.function(lambda: tf.constant(in_xla_context()), jit_compile=True)().numpy()
    out, grads = _outputs_and_gradients(_encoder(True), jit=True)
    padded_out, padded_grads = _outputs_and_gradients(_encoder(False))
    seq = out["sequence_output"].numpy()
    np.testing.assert_allclose(seq, padded_out["sequence_output"].numpy(), atol=1e-5)
    assert seq[~REAL].any()  # computed, as the padded path does
    for a, b in zip(grads, padded_grads):
        np.testing.assert_allclose(a, b, atol=1e-4)
