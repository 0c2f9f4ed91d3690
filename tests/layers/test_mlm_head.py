"""MaskedLMHead: equals a numpy reference, gathers before decoding, ties its decoder, round-trips its config."""
import math

import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.layers import BertEmbeddings
from tfbig.layers.mlm_head import MaskedLMHead

V, H = 40, 8


def _erf_gelu(x):
    return 0.5 * x * (1 + np.vectorize(math.erf)(x / math.sqrt(2)))


@pytest.fixture
def tied():
    keras.utils.set_random_seed(0)
    emb = BertEmbeddings(V, H, max_position_embeddings=16)
    emb({"input_ids": tf.zeros([1, 3], tf.int32)})
    head = MaskedLMHead(V, H, name="mlm").tie_to(emb)
    seq = tf.random.normal([2, 6, H], seed=1)
    head({"sequence_output": seq})
    head.bias.assign(np.linspace(-1, 1, V).astype(np.float32))
    head.layer_norm.gamma.assign(np.linspace(0.5, 1.5, H).astype(np.float32))
    return emb, head, seq


def test_head_matches_numpy_reference_at_gathered_positions(tied):
    emb, head, seq = tied
    positions = np.array([[0, 3], [5, 5]], np.int32)
    out = head({"sequence_output": seq, "features": {"mlm_positions": tf.constant(positions)}}).numpy()
    assert out.shape == (2, 2, V)
    x = np.take_along_axis(seq.numpy(), positions[..., None], axis=1)  # (B, P, H)
    x = _erf_gelu(x @ head.dense.kernel.numpy() + head.dense.bias.numpy())
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
    x = (x - mean) / np.sqrt(var + 1e-12) * head.layer_norm.gamma.numpy() + head.layer_norm.beta.numpy()
    expected = x @ emb.word_embeddings.numpy().T + head.bias.numpy()
    np.testing.assert_allclose(out, expected, atol=1e-5)


def test_gathered_logits_equal_full_sequence_logits_at_those_positions(tied):
    _, head, seq = tied
    full = head({"sequence_output": seq}).numpy()  # (B, T, V)
    positions = np.array([[1, 4, 2], [0, 0, 5]], np.int32)
    part = head({"sequence_output": seq, "features": {"mlm_positions": positions}}).numpy()
    np.testing.assert_allclose(part, np.take_along_axis(full, positions[..., None], axis=1), atol=1e-6)


def test_decoder_is_tied_to_the_embeddings_and_not_a_weight_of_its_own(tied):
    emb, head, seq = tied
    names = sorted(w.name.split("/", 1)[1] for w in head.weights)
    assert names == ["LayerNorm/beta:0", "LayerNorm/gamma:0", "bias:0", "dense/bias:0", "dense/kernel:0"]
    before = head({"sequence_output": seq}).numpy()
    emb.word_embeddings.assign(emb.word_embeddings * 2.0)  # the decoder sees the change
    assert not np.allclose(before, head({"sequence_output": seq}).numpy())


def test_config_round_trip():
    head = MaskedLMHead(V, H, activation="gelu_approximate", layer_norm_epsilon=1e-6, name="mlm")
    again = MaskedLMHead.from_config(head.get_config())
    assert again.get_config() == head.get_config()
    with pytest.raises(ValueError, match="activation"):
        MaskedLMHead(V, H, activation="swish")


def test_mixed_bfloat16_head_returns_float32_close_to_float32(tied):
    emb, head, seq = tied
    expected = head({"sequence_output": seq}).numpy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        twin = MaskedLMHead(V, H, name="mlm16").tie_to(emb)
        twin({"sequence_output": seq})
        twin.set_weights(head.get_weights())
        out = twin({"sequence_output": tf.cast(seq, tf.bfloat16)})
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert out.dtype == tf.float32 and twin.dense.kernel.dtype == tf.float32
    np.testing.assert_allclose(out.numpy(), expected, atol=0.1)
