"""LoRA on tfbig's encoder: exact at B = 0, only adapters and head learn, merged exports, adapter files."""
import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.config import load_config
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.errors import UserError
from tfbig.export.ops import list_ops
from tfbig.export.saved_model import export_saved_model
from tfbig.models.lora import load_adapters, lora_layers, save_adapters
from tfbig.train.build import build_classifier

LORA = ["model.lora.rank=4", "model.lora.targets=query,value,intermediate,output"]


def _model(folder, *sets, seed=0):
    keras.utils.set_random_seed(seed)
    cfg = load_config(None, ["data.max_length=32", "model.backbone_dropout=0.0", "model.dropout=0.0", f"model.model_dir={folder}", *sets])
    return build_classifier(cfg, folder, 3)


def _features(folder, texts):
    return BertTextTokenizer.from_model_dir(folder, 32)(tf.constant(texts))


def _randomize_b(model, seed=1):
    rng = np.random.default_rng(seed)
    for layer in lora_layers(model):
        layer.lora_b.assign(rng.normal(0, 0.05, layer.lora_b.shape).astype(np.float32))


def test_lora_with_b_zero_equals_the_base_model_exactly(tiny_bert_dir, tiny_texts):
    base, lora = _model(tiny_bert_dir), _model(tiny_bert_dir, *LORA)
    lora.head.set_weights(base.head.get_weights())
    x = _features(tiny_bert_dir, tiny_texts[0])
    np.testing.assert_array_equal(base(x).numpy(), lora(x).numpy())


def test_only_adapters_and_head_train_and_the_base_kernels_stay(tiny_bert_dir, tiny_texts):
    model = _model(tiny_bert_dir, *LORA)
    names = {v.name.split("/")[-1] for v in model.trainable_variables}
    assert len(model.trainable_variables) == 2 * 4 * 2 + len(model.head.weights)  # 2 blocks × 4 targets × A, B
    assert "kernel:0" not in {v.name.split("/")[-1] for v in model.backbone.trainable_variables}
    assert {"lora_a:0", "lora_b:0"} <= names
    frozen = [v.numpy().copy() for v in model.backbone.non_trainable_variables]
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    x, y = _features(tiny_bert_dir, tiny_texts[0]), tf.constant(tiny_texts[1])
    model.train_on_batch(x, y)
    for v, before in zip(model.backbone.non_trainable_variables, frozen):
        np.testing.assert_array_equal(v.numpy(), before, err_msg=v.name)
    assert any(np.abs(layer.lora_b.numpy()).max() > 0 for layer in lora_layers(model))
    # optimizer slots only for what trains: two Adam moments per trained variable
    slots = [v for v in model.optimizer.variables if len(v.shape)]
    assert sum(int(np.prod(v.shape)) for v in slots) == 2 * sum(int(np.prod(v.shape))
                                                                 for v in model.trainable_variables)


def test_merged_export_equals_unmerged_and_has_a_full_exports_ops(tiny_bert_dir, tiny_texts, tmp_path):
    model = _model(tiny_bert_dir, *LORA)
    _randomize_b(model)
    tok = BertTextTokenizer.from_model_dir(tiny_bert_dir, 32)
    texts = tf.constant(tiny_texts[0])
    expected = tf.nn.softmax(model(tok(texts))).numpy()
    kernels = [layer.kernel.numpy().copy() for layer in lora_layers(model)]
    lora_path = export_saved_model(model, tok, ["a", "b", "c"], str(tmp_path / "lora"))
    full_path = export_saved_model(_model(tiny_bert_dir), tok, ["a", "b", "c"], str(tmp_path / "full"))
    for layer, kernel in zip(lora_layers(model), kernels):  # the export left the kernels as they were
        np.testing.assert_array_equal(layer.kernel.numpy(), kernel)
        assert not layer.merged
    assert list_ops(lora_path) == list_ops(full_path)  # same op types and counts: no adapter matmuls
    out = tf.saved_model.load(lora_path).signatures["serving_default"](text=texts)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5, rtol=0)
    x = tok(texts)  # the adapters matter: the encoder's output is not the base model's
    assert not np.allclose(model.backbone(x)["sequence_output"].numpy(),
                           _model(tiny_bert_dir).backbone(x)["sequence_output"].numpy(), atol=1e-3)


def test_adapters_alone_load_onto_the_base(tiny_bert_dir, tiny_texts, tmp_path):
    trained = _model(tiny_bert_dir, *LORA)
    _randomize_b(trained)
    x = _features(tiny_bert_dir, tiny_texts[0])
    path = str(tmp_path / "adapters.safetensors")
    size = save_adapters(trained, path)
    fresh = _model(tiny_bert_dir, *LORA, seed=5)  # other A and head
    assert not np.allclose(fresh(x).numpy(), trained(x).numpy())
    load_adapters(fresh, path)
    np.testing.assert_array_equal(fresh(x).numpy(), trained(x).numpy())
    trained_bytes = 4 * sum(int(np.prod(v.shape)) for v in trained.trainable_variables)
    assert trained_bytes <= size < trained_bytes + 4096  # the trained tensors and a small header
    other = _model(tiny_bert_dir, "model.lora.rank=2", "model.lora.targets=query,value,intermediate,output")
    with pytest.raises(UserError, match="shape"):
        load_adapters(other, path)


def test_lora_trains_under_bfloat16(tiny_bert_dir, tiny_texts):
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    model = _model(tiny_bert_dir, *LORA, "train.precision=mixed_bfloat16")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    x, y = _features(tiny_bert_dir, tiny_texts[0]), tf.constant(tiny_texts[1])
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert all(v.dtype == tf.float32 for v in model.trainable_variables)
    assert any(np.abs(layer.lora_b.numpy()).max() > 0 for layer in lora_layers(model))


def test_hf_backbone_says_it_has_no_lora(tiny_bert_dir):
    with pytest.raises(UserError, match="model.backbone tfbig"):
        _model(tiny_bert_dir, "model.backbone=hf", "model.lora.rank=4")
    with pytest.raises(UserError, match="model.backbone tfbig"):
        _model(tiny_bert_dir, "model.backbone=hf", "train.recompute=blocks")


def test_unknown_target_names_the_closest():
    with pytest.raises(UserError, match="did you mean 'value'"):
        load_config(None, ["data.max_length=32", "model.lora.rank=4", "model.lora.targets=query,valeu"])
