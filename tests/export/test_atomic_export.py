"""Export never leaves a half model where a server would load it, and never overwrites a version."""
import os
import signal
import subprocess
import sys
import time

import pytest

from tfbig.cli import main
from tfbig.errors import UserError
from tfbig.export.loader import SavedClassifier
from tfbig.export.saved_model import next_version

# The child exports a small model (an embedding bag: the model does not matter here, the folder handling
# does); tf.saved_model.save is wrapped so the process is stopped inside it, after TensorFlow has written
# every file of the model into the temporary folder.
CHILD = r"""
import sys, time
import tfbig._keras
from tfbig._keras import keras, tf
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.export.saved_model import export_saved_model

class Bag(keras.Model):
    def __init__(self):
        super().__init__()
        self.embed, self.head = keras.layers.Embedding(200, 4), keras.layers.Dense(2)
    def call(self, features, training=False):
        return self.head(tf.reduce_mean(self.embed(features["input_ids"]), axis=1))

real_save = tf.saved_model.save
def save_then_hang(obj, export_dir, *args, **kwargs):
    real_save(obj, export_dir, *args, **kwargs)
    open(sys.argv[3], "w").write(export_dir)
    time.sleep(600)
tf.saved_model.save = save_then_hang
tok = BertTextTokenizer.from_model_dir(sys.argv[1], 16)
model = Bag()
model(tok(tf.constant(["x"])))
export_saved_model(model, tok, ["a", "b"], sys.argv[2])
"""


def test_killed_export_leaves_no_version_folder(tmp_path, tiny_bert_dir):
    out, marker = tmp_path / "killed", tmp_path / "inside_save"
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    child = subprocess.Popen([sys.executable, "-c", CHILD, tiny_bert_dir, str(out), str(marker)], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 300
        while not marker.exists() and child.poll() is None and time.time() < deadline:
            time.sleep(0.2)
        assert marker.exists(), child.stderr.read().decode()[-2000:] if child.poll() is not None else "timeout"
        time.sleep(0.2)  # the marker is written; the child is inside save
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
    tmp_folder = marker.read_text()
    assert os.path.isfile(os.path.join(tmp_folder, "saved_model.pb"))  # killed with the files written...
    assert [n for n in os.listdir(out) if n.isdigit()] == []  # ...yet no version a server would load
    assert os.path.basename(tmp_folder).startswith(".tmp-1-")
    assert next_version(str(out)) == 1
    with pytest.raises(UserError, match="no SavedModel"):
        SavedClassifier(str(out))


def test_exporting_over_an_existing_version_is_refused(capsys, tiny_run, fast_export):
    cfg, _ = tiny_run
    root = os.path.dirname(fast_export)
    before = {n: os.stat(os.path.join(fast_export, n)).st_mtime_ns for n in os.listdir(fast_export)}
    code = main(["export", cfg.run_dir, "--out", root, "--version", "1"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err == f"tfbig: error: export {fast_export} exists already; versions are never overwritten"
    assert {n: os.stat(os.path.join(fast_export, n)).st_mtime_ns for n in os.listdir(fast_export)} == before
    assert [n for n in os.listdir(root) if not n.startswith(".")] == ["1"]
