"""Per-worker sharding of the input: each worker reads its own share of every global batch."""
from tfbig._keras import tf

DATA, FILE = tf.data.experimental.AutoShardPolicy.DATA, tf.data.experimental.AutoShardPolicy.FILE


def shard_policy(num_files: int, workers: int):
    """FILE when every worker gets at least one file to read, else DATA (all read, each keeps its share)."""
    return FILE if num_files >= max(workers, 1) and num_files > 0 else DATA


def shard_per_worker(ds, num_files: int = 0, workers: int = 1):
    """`ds` with the auto-shard policy multi-worker fit uses; None stays None.

    ds: tf.data.Dataset of global batches, the same on every worker (same order, same seed).
    num_files: int. Files the dataset reads; 0 for in-memory data (tfbig's readers), which forces DATA.
    """
    if ds is None:
        return None
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = shard_policy(num_files, workers)
    return ds.with_options(options)
