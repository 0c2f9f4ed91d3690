"""model.backbone: the classifier works on tfbig's encoder (the default) and on transformers' TFBertModel alike."""
import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.config import RunConfig, load_config
from tfbig.errors import UserError
from tfbig.models.backbone import build_backbone
from tfbig.train.build import build_classifier


def batch():
    ids = np.array([[2, 40, 41, 42, 3], [2, 50, 3, 0, 0]])
    return {"input_ids": tf.constant(ids, tf.int32), "attention_mask": tf.constant((ids != 0).astype(np.int32)),
            "token_type_ids": tf.zeros([2, 5], tf.int32)}


def test_tfbig_is_the_default_backbone():
    assert RunConfig().model.backbone == "tfbig"


def test_both_backbones_give_the_same_classifier(tiny_bert_dir):
    models = {}
    for name in ("tfbig", "hf"):
        cfg = load_config(overrides=[f"model.backbone={name}"])
        models[name] = build_classifier(cfg, tiny_bert_dir, num_classes=3)
    models["hf"].head.set_weights(models["tfbig"].head.get_weights())
    np.testing.assert_allclose(models["tfbig"](batch()).numpy(), models["hf"](batch()).numpy(), atol=1e-5)
    model = models["tfbig"]  # one step through the classifier's train_step (the hf one is the foundation's)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    before = model.backbone.blocks[0].attention.query.kernel.numpy().copy()
    logs = model.train_on_batch(batch(), tf.constant([0, 2]), return_dict=True)
    assert np.isfinite(logs["loss"])
    assert not np.array_equal(before, model.backbone.blocks[0].attention.query.kernel.numpy())


def test_backbone_dropout_override_and_unknown_name(tiny_bert_dir):
    enc = build_backbone("tfbig", tiny_bert_dir, backbone_dropout=0.0)
    assert enc.hidden_dropout_prob == 0.0 and enc.attention_probs_dropout_prob == 0.0
    with pytest.raises(UserError, match="model.backbone 'tf' is not one of tfbig, hf"):
        build_backbone("tf", tiny_bert_dir)
