"""MultiHeadSelfAttention with its query, key and value in one product (`fused_qkv`, what an export traces):
the same function as the three products, in float32 and bfloat16; LoraDense with an `export_product`."""
import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.distribute.precision import policy_scope
from tfbig.layers.attention import FusedProjection, MultiHeadSelfAttention, additive_mask
from tfbig.layers.lora import LoraDense


def _inputs(b=3, t=7, h=32):
    x = tf.random.stateless_normal([b, t, h], seed=[3, 4])
    mask = np.ones([b, t], np.int32)
    mask[1, 4:] = 0  # one padded row
    return x, additive_mask(tf.constant(mask))


def _attention(policy="float32"):
    with policy_scope(policy):  # the layer's own Dense layers take the policy too
        layer = MultiHeadSelfAttention(32, 4, dropout=0.0)
    x, mask = _inputs()
    layer(x, attention_mask=mask, training=False)
    # biases away from their zero init, so that the fused bias (and the queries' scaled one) is exercised
    for dense in (layer.query, layer.key, layer.value):
        dense.bias.assign(tf.random.stateless_normal(dense.bias.shape, seed=[5, len(dense.name)]))
    return layer, x, mask


def test_fused_projection_equals_the_three_products():
    layer, x, mask = _attention()
    plain, plain_probs = layer(x, attention_mask=mask, training=False, return_attention_scores=True)
    layer.fused_qkv = layer.fused_projection()
    assert layer.fused_qkv.kernel.shape == (32, 96) and layer.fused_qkv.kernel.dtype == tf.float32
    fused, fused_probs = layer(x, attention_mask=mask, training=False, return_attention_scores=True)
    np.testing.assert_allclose(fused.numpy(), plain.numpy(), atol=1e-6)
    np.testing.assert_allclose(fused_probs.numpy(), plain_probs.numpy(), atol=1e-6)
    rows = layer(tf.reshape(x, [-1, 32]), attention_mask=mask, training=False, length=7)  # the block's rows path
    np.testing.assert_allclose(rows.numpy().reshape(plain.shape), plain.numpy(), atol=1e-6)
    # training ignores it: the three products, whose gradients train the layer's own kernels
    np.testing.assert_allclose(layer(x, attention_mask=mask, training=True).numpy(), plain.numpy(), atol=1e-5)
    # built from the kernels as they are: the queries' columns scaled by 1/√d, then keys and values as they are
    kernel = layer.fused_qkv.kernel.numpy()
    np.testing.assert_allclose(kernel[:, :32], layer.query.kernel.numpy() / np.sqrt(8), rtol=1e-6)
    np.testing.assert_array_equal(kernel[:, 64:], layer.value.kernel.numpy())
    np.testing.assert_allclose(layer.fused_qkv.bias.numpy()[:32], layer.query.bias.numpy() / np.sqrt(8), rtol=1e-6)


def test_fused_projection_in_bfloat16_is_stored_in_bfloat16():
    layer, x, mask = _attention("mixed_bfloat16")
    plain = layer(x, attention_mask=mask, training=False)
    layer.fused_qkv = layer.fused_projection()
    assert layer.fused_qkv.kernel.dtype == layer.fused_qkv.bias.dtype == tf.bfloat16
    fused = layer(x, attention_mask=mask, training=False)
    assert fused.dtype == plain.dtype == tf.bfloat16
    diff = np.abs(tf.cast(fused, tf.float32).numpy() - tf.cast(plain, tf.float32).numpy()).max()
    assert diff < 0.05  # bfloat16 rounding (the scale applied before, not after, the rounding of the kernel)
    layer.fused_qkv = None
    np.testing.assert_array_equal(layer(x, attention_mask=mask, training=False).numpy(), plain.numpy())


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
def test_lora_dense_export_product_replaces_its_product(policy):
    with policy_scope(policy):
        dense = LoraDense(6)
    x = tf.random.stateless_normal([5, 4], seed=[6, 7])
    dense(x)
    dense.bias.assign(tf.ones([6]))
    plain = dense(x)
    dense.export_product = FusedProjection(dense.kernel.numpy(), dense.bias.numpy(), dense.compute_dtype, "d")
    assert dense.export_product.kernel.dtype == dense.compute_dtype
    # the stored kernel holds what the Dense casts at each call: the same values, the same product
    np.testing.assert_array_equal(dense(x).numpy(), plain.numpy())
    dense.export_product = None


def test_fused_projection_variables_are_not_tracked_by_the_layer():
    layer, x, mask = _attention()
    count = len(layer.variables)
    layer.fused_qkv = layer.fused_projection()
    assert len(layer.variables) == count  # the export's module saves them, a checkpoint of the model does not
    assert len(layer.fused_qkv.variables) == 2
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize("fused", [False, True])
def test_first_token_only_is_the_first_position_of_the_full_attention(fused):
    layer, x, mask = _attention()
    if fused:
        layer.fused_qkv = layer.fused_projection()
    full, full_probs = layer(x, attention_mask=mask, training=False, return_attention_scores=True)
    first, probs = layer(x, attention_mask=mask, training=False, return_attention_scores=True, first_token_only=True)
    assert first.shape == (3, 1, 32) and probs.shape == (3, 4, 1, 7)
    np.testing.assert_allclose(first.numpy(), full.numpy()[:, :1], atol=1e-6)
    np.testing.assert_allclose(probs.numpy(), full_probs.numpy()[:, :, :1], atol=1e-6)
    rows = layer(tf.reshape(x, [-1, 32]), attention_mask=mask, training=False, length=7, first_token_only=True)
    assert rows.shape == (3, 32)
    np.testing.assert_allclose(rows.numpy(), full.numpy()[:, 0], atol=1e-6)
