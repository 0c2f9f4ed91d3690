"""Fixtures for the HTTP server tests: tiny exports (both tokenizers) and a real `tfbig serve` process."""
import os

import pytest

from serve_helpers import OtherTask, ServerProcess
from tfbig._keras import tf

LABELS = ["business", "entertainment", "politics", "sport", "tech"]


@pytest.fixture(scope="session")
def export_root(tmp_path_factory, tiny_bert_dir):
    """A folder holding saved_models-style model folders `tiny/1` (fast tokenizer) and `tiny_core/1`."""
    from tfbig.config import ModelConfig, RunConfig, save_config
    from tfbig.export.from_run import export_run
    from tfbig.train.build import build_classifier

    root = tmp_path_factory.mktemp("serve")
    cfg = RunConfig(name="tiny", output_dir=str(root / "runs"), export_dir=str(root / "saved_models"),
                    model=ModelConfig(model_dir=tiny_bert_dir))
    cfg.data.max_length = 64  # the tiny BERT has 64 positions
    os.makedirs(cfg.run_dir)
    save_config(cfg, os.path.join(cfg.run_dir, "config.yaml"))
    with open(os.path.join(cfg.run_dir, "labels.txt"), "w") as f:
        f.write("\n".join(LABELS) + "\n")
    build_classifier(cfg, tiny_bert_dir, len(LABELS)).save_weights(os.path.join(cfg.run_dir, "final.weights"))
    export_run(cfg.run_dir, os.path.join(cfg.export_dir, "tiny"), version=1, tokenizer="fast")
    export_run(cfg.run_dir, os.path.join(cfg.export_dir, "tiny_core"), version=1, tokenizer="core")
    return cfg.export_dir


@pytest.fixture(scope="session")
def other_export(export_root):
    """saved_models/other/1: what a regression-like task might export (not a classifier)."""
    module = OtherTask()
    path = os.path.join(export_root, "other", "1")
    tf.saved_model.save(module, path, signatures={"serving_default": module.score, "double": module.double})
    return os.path.dirname(path)


@pytest.fixture(scope="session")
def signatures(export_root):
    """The in-process signatures of tiny/1: what every HTTP answer is compared with."""
    import tensorflow_text  # noqa: F401

    return tf.saved_model.load(os.path.join(export_root, "tiny", "1")).signatures


@pytest.fixture(scope="session")
def server(export_root, other_export, tmp_path_factory):
    """One server for tiny (fast tokenizer), tiny_core and other; batching waits 30 ms so requests merge."""
    tmp = tmp_path_factory.mktemp("server")
    s = ServerProcess([f"tiny={os.path.join(export_root, 'tiny')}", os.path.join(export_root, "tiny_core"),
                       other_export,
                       "--batch-wait-ms", "30", "--max-body-mb", "1", "--max-text-chars", "20000",
                       "--max-rows", "64"], str(tmp / "server.log"))
    yield s
    s.stop()
