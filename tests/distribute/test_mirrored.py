"""MirroredStrategy over 2 logical CPU devices steps exactly as one device (run in a fresh process)."""
import json

import pytest
from _distribute_procs import HERE, spawn, tail, wait_all

METRICS = ("loss", "ce", "l2_term", "accuracy")


@pytest.fixture(scope="module")
def mirrored(tiny_bert_dir, tmp_path_factory):
    log = str(tmp_path_factory.mktemp("mirrored") / "check.log")
    proc = spawn([f"{HERE}/_mirrored_check.py", tiny_bert_dir], log)
    assert wait_all([proc], timeout=420) == [0], tail(log)
    lines = [line for line in tail(log, 20000).splitlines() if line.startswith("{")]
    return json.loads(lines[-1])


def test_two_replicas_on_two_cpu_devices(mirrored):
    assert mirrored["replicas"] == 2
    assert [d.split("/")[-1] for d in mirrored["devices"]] == ["device:CPU:0", "device:CPU:1"]


@pytest.mark.parametrize("batch", ["even", "odd", "one"])
def test_sgd_step_with_l2_equals_one_device(mirrored, batch):
    """Global batch 4 (2 + 2), 3 (2 + 1) and 1 (1 + nothing): the same update as on one device."""
    assert mirrored["moved"] > 1e-4  # the step did change the weights
    assert mirrored[f"diff_{batch}"] <= 1e-6
    suffix = {"even": "", "odd": "_odd", "one": "_one"}[batch]
    ref, mir = mirrored["ref_metrics" + suffix], mirrored["mir_metrics" + suffix]
    for name in METRICS:
        assert mir[name] == pytest.approx(ref[name], abs=1e-6), name


def test_plain_mean_would_double_the_update(mirrored):
    """Each replica's own mean, summed over 2 replicas: the update is 2× the single-device one."""
    assert mirrored["plain_over_correct"] == pytest.approx(2.0, abs=1e-4)
