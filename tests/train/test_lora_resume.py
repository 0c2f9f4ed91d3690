"""A LoRA run with recomputed blocks, SIGKILLed and rerun, ends on the weights of an uninterrupted one."""
import json
import os

import numpy as np
import pytest

from tfbig.train.callbacks import KILL_AT_STEP_ENV

STEPS_PER_EPOCH, EPOCHS = 6, 2
# Dropout stays on (0.1 in the backbone, 0.2 before the head): resuming must restore the seeds' generators.
# train.precision is pinned: `auto` times a bf16 against a float32 matmul in each process (on CPUs that list
# AVX-512 BF16), so under load the reference, the killed run and its rerun could each pick another policy.
LORA_RUN = {"model.lora.rank": 4, "model.lora.dropout": 0.1, "model.lora.targets": "query,value,output",
            "train.recompute": "blocks", "train.precision": "float32"}
# Killed before step 9 (epoch 2, batch 4): the last checkpoint is step 8's mid-epoch one, and step 8's update is
# lost, so the rerun resumes mid-epoch and redoes a step. TFBIG_TEST_KILL_STEP replays another step.
KILL_STEP = 9


def _weights(prefix):
    from tfbig._keras import tf

    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(prefix)
            if name.split("/")[0] in ("backbone", "head", "optimizer")}


def _finished(run):
    """(exit status, output) of a started TrainProcess, waited for once."""
    if not hasattr(run, "result"):
        run.result = run.wait()
    return run.result


@pytest.fixture(scope="module")
def lora_reference(tmp_path_factory, tiny_bert_dir, tiny_folder_data, train_process):
    """The uninterrupted LoRA run, started (not waited for: `_finished`), so a test's other runs go beside it."""
    tmp = str(tmp_path_factory.mktemp("lora_reference"))
    run = train_process(tmp, tiny_folder_data, tiny_bert_dir, "lora", **LORA_RUN)
    yield run
    if run.proc.poll() is None:
        run.proc.kill()
        run.proc.wait()


def test_sigkilled_lora_run_resumes_exactly(tmp_path, tiny_bert_dir, tiny_folder_data, lora_reference, train_process):
    tmp = str(tmp_path)
    kill_at = int(os.environ.get("TFBIG_TEST_KILL_STEP", KILL_STEP))
    print("killing at step", kill_at)
    killed = train_process(tmp, tiny_folder_data, tiny_bert_dir, "lora", {KILL_AT_STEP_ENV: str(kill_at)},
                           **LORA_RUN)
    code, out = killed.wait()
    assert code == -9, out
    code, out = train_process(tmp, tiny_folder_data, tiny_bert_dir, "lora", **LORA_RUN).wait()
    assert code == 0, out
    code, out = _finished(lora_reference)
    assert code == 0, out
    report = json.load(open(os.path.join(killed.run_dir, "report.json")))
    assert report["resumed_from_step"] > 0 and report["steps"] == STEPS_PER_EPOCH * EPOCHS
    a = _weights(os.path.join(lora_reference.run_dir, "final.weights"))
    b = _weights(os.path.join(killed.run_dir, "final.weights"))
    assert sorted(a) == sorted(b) and any("lora_b" in k for k in a)
    for name in a:
        np.testing.assert_allclose(a[name], b[name], atol=1e-6, rtol=0, err_msg=name)


def test_a_lora_run_logs_its_plan_and_writes_a_small_adapter_file(lora_reference):
    code, out = _finished(lora_reference)
    assert code == 0, out
    run_dir = lora_reference.run_dir
    assert "memory plan: " in out and "LoRA rank 4, recompute blocks" in out
    report = json.load(open(os.path.join(run_dir, "report.json")))
    assert os.path.getsize(report["adapters"]) == report["adapter_bytes"]
    weights_bytes = sum(os.path.getsize(os.path.join(run_dir, f)) for f in os.listdir(run_dir)
                        if f.startswith("final.weights.data"))
    assert report["adapter_bytes"] < 0.2 * weights_bytes  # the tiny model's head is a large share already
    assert 0 < report["trainable_share"] < 0.2
