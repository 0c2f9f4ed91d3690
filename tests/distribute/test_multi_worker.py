"""MultiWorkerMirroredStrategy with 2 worker processes on 127.0.0.1, and a restart after a worker is killed."""
import json

import numpy as np
import pytest
from _distribute_procs import HERE, free_ports, spawn, tail, tf_config, wait_all

WORKER = f"{HERE}/_mw_worker.py"
TIMEOUT = 420  # seconds for a whole cluster run; 2 shared cores make a run take 30-90 s


def load(prefix):
    weights = np.load(prefix + ".npz")
    with open(prefix + ".json") as f:
        return [weights[k] for k in sorted(weights.files, key=lambda k: int(k.split("_")[1]))], json.load(f)


def max_diff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def run_cluster(tmp, model_dir, backup, tag, crash_worker=None):
    """Starts 2 workers; returns their return codes (killed ones included) once all ended."""
    ports = free_ports(2)
    procs, logs = [], []
    for i in range(2):
        args = [WORKER, "--model-dir", model_dir, "--out", f"{tmp}/{tag}{i}", "--backup-dir", backup]
        if i == crash_worker:
            args += ["--crash-at", "1"]
        logs.append(f"{tmp}/{tag}{i}.log")
        procs.append(spawn(args, logs[-1], TF_CONFIG=tf_config(ports, i)))
    if crash_worker is None:
        return wait_all(procs, TIMEOUT), logs
    wait_all([procs[crash_worker]], TIMEOUT)
    wait_all(procs, 0.1)  # the survivor is blocked in a collective: the job is restarted as a whole
    return [p.returncode for p in procs], logs


@pytest.fixture(scope="module")
def single_process(tiny_bert_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("single")
    proc = spawn([WORKER, "--strategy", "default", "--model-dir", tiny_bert_dir, "--out", f"{tmp}/ref"],
                 f"{tmp}/ref.log")
    assert wait_all([proc], TIMEOUT) == [0], tail(f"{tmp}/ref.log")
    return load(f"{tmp}/ref")


def test_two_workers_match_one_process(tiny_bert_dir, tmp_path, single_process):
    codes, logs = run_cluster(tmp_path, tiny_bert_dir, str(tmp_path / "backup"), "w")
    assert codes == [0, 0], "\n".join(tail(log) for log in logs)
    (w0, info0), (w1, info1) = load(f"{tmp_path}/w0"), load(f"{tmp_path}/w1")
    assert info0["replicas"] == info1["replicas"] == 2
    assert max_diff(w0, w1) == 0.0
    assert max_diff(w0, single_process[0]) <= 1e-5
    assert not [p for p in (tmp_path / "backup").rglob("*") if p.is_file()]  # a finished run deletes its backup


def test_killed_worker_resumes_from_backup(tiny_bert_dir, tmp_path, single_process):
    backup = str(tmp_path / "backup")
    codes, logs = run_cluster(tmp_path, tiny_bert_dir, backup, "crash", crash_worker=1)
    assert (tmp_path / "crash1.crashed").exists(), "\n".join(tail(log) for log in logs)
    assert codes[1] == -9  # SIGKILLed itself after the first step of epoch 1
    assert (tmp_path / "backup" / "chief" / "checkpoint").exists()
    codes, logs = run_cluster(tmp_path, tiny_bert_dir, backup, "restart")
    assert codes == [0, 0], "\n".join(tail(log) for log in logs)
    (w0, info0), (w1, info1) = load(f"{tmp_path}/restart0"), load(f"{tmp_path}/restart1")
    assert info0["first_epoch"] == info1["first_epoch"] == 1  # resumed after epoch 0, not from scratch
    assert info0["start_step"] == info1["start_step"] > 0
    assert max_diff(w0, w1) == 0.0
    assert max_diff(w0, single_process[0]) <= 1e-5  # same weights as the run that was never killed
