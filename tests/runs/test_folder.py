"""RunFolder: config of both run kinds, labels, report, finished-run checks, and the one-writer lock."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tfbig.config import ModelConfig, RunConfig
from tfbig.distill.config import DistillConfig, DistillRunConfig, StudentConfig
from tfbig.distribute.cluster import worker_dir
from tfbig.errors import UserError
from tfbig.runs import RunFolder

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Holds the lock of sys.argv[1] until killed; says so on stdout once it holds it.
HOLDER = ("import sys, time; from tfbig.runs import RunFolder\n"
          "with RunFolder(sys.argv[1]).lock():\n"
          "    print('locked', flush=True); time.sleep(600)")


def test_config_round_trip_of_a_trained_run(tmp_path):
    run = RunFolder(str(tmp_path / "x"))
    cfg = RunConfig(name="x", seed=3, model=ModelConfig(model_dir="/m", dropout=0.3))
    cfg.train.epochs, cfg.data.source = 4, "data.csv"
    run.write_config(cfg)
    assert type(run.read_config()) is RunConfig and run.read_config() == cfg
    assert "dropout: 0.3" in run.config_text()


def test_config_round_trip_of_a_distilled_run(tmp_path):
    run = RunFolder(str(tmp_path / "s"))
    cfg = DistillRunConfig(name="s", distill=DistillConfig(teachers=["runs/t"], temperature=4.0),
                           student=StudentConfig(num_layers=1, teacher_layers=[0]))
    run.write_config(cfg)
    loaded = run.read_config()  # a RunConfig would refuse the distill/student sections
    assert type(loaded) is DistillRunConfig and loaded == cfg
    (tmp_path / "s" / "config.yaml").write_text("student:\n  num_layers: 3\n")  # either section says it
    assert type(run.read_config()) is DistillRunConfig and run.read_config().student.num_layers == 3


def test_labels_round_trip_and_the_empty_file(tmp_path):
    run = RunFolder(str(tmp_path))
    run.write_labels(["business", "sci fi", "ünïcode"])
    assert (tmp_path / "labels.txt").read_text(encoding="utf-8") == "business\nsci fi\nünïcode\n"
    assert run.read_labels() == ["business", "sci fi", "ünïcode"]
    (tmp_path / "labels.txt").write_text("a\n\nb\n")  # blank lines are not classes
    assert run.read_labels() == ["a", "b"]
    (tmp_path / "labels.txt").write_text("\n \n")
    with pytest.raises(UserError, match=f"{tmp_path / 'labels.txt'}: no class names"):
        run.read_labels()
    os.remove(tmp_path / "labels.txt")
    with pytest.raises(UserError, match=f"{tmp_path / 'labels.txt'} not found"):
        run.read_labels()


def test_report_round_trip(tmp_path):
    run = RunFolder(str(tmp_path))
    with pytest.raises(UserError, match="has no report.json"):
        run.read_report()
    run.write_report({"accuracy": 0.75, "confusion_matrix": [[1, 0], [1, 2]]})
    assert run.read_report() == {"accuracy": 0.75, "confusion_matrix": [[1, 0], [1, 2]]}
    assert json.loads((tmp_path / "report.json").read_text())["accuracy"] == 0.75


def test_require_finished_names_what_is_missing(tmp_path):
    path = str(tmp_path / "x")
    run = RunFolder(path)
    with pytest.raises(UserError, match=f"^run folder not found: {path}$"):
        run.require_finished()
    run.write_labels(["a", "b"])
    with pytest.raises(UserError, match=f"^{path} has no config.yaml: it is not the run folder"):
        run.require_finished()
    assert not RunFolder.is_run_folder(path)
    run.write_config(RunConfig(name="x"))
    assert RunFolder.is_run_folder(path)
    with pytest.raises(UserError) as e:
        run.require_finished()
    assert str(e.value) == (f"{path} has no final.weights.index: the run has not finished (rerun its train or "
                            "distill command to resume it)")
    assert run.missing() == ["final.weights.index"]
    assert (run.checkpoints_dir, run.logs_dir, run.weights_path) == (
        os.path.join(path, "checkpoints"), os.path.join(path, "logs"), os.path.join(path, "final.weights"))


def _start_holder(path: str) -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", HOLDER, path], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": ROOT})
    assert child.stdout.readline().strip() == "locked"
    return child


def test_a_second_process_is_refused_at_once_and_a_killed_holder_leaves_no_stale_lock(tmp_path):
    path = str(tmp_path / "x")
    child = _start_holder(path)
    try:
        assert (tmp_path / "x" / ".lock").read_text().strip() == str(child.pid)
        start = time.time()
        with pytest.raises(UserError) as e:
            with RunFolder(path).lock():
                pass
        assert time.time() - start < 1.0  # refused, not waited for
        assert str(e.value) == (f"run folder {path} is in use by process {child.pid} (another tfbig train or "
                                "distill); wait for it or choose another name")
        os.kill(child.pid, signal.SIGKILL)  # no cleanup runs: the kernel drops the lock with the process
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    with RunFolder(path).lock():
        assert (tmp_path / "x" / ".lock").read_text().strip() == str(os.getpid())
    assert (tmp_path / "x" / ".lock").read_text() == ""  # released: no pid left to mislead


def test_the_lock_is_released_by_an_error_and_refuses_a_second_holder_in_one_process(tmp_path):
    run = RunFolder(str(tmp_path / "x"))
    with pytest.raises(ValueError):
        with run.lock():
            raise ValueError("the job failed")
    with run.lock():
        with pytest.raises(UserError, match=f"is in use by process {os.getpid()}"):
            with RunFolder(run.path).lock():
                pass


def test_a_workers_folder_never_blocks_the_chiefs(tmp_path):
    """make_strategy points a non-chief worker's output_dir at worker_dir(output_dir): its own run folder."""
    cluster = {"chief": ["a:1"], "worker": ["b:1", "c:1"]}
    output = str(tmp_path / "runs")
    folders = [os.path.join(worker_dir(output, {"cluster": cluster, "task": task}), "x")
               for task in ({"type": "chief", "index": 0}, {"type": "worker", "index": 0},
                            {"type": "worker", "index": 1})]
    assert len(set(folders)) == 3 and folders[0] == os.path.join(output, "x")
    children = [_start_holder(folder) for folder in folders[1:]]  # the workers hold theirs...
    try:
        with RunFolder(folders[0]).lock():  # ...and the chief takes its own
            pass
    finally:
        for child in children:
            child.kill()
            child.wait()
