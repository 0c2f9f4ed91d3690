"""Recomputed blocks: the same gradients as the plain step; recomputed dropout masks equal the forward's."""
import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.layers.dropout import seeded_dropout
from tfbig.layers.recompute import recomputed_call
from tfbig.models.encoder import BertEncoder
from tfbig.train.task_model import TextClassifier

IDS = tf.constant([[2, 7, 8, 9, 10, 11, 3, 0], [2, 12, 13, 3, 0, 0, 0, 0]])
FEATURES = {"input_ids": IDS, "attention_mask": tf.cast(IDS > 0, tf.int32), "token_type_ids": tf.zeros_like(IDS)}
LABELS = tf.constant([0, 1])


def _classifier(folder, dropout):
    keras.utils.set_random_seed(0)
    with_dropout = {"hidden_dropout_prob": dropout, "attention_probs_dropout_prob": dropout}
    model = TextClassifier(BertEncoder.from_pretrained(folder, name="backbone", **with_dropout), 2, dropout=0.0)
    model(FEATURES)
    return model


def _gradients(model):
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = model.compute_objective(FEATURES, LABELS, training=True)["loss"]
        return tape.gradient(loss, model.trainable_variables)
    return [tf.convert_to_tensor(g).numpy() for g in step()]


def test_recomputed_gradients_equal_the_plain_step(tiny_bert_dir):
    plain = _gradients(_classifier(tiny_bert_dir, 0.0))
    model = _classifier(tiny_bert_dir, 0.0)
    model.backbone.enable_recompute()
    recomputed = _gradients(model)
    assert len(plain) == len(recomputed) == len(model.trainable_variables)
    for a, b, v in zip(plain, recomputed, model.trainable_variables):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0, err_msg=v.name)


def _seeded(call, seed):
    def run(block, x, mask, training):
        with seeded_dropout(seed):
            return call(block, x, mask, training)
    return run


def _plain(block, x, mask, training):
    return block(x, attention_mask=mask, training=training)


@pytest.mark.parametrize("eager", [False, True])
def test_recomputed_dropout_masks_equal_the_forward_ones(tiny_bert_dir, eager):
    """With dropout 0.3 and the same masks drawn (one seed), a recomputed block's gradients equal the plain
    block's: a recomputation with other masks than its forward pass would give other gradients."""
    keras.utils.set_random_seed(0)
    encoder = BertEncoder.from_pretrained(tiny_bert_dir, hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3)
    block = encoder.blocks[0]
    x = tf.random.normal([2, 8, 32])
    mask = tf.zeros([2, 1, 1, 8])

    def grads(call):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = call(block, x, mask, True)
            loss = tf.reduce_sum(y * tf.cos(y))
        return tape.gradient(loss, [x] + block.trainable_variables), y

    def run(call):
        grads_, y = grads(call) if eager else tf.function(lambda: grads(call))()
        return [g.numpy() for g in grads_], y.numpy()

    kept, y_kept = run(_seeded(_plain, tf.constant([11, 17])))
    recomputed, y_recomputed = run(_seeded(recomputed_call, tf.constant([11, 17])))
    np.testing.assert_array_equal(y_kept, y_recomputed)
    for a, b in zip(kept, recomputed):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    other = run(_seeded(_plain, tf.constant([12, 17])))[1]
    assert not np.allclose(other, y_kept)  # another seed, other masks: dropout is on


def test_a_recomputed_fit_step_trains(tiny_bert_dir):
    model = _classifier(tiny_bert_dir, 0.1)
    model.backbone.enable_recompute()
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    before = model.backbone.blocks[0].attention.query.kernel.numpy().copy()
    logs = model.train_on_batch(FEATURES, LABELS, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert not np.array_equal(before, model.backbone.blocks[0].attention.query.kernel.numpy())
