"""Fixtures for the HTTP server tests: tiny exports (both tokenizers) and a real `tfbig serve` process."""
import os

import pytest

from serve_helpers import OtherTask, ServerProcess
from tfbig._keras import tf


@pytest.fixture(scope="session")
def export_root(fast_export, core_export):
    """A folder holding saved_models-style model folders `tiny/1` (fast tokenizer) and `tiny_core/1`: the
    exports of tests/conftest.py's tiny run (the export tests check them in-process; here they are served)."""
    root = os.path.dirname(os.path.dirname(fast_export))
    assert os.path.isdir(os.path.join(root, "tiny", "1")) and core_export[0] == os.path.join(root, "tiny_core", "1")
    return root


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
