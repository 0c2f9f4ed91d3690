"""Resume after SIGKILL: the rerun continues from the last checkpoint and ends on the same weights."""
import json
import os

import numpy as np

from tfbig._keras import tf

STEPS_PER_EPOCH, EPOCHS = 6, 2  # 21 training examples in batches of 4 (checked from the checkpoint state)


def read_checkpoint(prefix: str) -> dict:
    """The model's weights and the optimizer's state (metric accumulators left out) of a weights file."""
    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(prefix)
            if name.split("/")[0] in ("backbone", "head", "optimizer")}


def test_sigkill_then_rerun_gives_the_uninterrupted_weights(tiny_bert_dir, tiny_folder_data, side_by_side,
                                                            reference_run, train_process):
    # The killed run was started beside the reference run (tests/train/conftest.py); it dies before `kill_at`.
    tmp, overrides, killed, kill_at = (side_by_side["killed_tmp"], reference_run["overrides"], side_by_side["killed"],
                                       side_by_side["kill_at"])
    print("killing at step", kill_at)
    code, out = killed.wait()
    assert code == -9, out  # died of SIGKILL
    latest = json.load(open(os.path.join(killed.run_dir, "checkpoints", "resume", "latest.json")))
    assert latest["steps_per_epoch"] == STEPS_PER_EPOCH
    assert 0 < latest["step"] <= kill_at
    code, out = train_process(tmp, tiny_folder_data, tiny_bert_dir, "resumed", **overrides).wait()
    assert code == 0, out

    report = json.load(open(os.path.join(killed.run_dir, "report.json")))
    assert report["resumed_from_step"] == latest["step"] > 0
    assert report["steps"] == STEPS_PER_EPOCH * EPOCHS
    a = read_checkpoint(os.path.join(reference_run["run_dir"], "final.weights"))
    b = read_checkpoint(os.path.join(killed.run_dir, "final.weights"))
    assert sorted(a) == sorted(b)
    assert len(a) > 50 and any(k.startswith("optimizer/") for k in a)  # weights and Adam moments
    for name in a:
        np.testing.assert_allclose(a[name], b[name], atol=1e-6, rtol=0, err_msg=name)
