"""`Model.fit` that resumes: restores the last checkpoint of the run folder and continues at its step.

With early stopping on (train.early_stopping_patience > 0) the run ends on the best validation epoch's weights,
whether early stopping or the last planned epoch ended it, and after a SIGKILL and a rerun too (`restore_best`).
"""
import glob
import logging
import sys
import os
from dataclasses import dataclass

from tfbig.errors import UserError
from tfbig.train.callbacks import make_callbacks, remove_checkpoints
from tfbig.train.epoch_data import with_known_length
from tfbig.train.resume import CheckpointStore

log = logging.getLogger(__name__)


@dataclass
class FitResult:
    history: object  # keras History, or None when the run had finished already
    start_step: int  # 0 for a fresh run
    end_step: int
    best: dict  # the best epoch by train.monitor: {"monitor", "value", "epoch", "path", "restored",
    # "last_epoch"}, {} without validation


def resume_folder(run_dir: str) -> str:
    return os.path.join(run_dir, "checkpoints", "resume")


def fingerprint(cfg) -> dict:
    """Settings that decide which batches and which updates a step makes; a resumed run must not change them.
    (train.epochs may grow: the run then continues past its old end.)"""
    d, t = cfg.data, cfg.train
    return {"seed": cfg.seed, "task": getattr(cfg, "task", "classification"), "data.source": d.source, "data.batch_size": d.batch_size,
            "data.max_length": d.max_length, "data.seed": d.seed, "data.limit_per_class": d.limit_per_class,
            "data.train": d.train, "data.validation": d.validation, "data.test": d.test,
            "model.model_dir": cfg.model.model_dir, "train.optimizer": t.optimizer,
            "train.accumulation_steps": t.accumulation_steps, "model.lora.rank": cfg.model.lora.rank,
            **mlm_fingerprint(cfg)}


def mlm_fingerprint(cfg) -> dict:
    """What decides a pretraining run's rows and masks (empty for other runs): its masking, packing and model."""
    mlm = getattr(cfg, "mlm", None)
    if mlm is None:
        return {}
    d = cfg.data
    return {"data.mask_rate": d.mask_rate, "data.packing": d.packing, "data.whole_word_masking": d.whole_word_masking,
            "data.documents": d.documents, "data.dedup": d.dedup, "data.val_fraction": d.val_fraction,
            "mlm.preset": mlm.preset, "mlm.vocab": mlm.vocab, "mlm.labelled_splits": mlm.labelled_splits}


def check_compatible(state: dict, steps_per_epoch: int, now: dict, where: str) -> None:
    """Raises UserError when a checkpoint's state was written by a run with other settings."""
    changed = [f"{k}: {v!r} → {now.get(k)!r}" for k, v in state.get("fingerprint", {}).items() if now.get(k) != v]
    if state.get("steps_per_epoch") != steps_per_epoch:
        changed.append(f"steps per epoch: {state.get('steps_per_epoch')} → {steps_per_epoch}")
    if changed:
        raise UserError(f"{where}: the checkpoint was written with other settings ({'; '.join(changed)}); "
                        "set train.resume=false or use a new run name")


def describe_best(best_cb) -> dict:
    """The best epoch the callback knows of (1-based), or {} when there is none (no validation yet)."""
    if best_cb is None or best_cb.best is None:
        return {}
    return {"monitor": best_cb.monitor, "value": best_cb.best, "epoch": best_cb.best_epoch + 1,
            "path": best_cb.best_path}


def restore_best(model, best_cb, epochs_done: int) -> dict:
    """Loads the best epoch's weights (`best_cb.best_path`, what BestCheckpoint wrote) into `model`.

    best_cb: the run's BestCheckpoint, or None (no validation). Its best epoch and path come from the resume
    checkpoint's state when the run was resumed, so a rerun after a kill restores the same epoch.
    epochs_done: epochs trained in the whole run (resumes included).
    Returns describe_best's dict with "restored" (whether the model now holds the best epoch's weights) and
    "last_epoch" (epochs_done); {} without a best epoch.
    """
    best = describe_best(best_cb)
    if not best:
        return best
    best["last_epoch"] = int(epochs_done)
    path = best["path"]
    if not path or not glob.glob(path + ".index"):
        log.warning("the best epoch's weights (%s, epoch %d) are missing; keeping the last epoch's", path,
                    best["epoch"])
        return {**best, "restored": False}
    model.load_weights(path)
    log.info("restored the best epoch's weights: epoch %d of %d (%s %.4f)", best["epoch"], epochs_done,
             best["monitor"], best["value"])
    return {**best, "restored": True}


def weights_note(best: dict) -> str:
    """One line for report.md: which epoch's weights the run ended on ("" without a best epoch)."""
    if not best:
        return ""
    by = f"{best['monitor']} {best['value']:.4f}"
    if best.get("restored"):
        return f"the best epoch's, {best['epoch']} of {best['last_epoch']} ({by}), restored"
    return f"the last epoch's (the best was epoch {best['epoch']}, {by})"


def fit_resumable(cfg, model, train, val_ds, task, run_dir: str, verbose: int | None = None,
                  transform=None, extra_callbacks=(), own_resume: bool = True) -> FitResult:
    """Fits `model` (compiled) on `train` (an EpochData) for cfg.train.epochs, resuming when a checkpoint exists.
    With train.early_stopping_patience > 0 the model ends on the best validation epoch's weights (restore_best).

    task: the run's Task (what the validation summaries show).
    transform: callable or None. Applied to the training stream (e.g. per-worker sharding).
    extra_callbacks: list. Keras callbacks run after tfbig's (e.g. a cluster's BackupAndRestore).
    own_resume: bool. False when another callback (BackupAndRestore) restores the state instead.
    """
    t = cfg.train
    if verbose is None:  # a progress bar on a terminal; one line per epoch in a log file
        verbose = 1 if sys.stdout.isatty() else 2
    folder = resume_folder(run_dir)
    if not t.resume or not own_resume:
        remove_checkpoints(folder)
    store = CheckpointStore(folder, model)
    steps = train.steps_per_epoch
    state, now = store.latest(), fingerprint(cfg)
    if state is not None:
        check_compatible(state, steps, now, store.latest_path)
        state = store.restore()
    start = int(state["step"]) if state else 0
    if start:
        log.info("resuming at step %d (epoch %d, batch %d)", start, start // steps + 1, start % steps + 1)
    callbacks = make_callbacks(cfg, run_dir, store, steps, task, val_ds is not None, state, now)
    callbacks += list(extra_callbacks)
    history = None
    total = steps * t.epochs
    if val_ds is not None and t.steps_per_execution > 1:
        val_ds = with_known_length(val_ds)  # bucketed batches: fit cannot infer their number
    if start < total and not (state or {}).get("stopped"):
        stream = train.stream(start, t.epochs)
        history = model.fit(transform(stream) if transform else stream, validation_data=val_ds, epochs=t.epochs,
                            initial_epoch=start // steps, steps_per_epoch=steps, callbacks=callbacks,
                            verbose=verbose)
    best_cb = next((c for c in callbacks if hasattr(c, "best_path")), None)
    end = callbacks[0].step if history is not None else start
    if t.early_stopping_patience > 0:  # the best epoch's weights, also when the last planned epoch ended the run
        best = restore_best(model, best_cb, end // steps)
    else:
        best = describe_best(best_cb)
    return FitResult(history, start, end, best)
