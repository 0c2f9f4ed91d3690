"""tfbig.export.fused: while an export traces the model, attention's Q, K and V are one product and (bfloat16)
the kernels are stored in bfloat16; the outputs are the model's (to float rounding), the export saves the
fused variables instead of the ones they replace, and the model is as before afterwards."""
import numpy as np

from tfbig._keras import tf
from tfbig.distribute.precision import policy_scope


def _features(cfg, texts):
    from tfbig.data.tokenizer import BertTextTokenizer

    return BertTextTokenizer.from_model_dir(cfg.model.model_dir, cfg.data.max_length)(tf.constant(texts))


def test_served_products_compute_the_model_in_float32(tiny_run, bbc_texts):
    from tfbig.export.fused import first_token_only, served_products

    cfg, model = tiny_run
    features = _features(cfg, bbc_texts)
    exact = model(features, training=False).numpy()
    layers = len(model.backbone.blocks)
    with served_products(model) as (served, replaced):
        # a fused kernel and bias a block for its query, key and value kernels and biases; the rest untouched
        assert len(served) == 2 * layers and len(replaced) == 6 * layers
        assert all(v.dtype == tf.float32 for v in served)
        assert all(block.attention.fused_qkv is not None for block in model.backbone.blocks)
        fused = model(features, training=False).numpy()
    np.testing.assert_allclose(fused, exact, atol=1e-5)
    assert all(block.attention.fused_qkv is None for block in model.backbone.blocks)
    with first_token_only(model) as on, served_products(model):
        assert on and model.backbone.first_token_only  # a classifier on the pooler reads the [CLS] state only
        assert model.backbone(features, training=False)["sequence_output"].shape[1] == 1
        np.testing.assert_allclose(model(features, training=False).numpy(), exact, atol=1e-5)
    assert not model.backbone.first_token_only
    np.testing.assert_array_equal(model(features, training=False).numpy(), exact)


def test_served_products_store_bfloat16_kernels(tiny_run, bbc_texts):
    from tfbig.config import ModelConfig, RunConfig
    from tfbig.export.fused import served_products
    from tfbig.train.build import build_classifier

    cfg, model = tiny_run
    with policy_scope("mixed_bfloat16"):
        twin = build_classifier(RunConfig(model=ModelConfig(model_dir=cfg.model.model_dir)), cfg.model.model_dir, 5)
    twin.set_weights(model.get_weights())
    features = _features(cfg, bbc_texts)
    plain = twin(features, training=False).numpy()
    layers = len(twin.backbone.blocks)
    with served_products(twin) as (served, replaced):
        # the fused Q/K/V kernel and bias, and the attention output, intermediate and output kernels and biases
        assert len(served) == (2 + 3 * 2) * layers and len(replaced) == (6 + 3 * 2) * layers
        assert all(v.dtype == tf.bfloat16 for v in served)
        stored = twin(features, training=False).numpy()
    assert np.abs(stored - plain).max() < 0.05  # bfloat16 rounding of the queries' 1/√d only
    exact = model(features, training=False).numpy()
    assert np.abs(stored - exact).max() < 0.1
    assert all(dense.export_product is None for block in twin.backbone.blocks
               for dense in (block.feed_forward.intermediate, block.feed_forward.output_dense))
    np.testing.assert_array_equal(twin(features, training=False).numpy(), plain)


def test_first_token_only_for_heads_that_read_the_cls_state_only(tiny_bert_dir):
    from tfbig.export.fused import first_token_only, reads_first_token_only
    from tfbig.tasks.registry import get_task
    from tfbig.train.task_model import TaskModel

    def model(task, pooling="pooler"):
        return TaskModel.from_pretrained(tiny_bert_dir, get_task(task, ["O", "B-X"] if task == "tagging" else
                                                                 ["a", "b"]), pooling=pooling)

    assert reads_first_token_only(model("classification"))
    assert reads_first_token_only(model("multilabel", "cls"))
    assert not reads_first_token_only(model("classification", "mean"))  # the mean of every state
    tagger = model("tagging")  # a state per token
    assert not reads_first_token_only(tagger)
    with first_token_only(tagger) as on:
        assert not on and not tagger.backbone.first_token_only


def test_other_backbones_are_left_alone():
    from tfbig.export.fused import served_products

    class NotTfbig:
        backbone = object()

    with served_products(NotTfbig()) as (served, replaced):
        assert served == [] and replaced == []


def test_the_export_saves_the_fused_kernels(tiny_run, core_export):
    cfg, model = tiny_run
    loaded = tf.saved_model.load(core_export[0])
    names = [v.name for v in loaded.model_variables]
    layers = len(model.backbone.blocks)
    assert sum("fused_qkv_kernel" in n for n in names) == sum("fused_qkv_bias" in n for n in names) == layers
    assert not [n for n in names if any(f"attention/{d}/" in n for d in ("query", "key", "value"))]
    assert len(names) == len(model.variables) - 6 * layers + 2 * layers
