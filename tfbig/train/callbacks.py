"""The callbacks of a training run: NaN guard, TensorBoard (epoch and per-step), best checkpoint with
early stopping, and resumable checkpoints every N steps and at each epoch end.

Every callback that counts steps reads a shared `StepClock`, so step numbers stay global across a resume.
"""
import glob
import logging
import math
import os
import shutil
import signal
import time

from tfbig._keras import keras, tf
from tfbig.config import to_dict
from tfbig.errors import TrainingDiverged

log = logging.getLogger(__name__)

# Fault injection for tests: at the given global step, SIGKILL this process / make the loss NaN.
KILL_AT_STEP_ENV = "TFBIG_FAULT_KILL_AT_STEP"
NAN_AT_STEP_ENV = "TFBIG_FAULT_NAN_AT_STEP"


class StepClock(keras.callbacks.Callback):
    """`step`: optimizer steps done so far in the whole run (epoch·S + batch), resumes included."""

    def __init__(self, steps_per_epoch: int, start_step: int = 0):
        super().__init__()
        self.steps_per_epoch, self.step, self.epoch = int(steps_per_epoch), int(start_step), 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.step = self.epoch * self.steps_per_epoch + batch

    def on_train_batch_end(self, batch, logs=None):
        self.step = self.epoch * self.steps_per_epoch + batch + 1


class FaultInjection(keras.callbacks.Callback):
    """Test hook: before global step `kill_at` (or the first step after it) the process SIGKILLs itself;
    before `nan_at`, the last trainable variable becomes NaN, so that step's loss is NaN."""

    def __init__(self, clock: StepClock, kill_at: int = -1, nan_at: int = -1):
        super().__init__()
        self.clock, self.kill_at, self.nan_at = clock, kill_at, nan_at

    def on_train_batch_begin(self, batch, logs=None):
        # `>=`: with steps_per_execution > 1 the hook sees every n-th step only.
        if 0 <= self.kill_at <= self.clock.step:
            os.kill(os.getpid(), signal.SIGKILL)
        if 0 <= self.nan_at <= self.clock.step:
            variable = self.model.trainable_variables[-1]
            variable.assign(tf.fill(tf.shape(variable), float("nan")))
            self.nan_at = -1


class NanGuard(keras.callbacks.Callback):
    """Stops the run with TrainingDiverged when the loss is NaN or infinite, before anything saves it."""

    def __init__(self, clock: StepClock, store):
        super().__init__()
        self.clock, self.store = clock, store

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            latest = self.store.latest()
            kept = (f"the last good checkpoint is {os.path.join(self.store.folder, latest['prefix'])} (step "
                    f"{latest['step']}); rerunning resumes from it" if latest else "no checkpoint was saved yet")
            raise TrainingDiverged(
                f"the training loss became {float(loss)} at step {self.clock.step} (epoch {self.clock.epoch + 1}, "
                f"batch {batch + 1}); {kept}. Lower train.learning_rate, or check the data")


class StepScalars(keras.callbacks.Callback):
    """Per step, to TensorBoard: learning rate, examples/s and tokens/s (time from the previous step's end)."""

    def __init__(self, clock: StepClock, logdir: str):
        super().__init__()
        self.clock, self.logdir = clock, logdir
        self.writer, self.last = None, None

    def on_train_begin(self, logs=None):
        self.writer = tf.summary.create_file_writer(self.logdir)

    def on_epoch_begin(self, epoch, logs=None):
        self.last = None  # validation time between epochs is not throughput

    def on_train_batch_begin(self, batch, logs=None):
        if self.last is None:
            self.last = (time.perf_counter(), *self._seen())

    def on_train_batch_end(self, batch, logs=None):
        now, examples, tokens = time.perf_counter(), *self._seen()
        then, examples0, tokens0 = self.last
        seconds = max(now - then, 1e-9)
        with self.writer.as_default(step=self.clock.step):
            tf.summary.scalar("learning_rate", self._learning_rate())
            tf.summary.scalar("examples_per_second", (examples - examples0) / seconds)
            tf.summary.scalar("tokens_per_second", (tokens - tokens0) / seconds)
        self.last = (now, examples, tokens)

    def on_train_end(self, logs=None):
        self.writer.flush()

    def _seen(self):
        m = self.model
        if not hasattr(m, "examples_seen"):
            return 0.0, 0.0
        return float(m.examples_seen.result()), float(m.tokens_seen.result())

    def _learning_rate(self) -> float:
        optimizer = getattr(self.model.optimizer, "inner_optimizer", self.model.optimizer)
        lr = optimizer.learning_rate
        if isinstance(lr, keras.optimizers.schedules.LearningRateSchedule):
            lr = lr(optimizer.iterations - 1)  # the rate the step just taken used
        # tf-keras returns its current-rate variable, a MirroredVariable under a strategy (float() refuses it).
        return float(tf.convert_to_tensor(lr))


