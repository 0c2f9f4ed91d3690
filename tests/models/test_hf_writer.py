"""write_bert_folder: transformers' TFBertForMaskedLM reads the folder with the same logits; tfbig reads it back
(encoder and masked-LM head); the folder appears whole."""
import json
import os

import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.models.checkpoint import load_mlm_head_weights, read_bert_checkpoint
from tfbig.models.encoder import BertEncoder
from tfbig.models.hf_writer import write_bert_folder
from tfbig.tasks.registry import get_task
from tfbig.testing import tiny_vocab
from tfbig.train.task_model import TaskModel


def _features():
    ids = tf.constant([[2, 10, 4, 11, 12, 3], [2, 13, 14, 4, 3, 0]], tf.int32)
    return {"input_ids": ids, "attention_mask": tf.cast(ids != 0, tf.int32), "token_type_ids": tf.zeros_like(ids)}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    keras.utils.set_random_seed(3)
    vocab = tiny_vocab()
    enc = BertEncoder(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=32, max_position_embeddings=16, hidden_dropout_prob=0.0,
                      attention_probs_dropout_prob=0.0, name="backbone").build_weights()
    model = TaskModel(enc, get_task("mlm"), dropout=0.0)
    model(_features())
    model.head.bias.assign(tf.random.normal([len(vocab)], stddev=0.5))  # not all zeros: the bias must travel
    model.head.layer_norm.beta.assign(tf.random.normal([16], stddev=0.5))
    folder = write_bert_folder(model, BertTextTokenizer(vocab, max_length=16), str(tmp_path_factory.mktemp("w") / "enc"))
    return model, folder


def test_folder_layout_is_bert_for_masked_lm(written):
    model, folder = written
    assert sorted(os.listdir(folder)) == ["config.json", "model.safetensors", "tokenizer_config.json", "vocab.txt"]
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    assert config["architectures"] == ["BertForMaskedLM"] and config["vocab_size"] == len(tiny_vocab())
    from safetensors import safe_open

    with safe_open(os.path.join(folder, "model.safetensors"), "np") as f:
        assert f.metadata() == {"format": "pt"}
        names = set(f.keys())
        assert f.get_tensor("bert.encoder.layer.0.intermediate.dense.weight").shape == (32, 16)  # (out, in)
    assert {"cls.predictions.bias", "cls.predictions.transform.dense.weight",
            "cls.predictions.transform.LayerNorm.weight", "bert.embeddings.word_embeddings.weight"} <= names
    assert not any(n.startswith(("cls.predictions.decoder",)) for n in names)  # tied, as transformers saves it


def test_transformers_tf_bert_for_masked_lm_gives_the_same_logits(written):
    model, folder = written
    from safetensors.numpy import load_file
    from transformers import BertConfig, TFBertForMaskedLM
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

    # TFBertForMaskedLM.from_pretrained(folder) would call this very mapping on the file, but transformers 4.57
    # fails to iterate a PyTorch safetensors archive in TF (transformers#40028), and from_pt needs torch.
    hf = TFBertForMaskedLM(BertConfig.from_pretrained(folder))
    hf(hf.dummy_inputs, training=False)
    _, info = load_pytorch_state_dict_in_tf2_model(hf, load_file(os.path.join(folder, "model.safetensors")),
                                                   allow_missing_keys=True, output_loading_info=True)
    assert info["missing_keys"] == []
    assert [k for k in info["unexpected_keys"] if "pooler" not in k] == []  # BertForMaskedLM has no pooler
    x = _features()
    expected = hf(x, training=False).logits.numpy()  # (B, T, V)
    np.testing.assert_allclose(model(x).numpy(), expected, atol=1e-4)


def test_tfbig_reads_the_folder_back_encoder_and_head(written):
    model, folder = written
    enc = BertEncoder.from_pretrained(folder)  # what model.model_dir does
    x = _features()
    np.testing.assert_allclose(enc(x)["sequence_output"].numpy(), model.backbone(x)["sequence_output"].numpy(),
                               atol=1e-6)
    again = TaskModel(enc, get_task("mlm"), dropout=0.0)
    again(x)
    state, path = read_bert_checkpoint(folder)
    assert load_mlm_head_weights(again.head, state, path)
    np.testing.assert_allclose(again(x).numpy(), model(x).numpy(), atol=1e-5)


def test_a_checkpoint_without_head_keeps_a_fresh_one(written, tiny_bert_dir, caplog):
    model, _ = written
    state, path = read_bert_checkpoint(tiny_bert_dir)
    before = model.head.bias.numpy().copy()
    with caplog.at_level("INFO"):
        assert not load_mlm_head_weights(model.head, state, path)
    assert "fresh head" in caplog.text
    np.testing.assert_array_equal(model.head.bias.numpy(), before)


def test_rewriting_replaces_the_folder_whole(written, tmp_path):
    model, folder = written
    tok = BertTextTokenizer(tiny_vocab(), max_length=16)
    target = tmp_path / "enc"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    write_bert_folder(model.backbone, tok, str(target))  # an encoder alone: no cls.* tensors
    assert sorted(os.listdir(target)) == ["config.json", "model.safetensors", "tokenizer_config.json", "vocab.txt"]
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []
    state, _ = read_bert_checkpoint(str(target))
    assert not any(n.startswith("cls.") for n in state)
