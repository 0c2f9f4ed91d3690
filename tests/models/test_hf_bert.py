import json
import os
import shutil

import numpy as np
import pytest
from safetensors.numpy import load_file

from tfbig.errors import UserError
from tfbig.models.hf_bert import load_hf_bert


def test_pytorch_safetensors_load_exactly(tiny_bert_dir):
    bert = load_hf_bert(tiny_bert_dir)
    state = load_file(os.path.join(tiny_bert_dir, "model.safetensors"))
    by_name = {w.name: w.numpy() for w in bert.weights}

    def tf_weight(suffix):
        (match,) = [v for k, v in by_name.items() if k.endswith(suffix)]
        return match

    np.testing.assert_array_equal(tf_weight("word_embeddings/weight:0"), state["embeddings.word_embeddings.weight"])
    # PyTorch Linear stores (out, in); Keras Dense stores (in, out).
    np.testing.assert_array_equal(tf_weight("layer_._1/attention/self/query/kernel:0"),
                                  state["encoder.layer.1.attention.self.query.weight"].T)
    np.testing.assert_array_equal(tf_weight("pooler/dense/bias:0"), state["pooler.dense.bias"])


def test_missing_tensor_is_named(tiny_bert_dir, tmp_path):
    from safetensors.numpy import save_file

    folder = tmp_path / "broken"
    shutil.copytree(tiny_bert_dir, folder)
    state = load_file(str(folder / "model.safetensors"))
    del state["encoder.layer.0.output.dense.weight"]
    save_file(state, str(folder / "model.safetensors"))
    with pytest.raises(UserError, match="no tensor for"):
        load_hf_bert(str(folder))


@pytest.mark.parametrize("missing", ["config.json", "vocab.txt"])
def test_folder_without_config_or_vocab(tiny_bert_dir, tmp_path, missing):
    folder = tmp_path / "m"
    shutil.copytree(tiny_bert_dir, folder)
    os.remove(folder / missing)
    with pytest.raises(UserError, match=f"has no {missing}"):
        load_hf_bert(str(folder))


def test_real_minilm_loads_with_its_config(minilm_dir):
    bert = load_hf_bert(minilm_dir)
    with open(os.path.join(minilm_dir, "config.json")) as f:
        cfg = json.load(f)
    assert bert.config.num_hidden_layers == cfg["num_hidden_layers"] == 6
    assert sum(int(np.prod(w.shape)) for w in bert.weights) == 22_713_216
