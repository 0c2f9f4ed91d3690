"""The exported signatures: bad input, token-id clients, assets, warm-up records, ops, saved_model_cli."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.export.ops import list_ops, non_core_ops
from tfbig.export.warmup import read_warmup_requests

BAD_INPUTS = {
    "empty batch": [],
    "empty strings": ["", " ", "\n\t"],
    "100,000 characters": ["word " * 20000, "x" * 100000],
    "invalid UTF-8": [b"\xff\xfe\x80 caf\xe9", b"ok \xc3", b"\x00\x01 control"],
}


@pytest.fixture(scope="module", params=["fast", "core"])
def loaded(request, fast_export, core_export):
    path = fast_export if request.param == "fast" else core_export[0]
    return path, tf.saved_model.load(path)


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gives_valid_outputs(loaded, case):
    texts = BAD_INPUTS[case]
    out = loaded[1].signatures["serving_default"](text=tf.constant(texts, tf.string))
    probs = out["probabilities"].numpy()
    assert probs.shape == (len(texts), 5)
    assert np.isfinite(probs).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(out["label_id"].numpy(), probs.argmax(axis=1))
    labels = ["business", "entertainment", "politics", "sport", "tech"]
    assert [x.decode() for x in out["label"].numpy()] == [labels[i] for i in probs.argmax(axis=1)]


def test_predict_ids_matches_raw_text(loaded, tiny_run, bbc_texts):
    from tfbig.data.tokenizer import BertTextTokenizer

    cfg, _ = tiny_run
    sigs = loaded[1].signatures
    features = BertTextTokenizer.from_model_dir(cfg.model.model_dir, cfg.data.max_length)(tf.constant(bbc_texts[:8]))
    by_ids = sigs["predict_ids"](**features)["probabilities"].numpy()
    by_text = sigs["serving_default"](text=tf.constant(bbc_texts[:8]))["probabilities"].numpy()
    np.testing.assert_allclose(by_ids, by_text, atol=1e-6, rtol=0)
    empty = {k: tf.zeros([0, 0], tf.int32) for k in features}
    assert sigs["predict_ids"](**empty)["probabilities"].shape == (0, 5)


def test_assets_hold_labels_config_and_vocabulary(loaded, tiny_run):
    path = loaded[0]
    cfg, _ = tiny_run
    assets = os.path.join(path, "assets")
    with open(os.path.join(assets, "labels.txt")) as f:
        assert f.read().split() == ["business", "entertainment", "politics", "sport", "tech"]
    with open(os.path.join(assets, "vocab.txt")) as f, open(os.path.join(cfg.model.model_dir, "vocab.txt")) as g:
        assert f.read().split("\n") == g.read().split("\n")
    with open(os.path.join(assets, "config.yaml")) as f, open(os.path.join(cfg.run_dir, "config.yaml")) as g:
        assert f.read() == g.read()
    with open(os.path.join(assets, "tfbig_export.json")) as f:
        meta = json.load(f)
    assert meta["max_length"] == 64 and meta["tokenizer"] == ("core" if "core" in path else "fast")


def test_warmup_requests_parse_back_and_run(loaded):
    path, model = loaded
    file = os.path.join(path, "assets.extra", "tf_serving_warmup_requests")
    requests = read_warmup_requests(file)
    assert [name for name, _ in requests] == ["serving_default", "serving_default", "predict_ids"]
    assert requests[1][1]["text"].tolist()[-1] == b""
    for name, inputs in requests:  # what TF Serving does with each record when it loads the version
        out = model.signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})
        assert out["probabilities"].shape[0] == len(next(iter(inputs.values())))
    # The wire format itself: each record starts with field 6 (predict_log), length-delimited: tag 0x32.
    raw = next(iter(tf.data.TFRecordDataset(file).as_numpy_iterator()))
    assert raw[0] == (6 << 3) | 2


def test_ops_of_each_export(fast_export, core_export):
    fast_ops = list_ops(fast_export)
    assert "FastWordpieceTokenizeWithOffsets" in non_core_ops(fast_ops)
    core_path, cli_output = core_export
    core_ops = list_ops(core_path)
    assert non_core_ops(core_ops) == []
    assert {"LookupTableFindV2", "Substr", "UnicodeDecodeWithOffsets", "MatMul"} & set(core_ops)
    assert "not in core TensorFlow: none" in cli_output and "LookupTableFindV2" in cli_output


def test_saved_model_cli_lists_both_signatures(fast_export):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    proc = subprocess.run([cli, "show", "--dir", fast_export, "--all"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "signature_def['serving_default']" in out and "signature_def['predict_ids']" in out
    for name in ("inputs['text']", "outputs['probabilities']", "outputs['label_id']", "outputs['label']",
                 "inputs['input_ids']", "inputs['attention_mask']", "inputs['token_type_ids']"):
        assert name in out
