"""LoraDense's one-product forward and its custom gradient against autodiff of x·W + b + s·(x·A)·B."""
import numpy as np

from tfbig._keras import keras, tf
from tfbig.layers.lora import LoraDense


def adapted_dense(seed=0, dropout=0.0):
    keras.utils.set_random_seed(seed)
    dense = LoraDense(6, name="dense")
    dense.build((None, 5))
    dense.enable_lora(rank=2, alpha=3.0, dropout=dropout)
    dense.lora_b.assign(tf.random.normal([2, 6], seed=seed))  # B ≠ 0, so the adapter counts
    return dense


def two_path(dense, x):
    """What LoRA means, written out: x·W + b + (alpha/rank)·(x·A)·B."""
    return (tf.tensordot(x, dense.kernel, 1) + dense.bias
            + tf.tensordot(tf.tensordot(x, dense.lora_a, 1), dense.lora_b, 1) * dense.lora_scale)


def values_and_gradients(fn, dense, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = fn(x)
        loss = tf.reduce_sum(out * tf.reshape(tf.range(1.0, 7.0), [1, 1, 6]))  # each output weighted differently
    dx, da, db, dbias = tape.gradient(loss, [x, dense.lora_a, dense.lora_b, dense.bias])
    return [t.numpy() for t in (out, dx, da, db, dbias)]


def test_one_product_and_its_gradient_equal_the_two_path_formula():
    dense = adapted_dense()
    x = tf.random.stateless_normal([3, 4, 5], seed=[1, 2])
    ours = values_and_gradients(lambda v: dense(v, training=True), dense, x)
    reference = values_and_gradients(lambda v: two_path(dense, v), dense, x)
    for name, a, b in zip(["out", "dx", "dA", "dB", "dbias"], ours, reference):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5, err_msg=name)
    assert np.abs(ours[2]).max() > 0 and np.abs(ours[3]).max() > 0  # the adapter does get a gradient


def test_frozen_kernel_gets_no_gradient():
    dense = adapted_dense()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(dense(tf.ones([2, 5]), training=True))
    assert tape.gradient(loss, dense.kernel) is None
    assert [v.name.split("/")[-1] for v in dense.trainable_weights] == ["lora_a:0", "lora_b:0"]


def test_with_b_zero_the_product_is_the_plain_dense_exactly():
    keras.utils.set_random_seed(3)
    dense = LoraDense(6)
    dense.build((None, 5))
    x = tf.random.stateless_normal([2, 5], seed=[3, 4])
    plain = dense(x).numpy()
    dense.enable_lora(rank=2, alpha=16.0)
    np.testing.assert_array_equal(dense(x, training=True).numpy(), plain)


def test_adapter_dropout_while_training_keeps_the_two_paths():
    dense = adapted_dense(dropout=0.5)
    x = tf.ones([64, 5])
    trained = dense(x, training=True).numpy()
    base = (tf.matmul(x, dense.kernel) + dense.bias).numpy()
    full = two_path(dense, x).numpy()
    # dropped adapter inputs: rows differ from both the base and the undropped adapter
    assert not np.allclose(trained, full, atol=1e-4) and not np.allclose(trained, base, atol=1e-4)
    np.testing.assert_allclose(dense(x, training=False).numpy(), full, atol=1e-5)


def test_bfloat16_policy_matches_the_float32_product_to_bfloat16_precision():
    dense = adapted_dense()
    x = tf.random.stateless_normal([4, 5], seed=[5, 6])
    reference = two_path(dense, x).numpy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        mixed = LoraDense(6, name="dense")
        mixed.build((None, 5))
        mixed.enable_lora(rank=2, alpha=3.0)
        mixed.set_weights(dense.get_weights())
        out = mixed(x, training=True)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert out.dtype == tf.bfloat16
    np.testing.assert_allclose(tf.cast(out, tf.float32).numpy(), reference, atol=0.05, rtol=0.02)
