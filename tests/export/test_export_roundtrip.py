import os

import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.config import ModelConfig, RunConfig
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.errors import UserError
from tfbig.export.saved_model import export_saved_model, next_version
from tfbig.train.build import build_classifier


@pytest.fixture(scope="module")
def tiny_model(tiny_bert_dir):
    cfg = RunConfig(model=ModelConfig(backbone="hf", model_dir=tiny_bert_dir))
    return build_classifier(cfg, tiny_bert_dir, 3), BertTextTokenizer.from_model_dir(tiny_bert_dir, 32)


def test_export_reload_gives_same_probabilities(tiny_model, tmp_path, tiny_texts):
    model, tok = tiny_model
    path = export_saved_model(model, tok, ["a", "b", "c"], str(tmp_path / "m"))
    assert path.endswith(os.path.join("m", "1"))
    texts = tiny_texts[0]
    expected = tf.nn.softmax(model(tok(tf.constant(texts)), training=False)).numpy()
    loaded = tf.saved_model.load(path)
    out = loaded.signatures["serving_default"](text=tf.constant(texts))
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-6)
    assert [s.decode() for s in out["label"].numpy()] == [["a", "b", "c"][i] for i in expected.argmax(1)]
    ids = tok(tf.constant(texts))
    out_ids = loaded.signatures["predict_ids"](**ids)
    np.testing.assert_allclose(out_ids["probabilities"].numpy(), expected, atol=1e-6)
    with open(os.path.join(path, "assets.extra", "labels.txt")) as f:
        assert f.read().split() == ["a", "b", "c"]


def test_versions_increment_and_are_never_overwritten(tiny_model, tmp_path):
    model, tok = tiny_model
    root = str(tmp_path / "m")
    assert next_version(root) == 1
    export_saved_model(model, tok, ["a", "b", "c"], root)
    assert next_version(root) == 2
    with pytest.raises(UserError, match="exists already"):
        export_saved_model(model, tok, ["a", "b", "c"], root, version=1)
    assert sorted(os.listdir(root)) == ["1"]  # no temporary folder left behind
