"""tfbig.layers: numbers against hand-written references, padding masks, initialisers, get_config round trips."""
import math

import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.layers import BertEmbeddings, FeedForward, MultiHeadSelfAttention, Pooler, TransformerEncoderBlock
from tfbig.layers.attention import additive_mask
from tfbig.layers.dropout import Dropout16

H, N, T, B = 16, 4, 5, 2


@pytest.fixture
def x():
    return tf.random.stateless_normal([B, T, H], seed=[1, 2])


@pytest.fixture
def mask():
    return tf.constant([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], tf.int32)


def layer_norm(v, eps=1e-12):
    return (v - v.mean(-1, keepdims=True)) / np.sqrt(v.var(-1, keepdims=True) + eps)


def gelu(v):
    return 0.5 * v * (1 + np.vectorize(math.erf)(v / math.sqrt(2)))


def roundtrip(layer, *args, **kwargs):
    """Rebuilds `layer` from its config, copies the weights, returns both outputs."""
    out = layer(*args, **kwargs)
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone(*args, **kwargs)
    clone.set_weights(layer.get_weights())
    return out, clone(*args, **kwargs)


def test_attention_matches_reference(x, mask):
    layer = MultiHeadSelfAttention(H, N, dropout=0.0)
    out = layer(x, attention_mask=additive_mask(mask)).numpy()
    wq, bq, wk, bk, wv, bv, wo, bo = [w.numpy() for w in layer.weights]
    d = H // N
    q, k, v = ((x.numpy() @ w + b).reshape(B, T, N, d).transpose(0, 2, 1, 3) for w, b in ((wq, bq), (wk, bk), (wv, bv)))
    scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + np.where(mask.numpy() == 1, 0, -1e9)[:, None, None, :]
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    ref = (probs @ v).transpose(0, 2, 1, 3).reshape(B, T, H) @ wo + bo
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_attention_ignores_padded_positions(x, mask):
    layer = MultiHeadSelfAttention(H, N, dropout=0.0)
    noise = tf.random.stateless_normal([B, T, H], seed=[3, 4]) * tf.cast(1 - mask, tf.float32)[..., None]
    a = layer(x, attention_mask=additive_mask(mask)).numpy()
    b = layer(x + 10 * noise, attention_mask=additive_mask(mask)).numpy()
    np.testing.assert_allclose(a[0, :3], b[0, :3], atol=1e-6)  # real tokens see no padding
    assert np.abs(a[0, 3:] - b[0, 3:]).max() > 1e-5  # while the padded rows themselves change


def test_attention_rejects_bad_head_count():
    with pytest.raises(ValueError, match="hidden_size 10 is not divisible by num_heads 4"):
        MultiHeadSelfAttention(10, 4)


def test_feed_forward_is_exact_gelu(x):
    layer = FeedForward(H, 3 * H)
    out = layer(x).numpy()
    w1, b1, w2, b2 = [w.numpy() for w in layer.weights]
    np.testing.assert_allclose(out, gelu(x.numpy() @ w1 + b1) @ w2 + b2, atol=1e-5)


def test_embeddings_sum_and_normalise():
    layer = BertEmbeddings(vocab_size=20, hidden_size=H, max_position_embeddings=8, dropout=0.0)
    ids = tf.constant([[2, 5, 7, 3]])
    types = tf.constant([[0, 0, 1, 1]])
    out = layer({"input_ids": ids, "token_type_ids": types}).numpy()
    word, pos, typ, gamma, beta = [w.numpy() for w in layer.weights]
    ref = layer_norm(word[ids.numpy()] + pos[None, :4] + typ[types.numpy()]) * gamma + beta
    np.testing.assert_allclose(out, ref, atol=1e-5)


