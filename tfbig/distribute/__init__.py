"""Hardware through tf.distribute: strategy selection, per-worker input, restartable runs."""
from tfbig.distribute.data import shard_per_worker
from tfbig.distribute.fault_tolerance import backup_callbacks
from tfbig.distribute.strategy import STRATEGIES, make_strategy

__all__ = ["STRATEGIES", "backup_callbacks", "make_strategy", "shard_per_worker"]
