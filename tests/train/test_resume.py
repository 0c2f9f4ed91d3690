"""Resume after SIGKILL: the rerun continues from the last checkpoint and ends on the same weights."""
import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.testing import WORDS

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = ("import sys, tensorflow as tf; tf.config.experimental.enable_op_determinism(); "
          "from tfbig.cli import main; sys.exit(main(sys.argv[1:]))")


def write_tiny_folder_dataset(root: str, classes: int = 3, per_class: int = 12, seed: int = 0) -> str:
    """`root/<class>/<i>.txt`, each class drawing from its own slice of the tiny vocabulary."""
    rng = random.Random(seed)
    words = [w for w in WORDS if w.isalpha()]
    for c in range(classes):
        own = words[c::classes]
        os.makedirs(os.path.join(root, f"c{c}"), exist_ok=True)
        for i in range(per_class):
            text = " ".join(rng.choice(own) for _ in range(rng.randint(3, 24)))
            with open(os.path.join(root, f"c{c}", f"{i}.txt"), "w") as f:
                f.write(text)
    return root


def train_args(tmp, data, model_dir, name, **extra):
    settings = {"name": name, "output_dir": os.path.join(tmp, "runs"), "export_dir": os.path.join(tmp, "exports"),
                "data.source": data, "data.max_length": 32, "data.batch_size": 4, "data.val_fraction": 0.2,
                "model.model_dir": model_dir, "model.dropout": 0.2, "train.epochs": 2, "train.learning_rate": 1e-3,
                "train.checkpoint_every_steps": 2, "train.early_stopping_patience": 0, "train.warmup_fraction": 0.2}
    settings.update(extra)
    args = ["train"]
    for key, value in settings.items():
        args += ["--set", f"{key}={value}"]
    return args


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


def test_sigkill_then_rerun_gives_the_uninterrupted_weights(tmp_path, tiny_bert_dir):
    tmp = str(tmp_path)
    data = write_tiny_folder_dataset(os.path.join(tmp, "data"))
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
