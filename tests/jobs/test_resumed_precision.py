"""A rerun of an interrupted `train.precision: auto` run keeps the policy the run resolved `auto` to."""
import copy
import os

from tfbig.config import RunConfig
from tfbig.jobs.skeleton import keep_resumed_precision
from tfbig.runs.folder import RunFolder
from tfbig.train.fit import resume_folder


def _resolved(tmp_path, precision):
    cfg = RunConfig(name="r", output_dir=str(tmp_path))
    cfg.train.precision = precision
    return cfg


def test_interrupted_auto_run_keeps_its_recorded_precision(tmp_path):
    RunFolder(_resolved(tmp_path, "auto").run_dir).write_config(_resolved(tmp_path, "mixed_bfloat16"))
    os.makedirs(resume_folder(_resolved(tmp_path, "auto").run_dir))
    now = _resolved(tmp_path, "float32")  # what this process's `auto` picked
    kept = keep_resumed_precision(now, "auto")
    assert kept.train.precision == "mixed_bfloat16"
    assert now.train.precision == "float32"  # the given config is not changed


def test_explicit_precision_or_no_checkpoint_or_no_resume_leaves_the_config(tmp_path):
    RunFolder(_resolved(tmp_path, "auto").run_dir).write_config(_resolved(tmp_path, "mixed_bfloat16"))
    now = _resolved(tmp_path, "float32")
    assert keep_resumed_precision(now, "auto").train.precision == "float32"  # no resume checkpoint yet
    os.makedirs(resume_folder(now.run_dir))
    assert keep_resumed_precision(now, "float32").train.precision == "float32"  # asked for float32
    no_resume = copy.deepcopy(now)
    no_resume.train.resume = False
    assert keep_resumed_precision(no_resume, "auto").train.precision == "float32"
