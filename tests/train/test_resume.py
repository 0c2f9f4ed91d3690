"""Resume after SIGKILL: the rerun continues from the last checkpoint and ends on the same weights."""
import json
import os
import random

import numpy as np

from tfbig._keras import tf
from tfbig.train.callbacks import KILL_AT_STEP_ENV

STEPS_PER_EPOCH, EPOCHS = 6, 2  # 21 training examples in batches of 4 (checked from the checkpoint state)


def read_checkpoint(prefix: str) -> dict:
    """The model's weights and the optimizer's state (metric accumulators left out) of a weights file."""
    reader = tf.train.load_checkpoint(prefix)
    return {name: reader.get_tensor(name) for name, _ in tf.train.list_variables(prefix)
            if name.split("/")[0] in ("backbone", "head", "optimizer")}


def test_sigkill_then_rerun_gives_the_uninterrupted_weights(tmp_path, tiny_bert_dir, tiny_folder_data, reference_run,
                                                            train_process):
    tmp, overrides = str(tmp_path), reference_run["overrides"]
    # After the first checkpoint (step 2), before the end; TFBIG_TEST_KILL_STEP replays a given step.
    kill_at = int(os.environ.get("TFBIG_TEST_KILL_STEP", random.randint(3, STEPS_PER_EPOCH * EPOCHS - 1)))
    print("killing at step", kill_at)
    kill = {KILL_AT_STEP_ENV: str(kill_at)}
    killed = train_process(tmp, tiny_folder_data, tiny_bert_dir, "resumed", kill, **overrides)
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
