"""Tiny training runs shared by the tests of tfbig.train."""
import os
import random
import subprocess
import sys
import tempfile

import pytest

from tfbig.testing import tiny_run_overrides, write_tiny_folder_dataset

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# `tfbig` in a fresh process with op determinism on: same inputs, bit-identical results.
DRIVER = ("import sys, tensorflow as tf; tf.config.experimental.enable_op_determinism(); "
          "from tfbig.cli import main; sys.exit(main(sys.argv[1:]))")


@pytest.fixture(scope="session")
def tiny_folder_data(tmp_path_factory):
    """36 texts in 3 class folders: 21 train, 7 validation, 8 test with tfbig.testing.tiny_run_overrides."""
    return write_tiny_folder_dataset(str(tmp_path_factory.mktemp("tiny_data")))


class TrainProcess:
    """`tfbig train` with tiny_run_overrides in a subprocess; `wait()` returns (exit status, output)."""

    def __init__(self, tmp, data, model_dir, name, env=None, **overrides):
        sets = tiny_run_overrides(tmp, data, model_dir, name, **overrides)
        args = ["train"] + [a for o in sets for a in ("--set", o)]
        self.run_dir = os.path.join(tmp, "runs", name)
        # Output to a file, not a pipe: a run left going beside others never blocks on a full pipe.
        self.output = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.proc = subprocess.Popen([sys.executable, "-c", DRIVER, *args], stdout=self.output,
                                     stderr=subprocess.STDOUT, text=True,
                                     env={**os.environ, "PYTHONPATH": ROOT, "TFBIG_PROGRESS": "0", **(env or {})})

    def wait(self):
        self.proc.wait(timeout=900)
        self.output.seek(0)
        return self.proc.returncode, self.output.read()


REFERENCE = {"train.l2": 0.01}


@pytest.fixture(scope="session")
def side_by_side(tmp_path_factory, tiny_bert_dir, tiny_folder_data):
    """Two runs started together (separate folders, nothing shared): the uninterrupted reference, and the run
    test_resume.py SIGKILLs before step `kill_at` (after the first checkpoint, step 2, before the end, step 12;
    TFBIG_TEST_KILL_STEP replays a given step). {"reference", "killed": TrainProcess, "kill_at", "killed_tmp"}."""
    from tfbig.train.callbacks import KILL_AT_STEP_ENV

    kill_at = int(os.environ.get("TFBIG_TEST_KILL_STEP", random.randint(3, 11)))
    ref_tmp, killed_tmp = str(tmp_path_factory.mktemp("reference")), str(tmp_path_factory.mktemp("resumed"))
    runs = {"reference": TrainProcess(ref_tmp, tiny_folder_data, tiny_bert_dir, "reference", **REFERENCE),
            "killed": TrainProcess(killed_tmp, tiny_folder_data, tiny_bert_dir, "resumed",
                                   {KILL_AT_STEP_ENV: str(kill_at)}, **REFERENCE),
            "kill_at": kill_at, "killed_tmp": killed_tmp, "reference_tmp": ref_tmp}
    yield runs
    for run in (runs["reference"], runs["killed"]):
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait()


@pytest.fixture(scope="session")
def reference_run(side_by_side):
    """An uninterrupted deterministic 2-epoch run: {"tmp", "run_dir", "output", "overrides"}."""
    tmp = side_by_side["reference_tmp"]
    code, out = side_by_side["reference"].wait()
    assert code == 0, out
    return {"tmp": tmp, "run_dir": os.path.join(tmp, "runs", "reference"), "output": out, "overrides": REFERENCE}


@pytest.fixture(scope="session")
def train_process():
    """The TrainProcess class (fixtures, not imports, share helpers between test folders)."""
    return TrainProcess
