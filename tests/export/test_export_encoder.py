"""A classifier on tfbig's own encoder exports to a SavedModel that reloads with the same probabilities."""
import numpy as np

from tfbig._keras import tf
from tfbig.config import ModelConfig, RunConfig
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.export.saved_model import export_saved_model
from tfbig.train.build import build_classifier


def test_tfbig_backbone_exports_and_reloads(tiny_bert_dir, tmp_path, tiny_texts):
    model = build_classifier(RunConfig(model=ModelConfig(backbone="tfbig")), tiny_bert_dir, 3)
    tok = BertTextTokenizer.from_model_dir(tiny_bert_dir, 32)
    path = export_saved_model(model, tok, ["a", "b", "c"], str(tmp_path / "m"))
    texts = tf.constant(tiny_texts[0])
    expected = tf.nn.softmax(model(tok(texts), training=False)).numpy()
    out = tf.saved_model.load(path).signatures["serving_default"](text=texts)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-6)