class RunSummaries(keras.callbacks.Callback):
    """The resolved config as text once, and the task's images (a confusion matrix) after each validation."""

    def __init__(self, cfg, logdir: str, task):
        super().__init__()
        self.cfg, self.logdir, self.task = cfg, logdir, task
        self.writer = None

    def on_train_begin(self, logs=None):
        import yaml

        self.writer = tf.summary.create_file_writer(self.logdir)
        text = yaml.safe_dump(to_dict(self.cfg), sort_keys=False)
        with self.writer.as_default(step=0):
            tf.summary.text("config", "```\n" + text + "```")  # markdown code block keeps the layout

    def on_epoch_end(self, epoch, logs=None):
        if not any(k.startswith("val_") for k in logs or {}):
            return
        # After fit's validation pass the model's metrics hold the validation counts.
        images = self.task.validation_images(self.model)
        with self.writer.as_default(step=epoch):
            for name, png in images.items():
                tf.summary.image(name, tf.image.decode_png(png, channels=3)[tf.newaxis])
        self.writer.flush()


class BestCheckpoint(keras.callbacks.Callback):
    """Keeps the weights of the best epoch by `monitor` in `folder/best-EEE.weights`; with patience > 0
    stops after that many epochs without improvement and restores the best weights (early stopping).

    Its state (best value, epoch and path) is saved with each resumable checkpoint, so a rerun after a kill
    knows the best epoch; with patience > 0, tfbig.train.fit.restore_best loads the best weights at the end
    of the run also when the last planned epoch, not early stopping, ended it."""

    def __init__(self, folder: str, monitor: str = "val_accuracy", patience: int = 0):
        super().__init__()
        self.folder, self.monitor, self.patience = folder, monitor, int(patience)
        self.mode = "max" if any(s in monitor for s in ("acc", "f1", "pearson", "spearman")) else "min"
        self.best, self.best_path, self.best_epoch, self.wait, self.stopped = None, None, -1, 0, False
        self._obsolete = []

    def state(self) -> dict:
        return {"best": self.best, "best_path": self.best_path, "best_epoch": self.best_epoch,
                "wait": self.wait, "stopped": self.stopped, "monitor": self.monitor}

    def load_state(self, state: dict) -> None:
        for key in ("best", "best_path", "best_epoch", "wait", "stopped"):
            setattr(self, key, state.get(key, getattr(self, key)))

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            log.warning("monitor %s is not among the logs %s; no best checkpoint", self.monitor, sorted(logs or {}))
            return
        current = float(current)
        if self.best is None or (current > self.best if self.mode == "max" else current < self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            path = os.path.join(self.folder, f"best-{epoch + 1:03d}.weights")
            self.model.save_weights(path)
            if self.best_path and self.best_path != path:
                self._obsolete.append(self.best_path)
            self.best_path = path
            return
        self.wait += 1
        if self.patience > 0 and self.wait >= self.patience:
            self.model.stop_training = self.stopped = True
            log.info("early stopping after epoch %d; restoring the best, epoch %d (%s %.4f)", epoch + 1,
                     self.best_epoch + 1, self.monitor, self.best)
            self.model.load_weights(self.best_path)

    def after_checkpoint(self) -> None:
        """Removes best weights that the saved state no longer refers to."""
        for path in self._obsolete:
            for f in glob.glob(path + ".*"):
                os.unlink(f)
        self._obsolete = []


class ResumeCheckpoint(keras.callbacks.Callback):
    """Saves a resumable checkpoint every `every_steps` steps and at each epoch end, with the state of the
    `stateful` callbacks; tells fit where to start (epoch, batch) when resuming. Place it last."""

    def __init__(self, store, clock: StepClock, every_steps: int, stateful: dict, start_step: int = 0,
                 fingerprint: dict | None = None):
        super().__init__()
        self.store, self.clock, self.every_steps = store, clock, int(every_steps)
        self.fingerprint = fingerprint or {}
        self.stateful, self.start_step, self.last_saved = stateful, int(start_step), int(start_step)

    def on_train_begin(self, logs=None):
        from tfbig.train.resume import InitialCounters

        self.model._training_state = InitialCounters(*divmod(self.start_step, self.clock.steps_per_epoch))

    def on_train_batch_end(self, batch, logs=None):
        last_of_epoch = batch + 1 >= self.clock.steps_per_epoch  # saved at epoch end, after validation
        if self.every_steps and not last_of_epoch and self.clock.step - self.last_saved >= self.every_steps:
            self._save()

    def on_epoch_end(self, epoch, logs=None):
        self._save()

    def on_train_end(self, logs=None):
        self.model._training_state = None

    def _save(self) -> None:
        state = {"steps_per_epoch": self.clock.steps_per_epoch, "stopped": bool(self.model.stop_training),
                 "fingerprint": self.fingerprint,
                 "callbacks": {name: cb.state() for name, cb in self.stateful.items()}}
        self.store.save(self.clock.step, state)
        self.last_saved = self.clock.step
        for cb in self.stateful.values():
            cb.after_checkpoint()


def make_callbacks(cfg, run_dir: str, store, steps_per_epoch: int, task, has_validation: bool,
                   state: dict | None = None, fingerprint: dict | None = None) -> list:
    """The callbacks of `train_run`, in order. `state`: what `store.restore()` returned, or None;
    `fingerprint`: settings saved with each checkpoint that a resumed run must share."""
    t = cfg.train
    start = int(state["step"]) if state else 0
    clock = StepClock(steps_per_epoch, start)
    logs = os.path.join(run_dir, "logs")
    callbacks = [clock]
    kill_at, nan_at = int(os.environ.get(KILL_AT_STEP_ENV, -1)), int(os.environ.get(NAN_AT_STEP_ENV, -1))
    if kill_at >= 0 or nan_at >= 0:
        callbacks.append(FaultInjection(clock, kill_at, nan_at))
    callbacks += [
        NanGuard(clock, store),
        keras.callbacks.TensorBoard(logs, write_graph=False, profile_batch=0),
        StepScalars(clock, os.path.join(logs, "steps")),
        RunSummaries(cfg, os.path.join(logs, "run"), task),
    ]
    stateful = {}
    if has_validation:
        best = BestCheckpoint(os.path.join(run_dir, "checkpoints"), t.monitor, t.early_stopping_patience)
        if state:
            best.load_state(state.get("callbacks", {}).get("best", {}))
        stateful["best"] = best
        callbacks.append(best)
    callbacks.append(ResumeCheckpoint(store, clock, t.checkpoint_every_steps, stateful, start, fingerprint))
    return callbacks


def remove_checkpoints(folder: str) -> None:
    """Deletes a run's resumable checkpoints (train.resume=false starts over)."""
    shutil.rmtree(folder, ignore_errors=True)


def write_test_summaries(run_dir: str, report: dict, step: int, task) -> None:
    """The test split's scalars and images (as the task names them) to `logs/test` at `step` (epochs run)."""
    writer = tf.summary.create_file_writer(os.path.join(run_dir, "logs", "test"))
    with writer.as_default(step=step):
        for name, value in task.summary_scalars(report).items():
            tf.summary.scalar(name, value)
        for name, m in (report.get("floor") or {}).items():  # the baseline's, beside the model's
            tf.summary.scalar(f"floor_{name}", m["floor"])
        for name, png in task.report_images(report).items():
            tf.summary.image(name, tf.image.decode_png(png, channels=3)[tf.newaxis])
    writer.close()
