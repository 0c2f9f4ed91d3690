"""The fused Adam/AdamW: Keras' arithmetic, slots and checkpoints, one kernel per variable."""
import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.train.fused_adam import FusedAdam, FusedAdamW


def _train(cls, steps=6, **kwargs):
    """A dense and an embedding-like (sparse gradient) variable after `steps` updates; and the optimizer."""
    w = tf.Variable(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), name="kernel")
    table = tf.Variable(np.linspace(0.5, 2, 15, dtype=np.float32).reshape(5, 3), name="embeddings")
    optimizer = cls(learning_rate=0.05, **kwargs)
    if hasattr(optimizer, "exclude_from_weight_decay"):
        optimizer.exclude_from_weight_decay(var_names=["embeddings"])

    @tf.function
    def step(i):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.sin(w * (i + 1.0)) ** 2) + tf.reduce_sum(tf.gather(table, [0, 3, 3]) ** 3)
        grads = tape.gradient(loss, [w, table])
        assert isinstance(grads[1], tf.IndexedSlices)
        optimizer.apply_gradients(zip(grads, [w, table]))

    for i in range(steps):
        step(float(i))
    return w.numpy(), table.numpy(), optimizer


@pytest.mark.parametrize("keras_cls, fused_cls, kwargs", [
    (keras.optimizers.Adam, FusedAdam, {}),
    (keras.optimizers.AdamW, FusedAdamW, {"weight_decay": 0.1}),
])
def test_the_fused_update_is_keras_update(keras_cls, fused_cls, kwargs):
    w_keras, table_keras, _ = _train(keras_cls, **kwargs)
    w_fused, table_fused, _ = _train(fused_cls, **kwargs)
    np.testing.assert_allclose(w_fused, w_keras, atol=1e-5, rtol=0)
    np.testing.assert_allclose(table_fused, table_keras, atol=1e-5, rtol=0)
    start = np.linspace(0.5, 2, 15, dtype=np.float32).reshape(5, 3)
    np.testing.assert_array_equal(table_fused[[1, 2, 4]], start[[1, 2, 4]])  # no gradient, no decay: unchanged
    assert (np.abs(table_fused[[0, 3]] - start[[0, 3]]) > 0.01).all()


def test_amsgrad_keeps_keras_update():
    w_keras, table_keras, _ = _train(keras.optimizers.Adam, amsgrad=True)
    w_fused, table_fused, _ = _train(FusedAdam, amsgrad=True)
    np.testing.assert_allclose(w_fused, w_keras, atol=1e-6, rtol=0)
    np.testing.assert_allclose(table_fused, table_keras, atol=1e-6, rtol=0)


def test_mixed_precision_variables_update_in_float32():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        layers = []
        for cls in (keras.optimizers.Adam, FusedAdam):
            keras.utils.set_random_seed(0)
            layer = keras.layers.Dense(3)
            layer.build((None, 4))
            optimizer = cls(0.01)
            x = tf.reshape(tf.range(8, dtype=tf.float32), [2, 4]) / 8
            for _ in range(3):
                with tf.GradientTape() as tape:
                    loss = tf.reduce_sum(tf.cast(layer(x), tf.float32) ** 2)
                optimizer.apply_gradients(zip(tape.gradient(loss, layer.trainable_variables),
                                              layer.trainable_variables))
            layers.append(layer)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert layers[1].kernel.dtype == tf.float32
    for a, b in zip(layers[0].get_weights(), layers[1].get_weights()):
        np.testing.assert_allclose(b, a, atol=1e-6, rtol=0)


def test_a_keras_adam_checkpoint_resumes_in_the_fused_one(tmp_path):
    _, _, keras_opt = _train(keras.optimizers.Adam, steps=3)
    keras_opt_vars = {v.name.split("/")[-1].split(":")[0] for v in keras_opt.variables}
    _, _, fused_opt = _train(FusedAdam, steps=3)
    assert {v.name.split("/")[-1].split(":")[0] for v in fused_opt.variables} == keras_opt_vars
    path = tf.train.Checkpoint(optimizer=keras_opt).save(str(tmp_path / "ckpt"))
    fresh = FusedAdam(learning_rate=0.05)
    fresh.build([tf.Variable(np.zeros((4, 3), np.float32)), tf.Variable(np.zeros((5, 3), np.float32))])
    tf.train.Checkpoint(optimizer=fresh).restore(path).assert_existing_objects_matched()
    assert int(fresh.iterations) == 3
    for a, b in zip(fresh.variables, keras_opt.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
