"""BertEncoder: parity with transformers' TFBertModel on the same folder, presets, loader errors, round trips."""
import os
import shutil

import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.errors import UserError
from tfbig.models.encoder import BertEncoder
from tfbig.models.presets import PRESETS, preset
from tfbig.testing import write_tiny_bert_folder


@pytest.fixture(scope="module")
def odd_bert_dir(tmp_path_factory):
    """Head size 12: the 1/√d scaling is not a power of two, so parity is not trivially bit-exact."""
    return write_tiny_bert_folder(str(tmp_path_factory.mktemp("odd_bert")), seed=3, hidden_size=48,
                                  num_attention_heads=4, intermediate_size=96)


def padded_batch(vocab_size=100):
    ids = np.array([[2, 40, 41, 42, 43, 44, 45, 3], [2, 50, 51, 3, 0, 0, 0, 0], [2, 60, 3, 0, 0, 0, 0, 0]])
    types = np.array([[0, 0, 0, 0, 1, 1, 1, 1], [0] * 8, [0] * 8])
    return {"input_ids": tf.constant(ids, tf.int32), "attention_mask": tf.constant((ids != 0).astype(np.int32)),
            "token_type_ids": tf.constant(types, tf.int32)}


def hf_outputs(model_dir, batch):
    from tfbig.models.hf_bert import load_hf_bert

    out = load_hf_bert(model_dir)(**batch, training=False)
    return out.last_hidden_state.numpy(), out.pooler_output.numpy()


@pytest.mark.parametrize("folder", ["tiny_bert_dir", "odd_bert_dir"])
def test_parity_with_tf_bert_model(folder, request):
    model_dir = request.getfixturevalue(folder)
    batch = padded_batch()
    ours = BertEncoder.from_pretrained(model_dir)(batch, training=False)
    seq, pooled = hf_outputs(model_dir, batch)
    assert np.abs(seq).mean() > 0.1 and np.abs(pooled).mean() > 1e-3
    np.testing.assert_allclose(ours["sequence_output"].numpy(), seq, atol=1e-5, rtol=0)
    np.testing.assert_allclose(ours["pooled_output"].numpy(), pooled, atol=1e-5, rtol=0)


def test_hidden_states_and_attentions_equal_tf_bert_models(odd_bert_dir):
    from tfbig.models.hf_bert import load_hf_bert

    batch = padded_batch()
    ours = BertEncoder.from_pretrained(odd_bert_dir)(batch, output_hidden_states=True, output_attentions=True)
    theirs = load_hf_bert(odd_bert_dir)(**batch, output_hidden_states=True, output_attentions=True, training=False)
    assert len(ours["hidden_states"]) == len(theirs.hidden_states) == 3  # embeddings + 2 layers
    assert len(ours["attentions"]) == len(theirs.attentions) == 2
    for a, b in zip(ours["hidden_states"], theirs.hidden_states):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5, rtol=0)
    for a, b in zip(ours["attentions"], theirs.attentions):
        assert a.shape == (3, 4, 8, 8)
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, rtol=0)
    np.testing.assert_allclose(ours["attentions"][0].numpy()[2, :, :, 3:], 0.0, atol=1e-6)  # padding gets none
    plain = BertEncoder.from_pretrained(odd_bert_dir)(batch)
    assert set(plain) == {"sequence_output", "pooled_output"}


def test_loads_tf_model_h5(tiny_bert_dir, tmp_path):
    from tfbig.models.hf_bert import load_hf_bert

    h5_dir = str(tmp_path / "h5")
    load_hf_bert(tiny_bert_dir).save_pretrained(h5_dir)  # config.json + tf_model.h5
    shutil.copy(os.path.join(tiny_bert_dir, "vocab.txt"), h5_dir)
    batch = padded_batch()
    a = BertEncoder.from_pretrained(h5_dir)(batch)
    b = BertEncoder.from_pretrained(tiny_bert_dir)(batch)
    np.testing.assert_array_equal(a["sequence_output"].numpy(), b["sequence_output"].numpy())
    np.testing.assert_array_equal(a["pooled_output"].numpy(), b["pooled_output"].numpy())


def rewrite_weights(src, dst, change):
    from safetensors.numpy import load_file, save_file

    shutil.copytree(src, dst)
    state = load_file(os.path.join(src, "model.safetensors"))
    change(state)
    save_file(state, os.path.join(dst, "model.safetensors"))
    return str(dst)


