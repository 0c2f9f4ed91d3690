"""`export_precision`: an export that computes in bfloat16 from float32 weights, chosen per export."""
import dataclasses
import json
import os

import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.distribute.precision import export_policy
from tfbig.errors import UserError


@pytest.mark.parametrize("choice, trained, backbone, want", [
    ("same", "mixed_bfloat16", "tfbig", "mixed_bfloat16"),
    ("same", "float32", "tfbig", "float32"),
    ("same", "auto", "tfbig", "float32"),  # a hand-written config never resolved by a run
    ("float32", "mixed_bfloat16", "tfbig", "float32"),
    ("bfloat16", "float32", "hf", "mixed_bfloat16"),
    ("auto", "float32", "hf", "float32"),  # hf's TFBertModel is never switched
])
def test_export_policy(choice, trained, backbone, want):
    assert export_policy(choice, trained, backbone) == want


def test_unknown_export_precision_names_the_closest():
    with pytest.raises(UserError, match="export_precision 'bf16' is not one of .*bfloat16"):
        export_policy("bf16", "float32", "tfbig")


def _bf16_matmuls(concrete) -> int:
    """MatMuls computing in bfloat16 anywhere in the signature's graph (its nested functions included)."""
    graph = concrete.graph.as_graph_def()
    nodes = list(graph.node) + [n for f in graph.library.function for n in f.node_def]
    bf16 = tf.bfloat16.as_datatype_enum
    return sum(1 for n in nodes if n.op in ("MatMul", "BatchMatMulV2") and n.attr["T"].type == bf16)


def test_bfloat16_export_of_a_float32_run(tiny_run, bbc_texts, fast_reference, tmp_path):
    from tfbig.export.from_run import export_run
    from tfbig.export.loader import export_precision_of

    cfg, _ = tiny_run
    path = export_run(cfg.run_dir, str(tmp_path / "bf16"), precision="bfloat16")
    assert export_precision_of(path) == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"  # the policy is restored after the rebuild
    serve = tf.saved_model.load(path).signatures["serving_default"]
    assert _bf16_matmuls(serve) > 0
    probs = serve(text=tf.constant(bbc_texts))["probabilities"].numpy()
    assert probs.dtype == np.float32
    diff = np.abs(probs - fast_reference).max()
    assert 0 < diff < 0.02  # bfloat16 arithmetic: close to, not equal to, float32's
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_the_run_skeleton_exports_a_twin_in_the_export_policy(tiny_run, bbc_texts, fast_reference):
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.jobs.skeleton import exported_model
    from tfbig.tasks.registry import get_task

    cfg, model = tiny_run
    task = get_task("classification", ["business", "entertainment", "politics", "sport", "tech"])
    trained = dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, precision="float32"))
    assert exported_model(trained, model, task) is model  # same policy: the model itself
    twin = exported_model(dataclasses.replace(trained, export_precision="bfloat16"), model, task)
    assert twin is not model and twin.dtype_policy.name == "mixed_bfloat16"
    assert keras.mixed_precision.global_policy().name == "float32"
    for a, b in zip(model.weights, twin.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())  # float32 weights, copied exactly
    tok = BertTextTokenizer.from_model_dir(cfg.model.model_dir, cfg.data.max_length)
    probs = tf.nn.softmax(twin(tok(tf.constant(bbc_texts)), training=False)).numpy()
    assert 0 < np.abs(probs - fast_reference).max() < 0.02


def test_export_cli_takes_a_precision(tiny_run, tmp_path, capsys):
    from tfbig.cli import main

    cfg, _ = tiny_run
    assert main(["export", cfg.run_dir, "--out", str(tmp_path / "e"), "--precision", "float32"]) == 0
    assert "computes in float32" in capsys.readouterr().out
    meta = json.loads((tmp_path / "e" / "1" / "assets" / "tfbig_export.json").read_text())
    assert meta["precision"] == "float32"
    assert _bf16_matmuls(tf.saved_model.load(str(tmp_path / "e" / "1")).signatures["serving_default"]) == 0
    assert main(["export", cfg.run_dir, "--out", str(tmp_path / "e"), "--precision", "half"]) == 2
    assert "export precision 'half' is not one of" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "e" / "2")
