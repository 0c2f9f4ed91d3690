"""`tfbig evaluate` on a run folder and on its SavedModel: same numbers as the model itself, all files written."""
import json
import os

import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.cli import main
from tfbig.config import load_config, save_config
from tfbig.data.text_files import read_folder
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.reports.classification import classification_report
from tfbig.export.saved_model import export_saved_model
from tfbig.testing import tiny_run_overrides, write_tiny_folder_dataset
from tfbig.train.build import build_classifier

LABELS = ["c0", "c1", "c2"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_bert_dir):
    """A run folder and an export of a tiny classifier, and its reference report on the data."""
    tmp = str(tmp_path_factory.mktemp("evaluate"))
    data = write_tiny_folder_dataset(os.path.join(tmp, "data"))
    cfg = load_config(None, tiny_run_overrides(tmp, data, tiny_bert_dir, "ev"))
    tok = BertTextTokenizer.from_model_dir(tiny_bert_dir, cfg.data.max_length)
    examples = read_folder(data)
    y = np.array([LABELS.index(label) for label in examples.labels])
    model = build_classifier(cfg, tiny_bert_dir, len(LABELS))
    x = tok(tf.constant(examples.texts))
    # A nearest-centroid head on the random backbone's centred features: varied, mostly right predictions.
    pooled = model.backbone(x)["pooled_output"].numpy()
    centred = pooled - pooled.mean(0)
    kernel = centred.T @ np.eye(len(LABELS))[y] / centred.std()
    model.head.dense.kernel.assign(kernel.astype(np.float32))
    model.head.dense.bias.assign((-pooled.mean(0) @ kernel).astype(np.float32))
    run_dir = cfg.run_dir
    os.makedirs(run_dir)
    save_config(cfg, os.path.join(run_dir, "config.yaml"))
    with open(os.path.join(run_dir, "labels.txt"), "w") as f:
        f.write("\n".join(LABELS) + "\n")
    model.save_weights(os.path.join(run_dir, "final.weights"))
    export = export_saved_model(model, tok, LABELS, os.path.join(tmp, "exports", "ev"))
    reference = classification_report(y, model.predict_on_batch(x).argmax(-1), LABELS)
    assert len(set(model.predict_on_batch(x).argmax(-1))) > 1  # not a constant predictor
    return {"tmp": tmp, "data": data, "run_dir": run_dir, "export": export, "reference": reference}


@pytest.mark.parametrize("kind", ["run", "saved_model"])
def test_evaluate_writes_the_report_of_the_model(trained, kind, capsys):
    out = os.path.join(trained["tmp"], f"out-{kind}")
    source = trained["run_dir"] if kind == "run" else os.path.dirname(trained["export"])  # latest version
    assert main(["evaluate", source, "--data", trained["data"], "--out", out]) == 0
    report = json.load(open(os.path.join(out, "report.json")))
    ref = trained["reference"]
    assert report["model_kind"] == kind
    assert report["confusion_matrix"] == ref["confusion_matrix"]
    assert report["accuracy"] == pytest.approx(ref["accuracy"])
    assert report["macro"]["f1"] == pytest.approx(ref["macro"]["f1"])
    for name in ("confusion_matrix.png", "per_class.png"):
        with open(os.path.join(out, name), "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    md = open(os.path.join(out, "report.md")).read()
    assert f"{ref['accuracy']:.4f}" in md and "| **c2** |" in md and "![confusion matrix](confusion_matrix.png)" in md
    assert "accuracy" in capsys.readouterr().out


def test_evaluate_a_run_on_its_test_split_and_errors(trained, capsys):
    assert main(["evaluate", trained["run_dir"]]) == 0
    report = json.load(open(os.path.join(trained["run_dir"], "evaluation", "report.json")))
    assert report["num_examples"] == 8  # the tiny data's test split
    assert main(["evaluate", trained["export"]]) == 2
    assert "--data is required" in capsys.readouterr().err
    assert main(["evaluate", trained["tmp"], "--data", trained["data"]]) == 2
    assert "neither a run folder" in capsys.readouterr().err
