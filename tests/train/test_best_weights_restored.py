"""With early stopping on, a run ends on the best validation epoch's weights, not the last epoch's — also when
the last planned epoch (not early stopping) ends it, and after a SIGKILL and a rerun (tfbig.train.fit.restore_best).

The validation split is made to get worse as training goes on, whatever the machine's numerics: two classes, and
the given validation folder holds each class's texts under the other class's name. The better the model learns
train, the higher its validation loss (measured at learning rate 0.01: 0.70, 1.42, 2.22 in float32, 0.70, 1.39,
2.16 in bfloat16; 0.74, 2.59, 3.72 at 0.015 in bfloat16),
so epoch 1 is the best and the epoch cap, not early stopping (patience 3), ends the run.
"""
import json
import os

import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.testing import write_tiny_folder_dataset
from tfbig.train.callbacks import KILL_AT_STEP_ENV

STEPS_PER_EPOCH, EPOCHS = 6, 3  # 24 train examples, batch 4
SETTINGS = {"train.epochs": EPOCHS, "train.early_stopping_patience": EPOCHS, "train.learning_rate": 0.01,
            "train.monitor": "val_loss", "model.dropout": 0.0,
            # Pinned: `auto` times a matmul in each process, and a loaded machine can pick bfloat16 for one run
            # and float32 for the other, whose validation losses then differ (0.7029 vs 0.7037 in one CI run).
            "train.precision": "float32"}


@pytest.fixture(scope="module")
def swapped_validation(tmp_path_factory):
    """Given splits of two classes: train (12 a class), test (3 a class), validation (4 a class) with c0's texts
    in the folder c1 and c1's in c0. Returns the --set settings that point a run at them."""
    root = str(tmp_path_factory.mktemp("swapped_validation"))
    train = write_tiny_folder_dataset(os.path.join(root, "train"), classes=2, per_class=12, seed=1)
    test = write_tiny_folder_dataset(os.path.join(root, "test"), classes=2, per_class=3, seed=3)
    drawn = write_tiny_folder_dataset(os.path.join(root, "drawn"), classes=2, per_class=4, seed=2)
    validation = os.path.join(root, "validation")
    os.makedirs(validation)
    for c in range(2):
        os.rename(os.path.join(drawn, f"c{c}"), os.path.join(validation, f"c{1 - c}"))
    return {**SETTINGS, "data.train": train, "data.validation": validation, "data.test": test}


def model_weights(prefix: str) -> dict:
    """The backbone's and head's variables of a weights file or a resume checkpoint (whose names start with
    "model/"), optimizer and metric state left out."""
    reader = tf.train.load_checkpoint(prefix)
    names = [name for name, _ in tf.train.list_variables(prefix)]
    strip = "model/" if any(n.startswith("model/") for n in names) else ""
    return {name[len(strip):]: reader.get_tensor(name) for name in names
            if name.startswith(strip) and name[len(strip):].split("/")[0] in ("backbone", "head")}


def assert_same(a: dict, b: dict) -> None:
    assert sorted(a) == sorted(b) and len(a) > 20
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def report_of(run_dir: str) -> dict:
    with open(os.path.join(run_dir, "report.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory, tiny_bert_dir, swapped_validation, train_process):
    tmp = str(tmp_path_factory.mktemp("best_restored"))
    run = train_process(tmp, "", tiny_bert_dir, "uninterrupted", **swapped_validation)
    code, out = run.wait()
    assert code == 0, out
    return run.run_dir


def test_the_run_ends_on_the_best_epochs_weights_not_the_last(uninterrupted):
    best = report_of(uninterrupted)["best"]
    assert best["epoch"] < best["last_epoch"] == EPOCHS, best  # the case this test is about: best is not last
    assert best["restored"] is True and best["monitor"] == "val_loss"
    assert os.path.basename(best["path"]) == f"best-{best['epoch']:03d}.weights"
    final = model_weights(os.path.join(uninterrupted, "final.weights"))
    assert_same(final, model_weights(best["path"]))
    markdown = open(os.path.join(uninterrupted, "report.md"), encoding="utf-8").read()
    assert f"the best epoch's, {best['epoch']} of {EPOCHS} (val_loss {best['value']:.4f}), restored" in markdown
    # The last epoch's weights (the resume checkpoint at the run's last step) differ: the restore did something.
    latest = json.load(open(os.path.join(uninterrupted, "checkpoints", "resume", "latest.json")))
    assert latest["step"] == STEPS_PER_EPOCH * EPOCHS
    last = model_weights(os.path.join(uninterrupted, "checkpoints", "resume", latest["prefix"]))
    assert any(not np.array_equal(final[k], last[k]) for k in final)


def test_a_rerun_after_sigkill_still_restores_the_best_epoch(tmp_path, tiny_bert_dir, swapped_validation,
                                                             uninterrupted, train_process):
    tmp = str(tmp_path)
    kill_at = STEPS_PER_EPOCH * (EPOCHS - 1) + 2  # in the last epoch, long after the best one was saved
    killed = train_process(tmp, "", tiny_bert_dir, "resumed", {KILL_AT_STEP_ENV: str(kill_at)},
                           **swapped_validation)
    code, out = killed.wait()
    assert code == -9, out  # died of SIGKILL
    code, out = train_process(tmp, "", tiny_bert_dir, "resumed", **swapped_validation).wait()
    assert code == 0, out

    report, reference = report_of(killed.run_dir), report_of(uninterrupted)
    assert report["resumed_from_step"] > STEPS_PER_EPOCH * reference["best"]["epoch"]  # best epoch: before the kill
    best = report["best"]
    assert (best["epoch"], best["last_epoch"], best["restored"]) == (reference["best"]["epoch"], EPOCHS, True)
    assert best["value"] == reference["best"]["value"]
    final = model_weights(os.path.join(killed.run_dir, "final.weights"))
    assert_same(final, model_weights(best["path"]))  # written by the killed process, found by the rerun
    assert_same(final, model_weights(os.path.join(uninterrupted, "final.weights")))
