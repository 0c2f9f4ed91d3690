"""`Model.fit` that resumes: restores the last checkpoint of the run folder and continues at its step."""
import logging
import os
from dataclasses import dataclass

from tfbig.errors import UserError
from tfbig.train.callbacks import make_callbacks, remove_checkpoints
from tfbig.train.resume import CheckpointStore

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    history: object  # keras History, or None when the run had finished already
    start_step: int  # 0 for a fresh run
    end_step: int
    best: dict  # the best epoch by train.monitor: {"epoch", "value", "path"}, {} without validation


def resume_folder(run_dir: str) -> str:
    return os.path.join(run_dir, "checkpoints", "resume")


def fit_resumable(cfg, model, train, val_ds, labels: list, run_dir: str, verbose: int = 1) -> FitResult:
    """Fits `model` (compiled) on `train` (an EpochData) for cfg.train.epochs, resuming when a checkpoint exists."""
    t = cfg.train
    folder = resume_folder(run_dir)
    if not t.resume:
        remove_checkpoints(folder)
    store = CheckpointStore(folder, model)
    steps = train.steps_per_epoch
    state = store.restore()
    if state is not None and state.get("steps_per_epoch") != steps:
        raise UserError(f"{store.latest_path}: written with {state.get('steps_per_epoch')} steps per epoch, the "
                        f"config now gives {steps}; set train.resume=false or use a new run name")
    start = int(state["step"]) if state else 0
    if start:
        log.info("resuming at step %d (epoch %d, batch %d)", start, start // steps + 1, start % steps + 1)
    callbacks = make_callbacks(cfg, run_dir, store, steps, labels, val_ds is not None, state)
    history = None
    total = steps * t.epochs
    if start < total and not (state or {}).get("stopped"):
        history = model.fit(train.stream(start, t.epochs), validation_data=val_ds, epochs=t.epochs,
                            initial_epoch=start // steps, steps_per_epoch=steps, callbacks=callbacks,
                            verbose=verbose)
    best_cb = next((c for c in callbacks if hasattr(c, "best_path")), None)
    best = {}
    if best_cb is not None and best_cb.best is not None:
        best = {"monitor": best_cb.monitor, "value": best_cb.best, "epoch": best_cb.best_epoch + 1,
                "path": best_cb.best_path}
    end = callbacks[0].step if history is not None else start
    return FitResult(history, start, end, best)
