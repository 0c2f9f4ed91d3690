"""`tfbig distill` runs on the shared skeleton: strategies, resume, precision and the schedule come with it."""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import pytest
from test_distill_command import MARKET, SPORT, _teacher_run

from tfbig._keras import keras, tf
from tfbig.train.callbacks import KILL_AT_STEP_ENV

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVER = ("import sys, tensorflow as tf; tf.config.experimental.enable_op_determinism(); "
          "from tfbig.cli import main; sys.exit(main(sys.argv[1:]))")


@pytest.fixture(scope="module")
def teacher(tmp_path_factory, tiny_bert_dir):
    tmp = tmp_path_factory.mktemp("distill_skeleton")
    data = tmp / "data.csv"
    data.write_text("\n".join(["text,label"] + [f"{t},sport" for t in SPORT] + [f"{t},market" for t in MARKET]) + "\n")
    keras.utils.set_random_seed(0)
    return {"tmp": str(tmp), "run": _teacher_run(str(tmp / "teacher"), str(data), tiny_bert_dir)}


def _sets(teacher, name, *extra):
    sets = [f"name={name}", f"output_dir={teacher['tmp']}/runs", f"export_dir={teacher['tmp']}/exports",
            "train.optimizer=sgd", "train.learning_rate=0.5", "train.epochs=2", "train.precision=float32",
            "model.dropout=0", "model.backbone_dropout=0", "student.num_layers=1", "train.checkpoint_every_steps=1",
            "train.early_stopping_patience=0", *extra]
    return [a for s in sets for a in ("--set", s)]


def _start(teacher, name, *extra, env=None):
    """`tfbig distill` in a subprocess, started (output to a file: a run left going never blocks on a pipe)."""
    args = ["distill", "--teacher", teacher["run"], *_sets(teacher, name, *extra)]
    output = tempfile.TemporaryFile("w+", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *args], stdout=output, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": ROOT, "TFBIG_PROGRESS": "0", **(env or {})})
    proc.output, proc.run_dir = output, os.path.join(teacher["tmp"], "runs", name)
    return proc


def _finish(proc):
    """(exit status, output, run folder) of a `_start`ed run, waited for once."""
    if not hasattr(proc, "result"):
        proc.wait(timeout=900)
        proc.output.seek(0)
        proc.result = (proc.returncode, proc.output.read(), proc.run_dir)
    return proc.result


def _distill(teacher, name, *extra, env=None):
    return _finish(_start(teacher, name, *extra, env=env))


@pytest.fixture(scope="module")
def whole(teacher):
    """The plain one-device distillation: the mirrored run's and the resumed run's reference. Started here and
    waited for (`_finish`) by the tests, so their own runs go beside it."""
    proc = _start(teacher, "whole")
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def _weights(run_dir):
    prefix = os.path.join(run_dir, "final.weights")
    reader = tf.train.load_checkpoint(prefix)
    return {n: reader.get_tensor(n) for n, _ in tf.train.list_variables(prefix) if n.split("/")[0] in ("backbone", "head")}


def test_mirrored_on_two_logical_cpus_equals_one_device(teacher, whole):
    mirrored = _start(teacher, "two", "runtime.strategy=mirrored", "runtime.num_logical_cpus=2")
    code, out, one = _finish(whole)
    assert code == 0, out
    code, out, two = _finish(mirrored)
    assert code == 0, out
    assert "2 replica(s)" in out
    a, b = _weights(one), _weights(two)
    assert sorted(a) == sorted(b) and len(a) > 20
    moved = max(float(np.abs(a[n] - _weights(teacher["run"]).get(n, a[n])).max()) for n in a if "head" in n)
    assert moved > 1e-3  # the student learnt something, far above the tolerance below
    for name in a:
        np.testing.assert_allclose(a[name], b[name], atol=1e-5, rtol=0, err_msg=name)


def test_sigkilled_distill_resumes_to_the_uninterrupted_weights(teacher, whole):
    code, out, whole = _finish(whole)
    assert code == 0, out
    steps = json.load(open(os.path.join(whole, "report.json")))["steps"]
    code, out, killed = _distill(teacher, "killed", env={KILL_AT_STEP_ENV: str(steps - 2)})
    assert code == -9, out
    assert not os.path.exists(os.path.join(killed, "final.weights.index"))
    code, out, killed = _distill(teacher, "killed")
    assert code == 0, out
    report = json.load(open(os.path.join(killed, "report.json")))
    assert 0 < report["resumed_from_step"] < steps == report["steps"]
    a, b = _weights(whole), _weights(killed)
    for name in a:
        np.testing.assert_allclose(a[name], b[name], atol=1e-6, rtol=0, err_msg=name)


class Watch(keras.callbacks.Callback):
    """Records the student's compute dtype, the optimizer steps taken and the rate of the last one."""

    def on_train_begin(self, logs=None):
        self.steps = 0
        self.dtype = self.model.student.backbone.compute_dtype

    def on_train_batch_end(self, batch, logs=None):
        self.steps += 1

    def on_train_end(self, logs=None):
        self.iterations = int(self.model.optimizer.iterations)
        # tf-keras' `learning_rate` property gives the current rate; the schedule object is kept here.
        schedule = self.model.optimizer._learning_rate
        self.total_steps = schedule.total_steps
        self.last_rate = float(schedule(self.iterations))


def test_bf16_student_and_a_schedule_that_ends_at_the_last_step(teacher):
    from tfbig.distill.config import load_distill_config
    from tfbig.jobs.distill_job import distill_run

    args = _sets(teacher, "bf16", "train.precision=mixed_bfloat16", "data.bucketing=true", "train.epochs=3")
    cfg = load_distill_config(None, args[1::2], teachers=[teacher["run"]])
    watch = Watch()
    report = distill_run(cfg, extra_callbacks=[watch])
    assert watch.dtype == "bfloat16"
    # Bucketed epochs can have more batches than ceil(n / batch): the schedule is planned on the counted ones.
    assert report["steps_planned"] >= 3 * -(-report["split_sizes"]["train"] // cfg.data.batch_size)
    assert watch.steps == report["steps"] == report["steps_planned"] == watch.iterations == watch.total_steps
    assert watch.last_rate == 0.0
