import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.models.backbone import build_backbone
from tfbig.train.task_model import TextClassifier


def _model(folder, **kw):
    model = TextClassifier(build_backbone("hf", folder, backbone_dropout=0.0), num_classes=2, dropout=0.0, **kw)
    tok = BertTextTokenizer.from_model_dir(folder, max_length=16)
    return model, tok


def _batch(tok, texts, labels):
    return tok(tf.constant(texts)), tf.constant(labels, tf.int32)


def test_every_bert_variable_is_trainable_and_changes_after_one_step(tiny_bert_dir, tiny_texts):
    model, tok = _model(tiny_bert_dir)
    x, y = _batch(tok, *tiny_texts)
    model(x)
    bert_vars = model.backbone.bert.weights
    assert len(bert_vars) == 2 * 16 + 5 + 2  # 2 layers of 16 tensors, embeddings 5, pooler 2
    assert all(v.trainable for v in bert_vars)
    assert {id(v) for v in bert_vars} <= {id(v) for v in model.trainable_weights}
    before = [v.numpy().copy() for v in bert_vars]
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    model.train_on_batch(x, y)
    unchanged = [v.name for v, b in zip(bert_vars, before) if np.array_equal(v.numpy(), b)]
    # A key bias adds the same score to every key of a query, which softmax cancels: its gradient is 0.
    assert unchanged and all("key/bias" in n for n in unchanged)
    assert len(unchanged) == 2


def test_l2_term_is_half_lambda_sum_of_squares_on_hand_set_weights(tiny_bert_dir):
    model, tok = _model(tiny_bert_dir, l2=0.3, l1=0.2)
    model(tok(tf.constant(["a game"])))
    for i, w in enumerate(model.trainable_weights):
        w.assign(tf.fill(w.shape, 0.1 * (i % 3 + 1)))
    expected_sq = expected_abs = 0.0
    for i, w in enumerate(model.trainable_weights):
        if any(s in w.name for s in ("bias", "LayerNorm")):
            continue
        expected_sq += (0.1 * (i % 3 + 1)) ** 2 * np.prod(w.shape)
        expected_abs += 0.1 * (i % 3 + 1) * np.prod(w.shape)
    l2, l1 = model.penalty_terms()
    assert float(l2) == pytest.approx(0.5 * 0.3 * expected_sq, rel=1e-5)
    assert float(l1) == pytest.approx(0.2 * expected_abs, rel=1e-5)
    names = [w.name for w in model.penalized_weights()]
    assert names and not any("bias" in n or "LayerNorm" in n for n in names)
    assert any("head" in n for n in names)


def test_sgd_step_with_l2_equals_hand_gradient(tiny_bert_dir, tiny_texts):
    """One SGD step on loss = CE + λ/2·Σw² moves a penalized weight by lr·(∂CE/∂w + λ·w)."""
    lam, lr = 0.05, 0.1
    model, tok = _model(tiny_bert_dir, l2=lam)
    x, y = _batch(tok, *tiny_texts)
    model(x)
    kernel = model.head.dense.kernel
    with tf.GradientTape() as tape:
        ce = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, model(x), from_logits=True))
    expected = kernel.numpy() - lr * (tape.gradient(ce, kernel).numpy() + lam * kernel.numpy())
    model.compile(optimizer=keras.optimizers.SGD(lr))
    logs = model.train_on_batch(x, y, return_dict=True)
    np.testing.assert_allclose(kernel.numpy(), expected, atol=1e-6)
    assert logs["l2_term"] > 0 and logs["loss"] == pytest.approx(logs["ce"] + logs["l2_term"], rel=1e-5)


def test_fit_learns_a_separable_toy_task(tiny_bert_dir, tiny_texts):
    keras.utils.set_random_seed(0)
    model, tok = _model(tiny_bert_dir)
    x, y = _batch(tok, *tiny_texts)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = model.fit(x, y, batch_size=8, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert history.history["accuracy"][-1] == 1.0
