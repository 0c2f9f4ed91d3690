"""Task mlm: the loss is the weighted per-slot cross-entropy, the metrics equal numpy's, fit learns, fill-mask
features put [MASK] where the text has it."""
import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.errors import UserError
from tfbig.models.encoder import BertEncoder
from tfbig.tasks.fill_mask import mask_id_of, masked_features
from tfbig.tasks.registry import get_task
from tfbig.testing import tiny_mlm_batches, tiny_vocab
from tfbig.train.task_model import TaskModel

TEXTS = ["the club won the game", "shares fell at the bank", "the market price of shares",
         "players win a game", "sales growth for the firm", "the bank said shares fell"]


@pytest.fixture
def tok():
    return BertTextTokenizer(tiny_vocab(), max_length=12)


def _model(seed=0):
    keras.utils.set_random_seed(seed)
    enc = BertEncoder(vocab_size=len(tiny_vocab()), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=16, hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0, name="backbone").build_weights()
    return TaskModel(enc, get_task("mlm"), dropout=0.0)


def _numpy_ce(logits, ids):
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -np.take_along_axis(log_probs, ids[..., None], -1)[..., 0]


def test_objective_and_metrics_equal_numpy(tok):
    model = _model()
    x, y = next(iter(tiny_mlm_batches(tok, TEXTS, batch_size=6, seed=3)))
    assert y["mlm_positions"].shape == (6, 2) and y["mlm_weights"].dtype == tf.float32  # P = ceil(0.15·12)
    objective = model.compute_objective(x, y, training=False)
    logits = objective["outputs"].numpy()
    assert logits.shape == (6, 2, len(tiny_vocab()))
    ids, w = y["mlm_ids"].numpy(), y["mlm_weights"].numpy()
    assert 0 < w.sum() < w.size  # some rows have fewer masks than slots: their slots must not count
    ce = _numpy_ce(logits.astype(np.float64), ids)
    np.testing.assert_allclose(float(objective["loss"]), (ce * w).sum() / w.sum(), rtol=1e-5)
    model.compile(optimizer="adam")
    logs = model.evaluate(tf.data.Dataset.from_tensors((x, y)), return_dict=True, verbose=0)
    acc = ((logits.argmax(-1) == ids) * w).sum() / w.sum()
    np.testing.assert_allclose(logs["mlm_loss"], (ce * w).sum() / w.sum(), rtol=1e-5)
    np.testing.assert_allclose(logs["masked_accuracy"], acc, atol=1e-6)
    np.testing.assert_allclose(logs["perplexity"], np.exp((ce * w).sum() / w.sum()), rtol=1e-5)
    report = model.task.report({"mlm_ids": ids, "mlm_weights": w}, logits)
    np.testing.assert_allclose([report["mlm_loss"], report["masked_accuracy"]], [logs["mlm_loss"], acc], rtol=1e-5)


def test_fit_lowers_the_masked_loss(tok):
    model = _model()
    ds = tiny_mlm_batches(tok, TEXTS, batch_size=3, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    before = model.evaluate(ds, return_dict=True, verbose=0)["mlm_loss"]
    model.fit(ds.repeat(15), verbose=0)
    after = model.evaluate(ds, return_dict=True, verbose=0)["mlm_loss"]
    assert after < before - 1.0, (before, after)


def test_the_head_decodes_with_the_word_embeddings(tok):
    model = _model()
    x, y = next(iter(tiny_mlm_batches(tok, TEXTS, batch_size=6)))
    model(model.task.model_inputs(x, y))
    table = model.backbone.embeddings.word_embeddings
    assert model.head.decoder_table is table
    assert sum(w is table for w in model.trainable_weights) == 1  # tied: one variable, trained once


def test_masked_features_put_the_mask_where_the_text_has_it(tok):
    vocab = tiny_vocab()
    mask = mask_id_of(vocab)
    f = masked_features(tok, tf.constant(["the [MASK] won", "[MASK] game [MASK]", "no mask here"]), mask)
    ids = f["input_ids"].numpy()
    plain = tok(tf.constant(["the club won"]))["input_ids"].numpy()[0]
    np.testing.assert_array_equal(ids[0, :5], [plain[0], plain[1], mask, plain[3], plain[4]])
    np.testing.assert_array_equal(f["mlm_positions"].numpy(), [[2, 0], [1, 3], [0, 0]])
    np.testing.assert_array_equal(f["mlm_weights"].numpy(), [[1, 0], [1, 1], [0, 0]])
    assert ids[1, 1] == mask and ids[1, 3] == mask and f["attention_mask"].numpy()[1].sum() == 5


def test_vocabulary_without_mask_is_a_user_error():
    with pytest.raises(UserError, match=r"vocab.txt: vocabulary has no \[MASK\]"):
        mask_id_of(["[PAD]", "[CLS]"], "m/vocab.txt")


def test_the_hf_backbone_is_refused():
    with pytest.raises(UserError, match="model.backbone tfbig"):
        get_task("mlm").head_for(keras.layers.Dense(2), 0.0)


def test_accumulated_micro_batches_give_the_whole_batch_gradient(tok):
    from tfbig.train.accumulation import accumulated_gradients

    model = _model()
    x, y = next(iter(tiny_mlm_batches(tok, TEXTS, batch_size=6, seed=5)))
    w = y["mlm_weights"].numpy()
    w[0, 1] = w[1, 1] = 1.0  # the first micro-batch holds 4 of the 8 masked slots: shares must follow the weights
    y = {**y, "mlm_weights": tf.constant(w)}
    model.compile(optimizer="sgd")
    with tf.GradientTape() as tape:
        loss = model.compute_objective(x, y, training=False)["loss"]
    whole = tape.gradient(loss, model.learned_variables())
    parts, _ = accumulated_gradients(model, x, y, steps=3)
    for a, b, v in zip(whole, parts, model.learned_variables()):
        a = np.zeros(v.shape) if a is None else tf.convert_to_tensor(a).numpy()  # the pooler: unused by MLM
        np.testing.assert_allclose(a, b.numpy(), atol=1e-6, err_msg=v.name)
