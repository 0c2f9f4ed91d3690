"""Hardware through tf.distribute: strategy selection, per-worker input, restartable runs."""
from tfbig.distribute.data import shard_per_worker
from tfbig.distribute.fault_tolerance import backup_callbacks
from tfbig.distribute.strategy import STRATEGIES, HardwarePlan, make_strategy, plan_for

__all__ = ["STRATEGIES", "HardwarePlan", "backup_callbacks", "make_strategy", "plan_for", "shard_per_worker"]
