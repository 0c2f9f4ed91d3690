"""A tiny run's TensorBoard files hold every scalar it should; an injected NaN stops the run with exit 3."""
import glob
import json
import os

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tfbig._keras import tf
from tfbig.cli import main
from tfbig.config import load_config
from tfbig.testing import tiny_run_overrides
from tfbig.train.callbacks import NAN_AT_STEP_ENV
from tfbig.train.fit import resume_folder
from tfbig.train.resume import checkpointable_dropout, load_latest_weights
from tfbig.train.build import build_classifier

STEPS, EPOCHS = 6, 2


def _tensors(folder: str) -> dict:
    """{tag: [steps]} of a TensorBoard run folder (tf-keras writes scalars as tensors)."""
    acc = EventAccumulator(folder, size_guidance={"tensors": 0})
    acc.Reload()
    return {tag: [e.step for e in acc.Tensors(tag)] for tag in acc.Tags()["tensors"]}


def _values(folder: str, tag: str) -> list:
    acc = EventAccumulator(folder, size_guidance={"tensors": 0})
    acc.Reload()
    return [float(tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)]


def test_tensorboard_has_epoch_step_image_and_config_summaries(reference_run):
    run_dir = reference_run["run_dir"]
    assert f"tensorboard --logdir {run_dir}/logs" in reference_run["output"]
    logs = os.path.join(run_dir, "logs")
    epochs = list(range(EPOCHS))
    train, val = _tensors(os.path.join(logs, "train")), _tensors(os.path.join(logs, "validation"))
    for tag in ("epoch_loss", "epoch_accuracy", "epoch_macro_f1", "epoch_l2_term", "epoch_ce"):
        assert train[tag] == epochs, tag
        assert val[tag] == epochs, tag
    steps = _tensors(os.path.join(logs, "steps"))
    for tag in ("learning_rate", "examples_per_second", "tokens_per_second"):
        assert steps[tag] == list(range(1, STEPS * EPOCHS + 1)), tag
    run = _tensors(os.path.join(logs, "run"))
    assert run["config"] == [0]
    assert run["validation_confusion_matrix"] == epochs
    test = _tensors(os.path.join(logs, "test"))
    assert test["test_confusion_matrix"] == test["macro_f1"] == [EPOCHS]
    rates = _values(os.path.join(logs, "steps"), "learning_rate")
    assert rates[0] < rates[2] and rates[-1] < rates[3]  # warmup, then linear decay
    assert min(_values(os.path.join(logs, "steps"), "tokens_per_second")) > 0
    assert min(_values(os.path.join(logs, "train"), "epoch_l2_term")) > 0


def test_nan_loss_exits_3_and_keeps_the_last_good_checkpoint(tmp_path, tiny_bert_dir, tiny_folder_data,
                                                            monkeypatch, capsys):
    monkeypatch.setenv(NAN_AT_STEP_ENV, "3")
    args = tiny_run_overrides(str(tmp_path), tiny_folder_data, tiny_bert_dir, "nan")
    assert main(["train"] + [a for o in args for a in ("--set", o)]) == 3
    err = capsys.readouterr().err
    assert "the training loss became nan at step 4" in err  # the 4th step, the first after 3 done
    assert "step-00000002" in err
    run_dir = os.path.join(str(tmp_path), "runs", "nan")
    assert not glob.glob(os.path.join(run_dir, "final.weights*"))
    state = json.load(open(os.path.join(resume_folder(run_dir), "latest.json")))
    assert state["step"] == 2
    cfg = load_config(None, args)
    with checkpointable_dropout():
        model = build_classifier(cfg, tiny_bert_dir, 3)
    before = [w.numpy() for w in model.weights]
    assert load_latest_weights(resume_folder(run_dir), model) == 2
    assert all(np.isfinite(w.numpy()).all() for w in model.weights)
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.weights))  # it loaded something


def test_learning_rate_summary_under_a_strategy(tmp_path):
    """Under a strategy tf-keras' current-rate variable is a MirroredVariable; the per-step summary reads it."""
    from tfbig._keras import keras
    from tfbig.train.callbacks import StepClock, StepScalars

    schedule = keras.optimizers.schedules.PolynomialDecay(0.1, decay_steps=4, end_learning_rate=0.02)
    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        model = keras.Sequential([keras.layers.Dense(1, input_shape=(2,))])
        model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    clock = StepClock(steps_per_epoch=4)
    x, y = np.ones((8, 2), np.float32), np.zeros((8, 1), np.float32)
    model.fit(x, y, batch_size=2, epochs=1, verbose=0, callbacks=[clock, StepScalars(clock, str(tmp_path))])
    rates = _values(str(tmp_path), "learning_rate")
    np.testing.assert_allclose(rates, [0.1, 0.08, 0.06, 0.04], rtol=1e-6)  # the rate each step used
