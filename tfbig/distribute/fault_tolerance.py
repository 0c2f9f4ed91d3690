"""Backups for restartable runs: a killed or preempted job, restarted with the same command, resumes."""
import logging

from tfbig._keras import keras

log = logging.getLogger(__name__)


def backup_callbacks(runtime) -> list:
    """[BackupAndRestore] writing to `runtime.backup_dir` (set by the HardwarePlan of make_strategy), or [] when off.

    Keras restores model, optimizer and epoch from the backup at the start of `fit` and deletes it when
    `fit` ends normally. Multi-worker: the chief writes the backup and every worker restores from it, so
    backup_dir must be a folder all workers see (the same machine, NFS, or gs://).
    """
    if not runtime.backup or not runtime.backup_dir:
        return []
    save_freq = runtime.backup_freq if runtime.backup_freq > 0 else "epoch"
    log.info("backups: %s (every %s)", runtime.backup_dir, "epoch" if save_freq == "epoch" else f"{save_freq} steps")
    return [keras.callbacks.BackupAndRestore(runtime.backup_dir, save_freq=save_freq)]