def test_bert_prefix_and_task_heads_are_accepted(tiny_bert_dir, tmp_path):
    def pretraining_layout(state):
        for name in list(state):
            state["bert." + name] = state.pop(name)
        state["cls.predictions.bias"] = np.zeros(7, np.float32)

    folder = rewrite_weights(tiny_bert_dir, tmp_path / "pre", pretraining_layout)
    batch = padded_batch()
    np.testing.assert_array_equal(BertEncoder.from_pretrained(folder)(batch)["pooled_output"].numpy(),
                                  BertEncoder.from_pretrained(tiny_bert_dir)(batch)["pooled_output"].numpy())


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("encoder.layer.1.output.dense.bias"),
     r"no tensor 'encoder.layer.1.output.dense.bias' \(the encoder expects shape \(32,\)\)"),
    (lambda s: s.update({"encoder.layer.2.output.dense.bias": np.zeros(32, np.float32)}),
     r"unexpected tensor 'encoder.layer.2.output.dense.bias' of shape \(32,\)"),
    (lambda s: s.update({"encoder.layer.0.attention.self.key.weight": np.zeros((32, 16), np.float32)}),
     r"tensor 'encoder.layer.0.attention.self.key.weight' has shape \(32, 16\), the encoder expects \(32, 32\)"),
])
def test_loader_fails_loudly(tiny_bert_dir, tmp_path, change, message):
    folder = rewrite_weights(tiny_bert_dir, tmp_path / "bad", change)
    with pytest.raises(UserError, match=message):
        BertEncoder.from_pretrained(folder)


def test_loader_needs_weights(tiny_bert_dir, tmp_path):
    folder = shutil.copytree(tiny_bert_dir, tmp_path / "empty")
    os.remove(folder / "model.safetensors")
    with pytest.raises(UserError, match="no model.safetensors or tf_model.h5"):
        BertEncoder.from_pretrained(str(folder))


def test_get_config_round_trip(tiny_bert_dir):
    enc = BertEncoder.from_pretrained(tiny_bert_dir, hidden_dropout_prob=0.0)
    clone = keras.layers.deserialize(keras.layers.serialize(enc)).build_weights()
    assert isinstance(clone, BertEncoder) and clone.get_config() == enc.get_config()
    assert enc.get_config()["hidden_dropout_prob"] == 0.0
    clone.set_weights(enc.get_weights())
    batch = padded_batch()
    np.testing.assert_array_equal(clone(batch)["sequence_output"].numpy(), enc(batch)["sequence_output"].numpy())


def test_presets():
    assert {n: (p["num_hidden_layers"], p["hidden_size"]) for n, p in PRESETS.items()} == {
        "tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512), "base": (12, 768),
        "large": (24, 1024)}
    assert preset("base")["num_attention_heads"] == 12 and preset("base")["intermediate_size"] == 3072
    assert BertEncoder(**preset("tiny")).build_weights().count_params() == 4_385_920  # google/bert_uncased_L-2_H-128_A-2
    with pytest.raises(UserError, match="preset 'huge'"):
        preset("huge")


def test_pre_ln_encoder_runs_and_round_trips():
    enc = BertEncoder(vocab_size=80, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=32, norm_first=True).build_weights()
    out = enc(padded_batch())
    np.testing.assert_allclose(out["sequence_output"].numpy().mean(-1), 0, atol=1e-5)  # final LayerNorm
    assert BertEncoder.from_config(enc.get_config()).get_config() == enc.get_config()


@pytest.mark.slow
def test_parity_with_minilm_on_bbc_texts(minilm_dir):
    from tfbig.data.sources import bbc_news_dir
    from tfbig.data.text_files import read_folder
    from tfbig.data.tokenizer import BertTextTokenizer

    examples = read_folder(bbc_news_dir(), fallback_encoding="cp1252")
    texts = examples.texts[::len(examples.texts) // 64][:64]
    batch = BertTextTokenizer.from_model_dir(minilm_dir, max_length=128)(tf.constant(texts))
    assert int(tf.reduce_min(tf.reduce_sum(batch["attention_mask"], 1))) < 128  # some padding in the batch
    ours = BertEncoder.from_pretrained(minilm_dir)(batch, training=False)
    seq, pooled = hf_outputs(minilm_dir, batch)
    seq_diff = np.abs(ours["sequence_output"].numpy() - seq).max()
    pooled_diff = np.abs(ours["pooled_output"].numpy() - pooled).max()
    print(f"MiniLM parity on {len(texts)} BBC texts: sequence {seq_diff:.2e}, pooled {pooled_diff:.2e}")
    assert seq_diff <= 1e-4 and pooled_diff <= 1e-4


@pytest.mark.parametrize("norm_first", [False, True])
def test_first_token_only_keeps_the_pooled_output(norm_first):
    """With `first_token_only` (what an export of a [CLS]-reading model sets) the last block computes the first
    position only: sequence_output is (B, 1, H), that position's state and the pooled output as before."""
    encoder = BertEncoder(**{**preset("tiny"), "vocab_size": 100}, norm_first=norm_first).build_weights()
    batch = padded_batch()
    full = encoder(batch, training=False)
    encoder.first_token_only = True
    try:
        first = encoder(batch, training=False)
        states = encoder(batch, training=False, output_hidden_states=True)  # every state asked for: all computed
    finally:
        encoder.first_token_only = False
    b, t, h = full["sequence_output"].shape
    assert first["sequence_output"].shape == (b, 1, h)
    np.testing.assert_allclose(first["sequence_output"].numpy(), full["sequence_output"].numpy()[:, :1], atol=1e-5)
    np.testing.assert_allclose(first["pooled_output"].numpy(), full["pooled_output"].numpy(), atol=1e-5)
    assert states["sequence_output"].shape == (b, t, h)
