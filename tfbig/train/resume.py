"""Resumable checkpoints: model, optimizer, dropout RNG state and callback state, every N steps and per epoch.

Keras' BackupAndRestore restores weights, optimizer and the (epoch, batch) counters, but a rerun then reads
the epoch's batches from its beginning, replays epoch 0's shuffle order, and draws new dropout masks.
Here the data position comes from tfbig.train.epoch_data (batches are a function of (seed, epoch)), dropout
draws from `tf.random.Generator`s whose state is checkpointed, and fit is told the (epoch, batch) to start at.
"""
import contextlib
import glob
import json
import logging
import os

from tfbig._keras import keras, tf
from tfbig.errors import UserError
from tfbig.io_utils import atomic_write_json

log = logging.getLogger(__name__)


@contextlib.contextmanager
def checkpointable_dropout():
    """Layers created inside draw dropout masks from a `tf.random.Generator` (a variable we can save)."""
    was = keras.backend.experimental.is_tf_random_generator_enabled()
    keras.backend.experimental.enable_tf_random_generator()
    try:
        yield
    finally:
        if not was:
            keras.backend.experimental.disable_tf_random_generator()


def rng_generators(model) -> list:
    """The `tf.random.Generator`s of the model's random layers (dropout), in a stable order."""
    found = []
    for layer in model._flatten_layers(include_self=True, recursive=True):
        generator = getattr(getattr(layer, "_random_generator", None), "_generator", None)
        if isinstance(generator, tf.random.Generator):
            found.append(generator)
    return found


class InitialCounters:
    """What `Model.fit` asks `model._training_state` for: the (epoch, batch) to start at (tf-keras 2.x hook)."""

    def __init__(self, epoch: int, batch: int):
        self.epoch, self.batch = int(epoch), int(batch)

    def maybe_load_initial_counters_from_ckpt(self, steps_per_epoch, initial_epoch, mode=None):
        return self.epoch, self.batch


class CheckpointStore:
    """`folder/step-XXXXXXXX.*` checkpoints; `folder/latest.json` names the last complete one and its state.

    latest.json is written (atomically) only after the checkpoint files, so a process killed while
    saving leaves the previous checkpoint in force. The `keep` newest checkpoints are kept.
    """

    def __init__(self, folder: str, model, keep: int = 2):
        self.folder, self.model, self.keep = folder, model, int(keep)
        objects = {"model": model, "rng": rng_generators(model)}
        if model.optimizer is not None:
            if not getattr(model.optimizer, "_built", True):
                with model.distribute_strategy.scope():  # slots must exist to be restored
                    model.optimizer.build(model.trainable_variables)
            objects["optimizer"] = model.optimizer
        self.checkpoint = tf.train.Checkpoint(**objects)

    @property
    def latest_path(self) -> str:
        return os.path.join(self.folder, "latest.json")

    def latest(self) -> dict | None:
        if not os.path.isfile(self.latest_path):
            return None
        with open(self.latest_path, encoding="utf-8") as f:
            return json.load(f)

    def save(self, step: int, state: dict) -> str:
        prefix = os.path.join(self.folder, f"step-{int(step):08d}")
        os.makedirs(self.folder, exist_ok=True)
        self.checkpoint.write(prefix)
        atomic_write_json(self.latest_path, {**state, "step": int(step), "prefix": os.path.basename(prefix)})
        self._prune()
        log.debug("checkpoint at step %d: %s", step, prefix)
        return prefix

    def restore(self) -> dict | None:
        """Loads the latest checkpoint into the model; returns its state, or None when there is none."""
        state = self.latest()
        if state is None:
            return None
        prefix = os.path.join(self.folder, state["prefix"])
        try:
            self.checkpoint.read(prefix).assert_existing_objects_matched().expect_partial()
        except (tf.errors.OpError, AssertionError, ValueError) as e:
            raise UserError(f"cannot resume from {prefix}: {e}; the model or config changed? Set "
                            "train.resume=false or use a new run name") from None
        log.info("resumed from %s (step %d)", prefix, state["step"])
        return state

    def _prune(self) -> None:
        prefixes = sorted({p.split(".")[0] for p in glob.glob(os.path.join(self.folder, "step-*.index"))})
        for old in prefixes[:-self.keep] if self.keep > 0 else []:
            for path in glob.glob(old + ".*"):
                os.unlink(path)


def load_latest_weights(folder: str, model) -> int:
    """Loads the weights of the latest resumable checkpoint in `folder` into `model`; returns its step."""
    state = CheckpointStore(folder, model).restore()
    if state is None:
        raise UserError(f"no checkpoint in {folder}")
    return int(state["step"])
