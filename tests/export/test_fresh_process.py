"""The exported models in a fresh Python process that imports only TensorFlow, then tensorflow-text."""
import json
import os
import subprocess
import sys

import numpy as np

# Runs in the child: nothing of tfbig, tf-keras or transformers is imported. First plain TensorFlow (as in
# stock TF Serving): the core export must run, the fast one must fail; then with tensorflow-text both run.
CHILD = r"""
import json, sys
import numpy as np
import tensorflow as tf
texts = json.load(open(sys.argv[2], encoding="utf-8"))
core, fast = sys.argv[3], sys.argv[4]
result = {}
WATCH = ("tfbig", "tf_keras", "transformers", "tensorflow_text")
def serve(path, name):
    try:
        out = tf.saved_model.load(path).signatures["serving_default"](text=tf.constant(texts))
        np.save(name + ".npy", out["probabilities"].numpy())
        result[name] = "ok"
    except Exception as e:  # what a server without tensorflow-text's ops reports
        result[name] = f"{type(e).__name__}: {e}"[:300]
serve(core, "core_plain")
serve(fast, "fast_plain")
result["modules_plain"] = sorted(m for m in WATCH if m in sys.modules)
import tensorflow_text  # noqa: F401  (registers NormalizeUTF8 & co.)
serve(fast, "fast_text")
result["modules"] = sorted(m for m in WATCH if m in sys.modules)
json.dump(result, open(sys.argv[1], "w"))
"""


def test_fresh_process_gives_the_in_memory_probabilities(tmp_path, fast_export, core_export, fast_reference,
                                                          bbc_texts):
    core_path, _ = core_export
    (tmp_path / "texts.json").write_text(json.dumps(bbc_texts))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_USE_LEGACY_KERAS")}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "result.json"), str(tmp_path / "texts.json"),
                           core_path, fast_export], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["modules_plain"] == [] and result["modules"] == ["tensorflow_text"]

    # Plain TensorFlow: the core-tokenizer export runs; the fast one lacks tensorflow-text's ops.
    assert result["core_plain"] == "ok"
    assert "Op type not registered" in result["fast_plain"], result["fast_plain"]
    # With tensorflow-text: the fast export gives the in-memory model's probabilities on 32 BBC texts.
    assert result["fast_text"] == "ok"
    fast = np.load(tmp_path / "fast_text.npy")
    assert fast.shape == (32, 5)
    np.testing.assert_allclose(fast, fast_reference, atol=1e-5, rtol=0)
    # The core tokenizer gives the same ids, so the same probabilities.
    np.testing.assert_allclose(np.load(tmp_path / "core_plain.npy"), fast_reference, atol=1e-5, rtol=0)
