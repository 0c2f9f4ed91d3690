"""`export precision int8`: the encoder's Dense layers in int8, served in a fresh process with the float32
export's signatures and outputs, close to its probabilities."""
import json
import os
import subprocess
import sys

import numpy as np

from tfbig._keras import tf
from tfbig.export.ops import list_ops

# Runs in the child: plain TensorFlow only (the core tokenizer's export needs no other ops).
CHILD = r"""
import json, sys
import numpy as np
import tensorflow as tf
texts = json.load(open(sys.argv[2], encoding="utf-8"))
loaded = tf.saved_model.load(sys.argv[3])
out = loaded.signatures["serving_default"](text=tf.constant(texts))
np.save("text.npy", out["probabilities"].numpy())
ids = loaded.signatures["predict_ids"]
spec = ids.structured_input_signature[1]
json.dump({"outputs": sorted(out), "signatures": sorted(loaded.signatures), "ids_inputs": sorted(spec),
           "ids_outputs": sorted(ids.structured_outputs),
           "variable_dtypes": sorted({v.dtype.name for v in loaded.model_variables}),
           "int8_variables": sum(v.dtype == tf.int8 for v in loaded.model_variables),
           "modules": sorted(m for m in ("tfbig", "tf_keras", "transformers") if m in sys.modules)},
          open(sys.argv[1], "w"))
"""


def test_int8_export_in_a_fresh_process(tiny_run, core_export, fast_reference, bbc_texts, tmp_path):
    from tfbig.export.from_run import export_run
    from tfbig.export.loader import export_metadata, export_precision_of

    cfg, model = tiny_run
    path = export_run(cfg.run_dir, str(tmp_path / "int8"), tokenizer="core", precision="int8")
    assert export_precision_of(path) == "int8" == export_metadata(path)["precision"]
    layers = len(model.backbone.blocks)
    ops = list_ops(path)
    # Six int8 products a block (q, k, v, attention output, intermediate, output), traced once per signature
    # branch (one chunk / chunked) and signature; the float products left: attention's two, pooler and head.
    assert ops["QuantizedMatMulWithBiasAndDequantize"] % (6 * layers) == 0
    assert ops["QuantizedMatMulWithBiasAndDequantize"] >= 6 * layers * 2

    (tmp_path / "texts.json").write_text(json.dumps(bbc_texts))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_USE_LEGACY_KERAS")}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "r.json"), str(tmp_path / "texts.json"), path],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads((tmp_path / "r.json").read_text())
    assert got["modules"] == []
    float_export = tf.saved_model.load(core_export[0])
    float_out = float_export.signatures["serving_default"](text=tf.constant(bbc_texts[:2]))
    assert got["outputs"] == sorted(float_out) and got["signatures"] == sorted(float_export.signatures)
    assert got["ids_inputs"] == ["attention_mask", "input_ids", "token_type_ids"]
    assert got["ids_outputs"] == sorted(float_export.signatures["predict_ids"].structured_outputs)
    # The encoder's kernels are saved in int8 only (6 a block); embeddings, LayerNorms, pooler, head in float32.
    assert got["int8_variables"] == 6 * layers
    assert got["variable_dtypes"] == sorted({v.dtype.name for v in float_export.model_variables} | {"int8"})
    # The float export saves one fused Q/K/V kernel and bias a block (tfbig.export.fused) for six variables.
    float_count = len(float_export.model_variables) + (6 - 2) * layers
    assert float_count - 2 * 6 * layers + 4 * 6 * layers == len(tf.saved_model.load(path).model_variables)

    probs = np.load(tmp_path / "text.npy")
    assert probs.shape == (32, 5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    # The in-memory model with its Dense layers in int8 gives the same probabilities (float rounding only);
    # float32's are within the bfloat16 export's bound (the random head's are near uniform: the int8 error
    # itself is measured on the encoder's output below).
    np.testing.assert_allclose(probs, _int8_reference(cfg, model, bbc_texts), atol=1e-5, rtol=0)
    assert np.abs(probs - fast_reference).max() < 0.02


def _int8_reference(cfg, model, texts):
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.export.int8 import int8_dense

    tok = BertTextTokenizer.from_model_dir(cfg.model.model_dir, cfg.data.max_length)
    with int8_dense(model):
        return tf.nn.softmax(model(tok(tf.constant(texts)), training=False)).numpy()


def test_int8_dense_moves_the_encoder_output_by_about_one_percent(tiny_run, bbc_texts):
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.export.int8 import int8_dense

    cfg, model = tiny_run
    features = BertTextTokenizer.from_model_dir(cfg.model.model_dir, cfg.data.max_length)(tf.constant(bbc_texts))
    exact = model.backbone(features, training=False)["sequence_output"].numpy()
    with int8_dense(model) as (saved, replaced):
        assert len(saved) == 4 * len(replaced) // 2 == 4 * 6 * len(model.backbone.blocks)
        quantized = model.backbone(features, training=False)["sequence_output"].numpy()
    rel = np.sqrt(np.mean((quantized - exact) ** 2)) / exact.std()
    assert 1e-4 < rel < 0.05, rel  # int8's ~1% a product (tests/layers/test_int8.py), not float32's 1e-7
    np.testing.assert_array_equal(model.backbone(features, training=False)["sequence_output"].numpy(), exact)


def test_export_cli_int8(tiny_run, tmp_path, capsys):
    from tfbig.cli import main

    cfg, _ = tiny_run
    assert main(["export", cfg.run_dir, "--out", str(tmp_path / "e"), "--precision", "int8"]) == 0
    assert "computes in int8" in capsys.readouterr().out
    with open(tmp_path / "e" / "1" / "assets" / "tfbig_export.json", encoding="utf-8") as f:
        assert json.load(f)["precision"] == "int8"