def test_post_ln_block_output_is_normalised_pre_ln_is_not(x, mask):
    post = TransformerEncoderBlock(H, N, 2 * H, dropout=0.0, attention_dropout=0.0)
    pre = TransformerEncoderBlock(H, N, 2 * H, dropout=0.0, attention_dropout=0.0, norm_first=True)
    m = additive_mask(mask)
    out = post(x, attention_mask=m).numpy()
    np.testing.assert_allclose(out.mean(-1), 0, atol=1e-5)  # LN with gamma 1, beta 0 last
    np.testing.assert_allclose(out.std(-1), 1, atol=1e-3)
    pre_out = pre(x, attention_mask=m).numpy()
    attn = pre.attention(pre.attention_layer_norm(x), attention_mask=m)
    h = x + attn
    np.testing.assert_allclose(pre_out, h + pre.feed_forward(pre.output_layer_norm(h)), atol=1e-5)


def test_pooler_is_tanh_of_first_token(x):
    layer = Pooler(H)
    out = layer(x).numpy()
    w, b = [v.numpy() for v in layer.weights]
    np.testing.assert_allclose(out, np.tanh(x.numpy()[:, 0] @ w + b), atol=1e-6)


def test_bert_initialisation():
    layer = FeedForward(256, 512)
    layer(tf.zeros([1, 1, 256]))
    kernel = layer.intermediate.kernel.numpy()
    assert abs(kernel.std() - 0.02 * 0.88) < 0.002  # truncated at 2σ: std 0.88σ
    assert np.abs(kernel).max() <= 0.04 + 1e-6
    assert not np.array_equal(kernel[:256, :256], layer.output_dense.kernel.numpy()[:256, :256])
    block = TransformerEncoderBlock(8, 2, 16)
    block(tf.zeros([1, 2, 8]))
    np.testing.assert_array_equal(block.output_layer_norm.gamma.numpy(), 1)
    np.testing.assert_array_equal(block.output_layer_norm.beta.numpy(), 0)


def test_initializer_is_configurable():
    layer = Pooler(8, kernel_initializer="zeros")
    layer(tf.ones([1, 2, 8]))
    np.testing.assert_array_equal(layer.dense.kernel.numpy(), 0)
    assert Pooler.from_config(layer.get_config()).get_config()["kernel_initializer"]["class_name"] == "Zeros"


def test_dropout16_drops_at_rate_and_keeps_the_mean():
    tf.random.set_seed(7)
    layer = Dropout16(0.1)
    y = layer(tf.ones([500, 400]), training=True).numpy()
    assert abs((y == 0).mean() - 0.1) < 0.004  # 200k draws: σ ≈ 0.0007
    np.testing.assert_array_equal(np.unique(y), np.float32([0, 65536 / (65536 - 6554)]))
    tf.random.set_seed(7)
    np.testing.assert_array_equal(Dropout16(0.1)(tf.ones([500, 400]), training=True).numpy(), y)  # seeded
    x = tf.random.normal([3, 5, 7])
    np.testing.assert_array_equal(layer(x, training=False).numpy(), x.numpy())
    assert layer(tf.ones([3, 5, 7]), training=True).shape == (3, 5, 7)  # odd element count


def test_dropout16_gradient_follows_the_mask():
    layer = Dropout16(0.5)
    x = tf.ones([64, 64])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), y.numpy())  # d(y)/dx = mask·scale = y for x=1


@pytest.mark.parametrize("make, call", [
    (lambda: Dropout16(0.3), lambda l, x, m: l(x)),
    (lambda: MultiHeadSelfAttention(H, N, dropout=0.2), lambda l, x, m: l(x, attention_mask=additive_mask(m))),
    (lambda: FeedForward(H, 2 * H, activation="gelu_approximate"), lambda l, x, m: l(x)),
    (lambda: TransformerEncoderBlock(H, N, 2 * H, norm_first=True, layer_norm_epsilon=1e-6),
     lambda l, x, m: l(x, attention_mask=additive_mask(m))),
    (lambda: Pooler(H), lambda l, x, m: l(x)),
    (lambda: BertEmbeddings(30, H, max_position_embeddings=T, type_vocab_size=3),
     lambda l, x, m: l({"input_ids": m + 4})),
])
def test_get_config_round_trip(make, call, x, mask):
    layer = make()
    out = call(layer, x, mask)
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(clone) is type(layer) and clone.get_config() == layer.get_config()
    call(clone, x, mask)
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(call(clone, x, mask).numpy(), out.numpy())
