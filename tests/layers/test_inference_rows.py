"""At inference the encoder block runs on 2-D rows (B·T, H); in training on (B, T, H). With dropout 0 both
graphs compute the same function, whichever mode builds the layers first."""
import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.layers.attention import MultiHeadSelfAttention, additive_mask
from tfbig.layers.encoder_block import TransformerEncoderBlock
from tfbig.layers.feed_forward import FeedForward


def _inputs(b=3, t=7, h=32):
    x = tf.random.stateless_normal([b, t, h], seed=[1, 2])
    mask = np.ones([b, t], np.int32)
    mask[1, 4:] = 0  # one padded row
    return x, additive_mask(tf.constant(mask))


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("first", ["inference", "training"])
def test_block_rows_equal_training_graph(norm_first, first):
    x, mask = _inputs()
    block = TransformerEncoderBlock(32, 4, 64, dropout=0.0, attention_dropout=0.0, norm_first=norm_first)
    calls = {"inference": lambda: block(x, attention_mask=mask, training=False, return_attention_scores=True),
             "training": lambda: block(x, attention_mask=mask, training=True, return_attention_scores=True)}
    out = {first: calls[first]()}
    for mode in calls:
        out.setdefault(mode, calls[mode]())
    (rows, rows_probs), (plain, plain_probs) = out["inference"], out["training"]
    assert rows.shape == plain.shape == x.shape
    np.testing.assert_allclose(rows.numpy(), plain.numpy(), atol=1e-5)
    np.testing.assert_allclose(rows_probs.numpy(), plain_probs.numpy(), atol=1e-6)


def test_attention_takes_rows_with_their_length():
    x, mask = _inputs()
    layer = MultiHeadSelfAttention(32, 4, dropout=0.0)
    full = layer(x, attention_mask=mask, training=False)
    rows = layer(tf.reshape(x, [-1, 32]), attention_mask=mask, training=False, length=7)
    assert rows.shape == (21, 32)
    np.testing.assert_allclose(tf.reshape(rows, x.shape).numpy(), full.numpy(), atol=1e-6)
    np.testing.assert_allclose(full.numpy(), layer(x, attention_mask=mask, training=True).numpy(), atol=1e-5)
    with pytest.raises(ValueError, match="length"):
        layer(tf.reshape(x, [-1, 32]), attention_mask=mask, training=False)


@pytest.mark.parametrize("activation", ["gelu", "gelu_approximate", "relu"])
def test_feed_forward_inference_equals_training(activation):
    x, _ = _inputs()
    layer = FeedForward(32, 64, activation=activation)
    plain = layer(x, training=True).numpy()
    np.testing.assert_allclose(layer(x, training=False).numpy(), plain, atol=1e-5)
    rows = layer(tf.reshape(x, [-1, 32]), training=False).numpy()
    np.testing.assert_allclose(rows.reshape(plain.shape), plain, atol=1e-5)


@pytest.mark.parametrize("norm_first", [False, True])
def test_block_first_token_only_is_the_first_position(norm_first):
    x, mask = _inputs()
    block = TransformerEncoderBlock(32, 4, 64, dropout=0.0, attention_dropout=0.0, norm_first=norm_first)
    full, full_probs = block(x, attention_mask=mask, training=False, return_attention_scores=True)
    first, probs = block(x, attention_mask=mask, training=False, return_attention_scores=True, first_token_only=True)
    assert first.shape == (3, 1, 32) and first.dtype == tf.float32
    np.testing.assert_allclose(first.numpy(), full.numpy()[:, :1], atol=1e-5)
    np.testing.assert_allclose(probs.numpy(), full_probs.numpy()[:, :, :1], atol=1e-6)
