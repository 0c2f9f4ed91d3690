"""Resume after SIGKILL: the rerun continues from the last checkpoint and ends on the same weights."""
import json
import os
import random
import subprocess
import sys

import numpy as np

from tfbig._keras import tf
from tfbig.testing import tiny_run_overrides

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = ("import sys, tensorflow as tf; tf.config.experimental.enable_op_determinism(); "
          "from tfbig.cli import main; sys.exit(main(sys.argv[1:]))")


def train_args(tmp, data, model_dir, name, **extra):
    return ["train"] + [arg for o in tiny_run_overrides(tmp, data, model_dir, name, **extra) for arg in ("--set", o)]


def start(args, env_extra=None):
    env = {**os.environ, "PYTHONPATH": ROOT, **(env_extra or {})}
    return subprocess.Popen([sys.executable, "-c", DRIVER, *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(proc):
    out, _ = proc.communicate(timeout=600)
    return proc.returncode, out


def read_checkpoint(prefix: str) -> dict:
    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(prefix) if name != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def test_sigkill_then_rerun_gives_the_uninterrupted_weights(tmp_path, tiny_bert_dir, tiny_folder_data):
    tmp, data = str(tmp_path), tiny_folder_data
    steps_per_epoch = 6  # 22 training examples in batches of 4 (checked below from the checkpoint state)
    kill_at = random.Random().randint(3, 2 * steps_per_epoch - 1)  # after the first checkpoint, before the end
    print("killing at step", kill_at)
    reference = start(train_args(tmp, data, tiny_bert_dir, "reference"))
    killed = start(train_args(tmp, data, tiny_bert_dir, "resumed"), {"TFBIG_FAULT_KILL_AT_STEP": str(kill_at)})
    code, out = finish(killed)
    assert code == -9, out  # died of SIGKILL
    latest = json.load(open(os.path.join(tmp, "runs", "resumed", "checkpoints", "resume", "latest.json")))
    assert latest["steps_per_epoch"] == steps_per_epoch
    assert 0 < latest["step"] <= kill_at
    code, out = finish(start(train_args(tmp, data, tiny_bert_dir, "resumed")))
    assert code == 0, out
    ref_code, ref_out = finish(reference)
    assert ref_code == 0, ref_out

    report = json.load(open(os.path.join(tmp, "runs", "resumed", "report.json")))
    assert report["resumed_from_step"] == latest["step"] > 0
    assert report["steps"] == 2 * steps_per_epoch
    a = read_checkpoint(os.path.join(tmp, "runs", "reference", "final.weights"))
    b = read_checkpoint(os.path.join(tmp, "runs", "resumed", "final.weights"))
    assert sorted(a) == sorted(b)
    assert any("optimizer" in k for k in a)  # the comparison covers the Adam moments too
    for name in a:
        np.testing.assert_allclose(a[name], b[name], atol=1e-6, rtol=0, err_msg=name)
