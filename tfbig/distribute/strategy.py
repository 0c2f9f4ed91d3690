"""One config field, `runtime.strategy`, picks the tf.distribute strategy a run builds, compiles and fits under.

| strategy       | what runs                                                                      |
|----------------|--------------------------------------------------------------------------------|
| `default`      | TensorFlow's default strategy: one device, no replicas                         |
| `one_device`   | OneDeviceStrategy on GPU 0 (CPU 0 without a GPU)                               |
| `mirrored`     | MirroredStrategy: every local GPU (or `num_logical_cpus` CPU devices)          |
| `multi_worker` | MultiWorkerMirroredStrategy over the workers TF_CONFIG names                   |
| `tpu`          | TPUStrategy on the TPU `runtime.tpu` names (a TPU VM's own by default)         |
| `auto`         | tpu if a TPU resolves, multi_worker if TF_CONFIG names >1 task, mirrored on >1 |
|                | GPU, one_device on one GPU, else default                                       |

The data batch size is the *global* batch: with N replicas each computes on batch/N examples, and the
classifier's loss divides by the global batch, so N replicas step exactly as one device would.
"""
import logging
import os

from tfbig._keras import tf
from tfbig.distribute.cluster import is_chief, num_workers, worker_dir
from tfbig.distribute.tpu import connect_tpu, tpu_hinted
from tfbig.errors import UserError
from tfbig.distribute.precision import resolve_precision

log = logging.getLogger(__name__)

STRATEGIES = ("auto", "default", "one_device", "mirrored", "multi_worker", "tpu")


def auto_kind(num_gpus: int, workers: int, tpu_found: bool, num_logical_cpus: int = 0) -> str:
    """The strategy `auto` picks, from what the machine and TF_CONFIG offer."""
    if tpu_found:
        return "tpu"
    if workers > 1:
        return "multi_worker"
    if num_gpus > 1 or (num_gpus == 0 and num_logical_cpus > 1):
        return "mirrored"
    return "one_device" if num_gpus == 1 else "default"


def split_cpu(n: int) -> None:
    """Splits the physical CPU into `n` logical devices (n ≤ 1: nothing). Must precede any TF op."""
    if n <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu) or []
    if len(current) == n:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
    except RuntimeError:
        have = len(tf.config.list_logical_devices("CPU"))
        raise UserError(f"runtime.num_logical_cpus {n}: TensorFlow already runs with {have} CPU device(s); "
                        "it can only be set before TensorFlow starts") from None


def _choose(runtime) -> tuple:
    """(kind, TPU resolver or None) for runtime.strategy, resolving `auto`."""
    if runtime.strategy not in STRATEGIES:
        raise UserError(f"runtime.strategy '{runtime.strategy}' is not one of {', '.join(STRATEGIES)}")
    if runtime.strategy == "tpu":
        return "tpu", connect_tpu(runtime.tpu, runtime.tpu_timeout)
    if runtime.strategy != "auto":
        return runtime.strategy, None
    resolver = None
    if tpu_hinted(runtime.tpu):
        try:
            resolver = connect_tpu(runtime.tpu, runtime.tpu_timeout)
        except UserError as e:
            log.warning("strategy auto: %s; going on without a TPU", e)
    kind = auto_kind(len(tf.config.list_physical_devices("GPU")), num_workers(), resolver is not None,
                     runtime.num_logical_cpus)
    return kind, resolver


def build_strategy(kind: str, resolver=None) -> tf.distribute.Strategy:
    """The tf.distribute strategy of `kind` (one of STRATEGIES but auto)."""
    gpus = tf.config.list_physical_devices("GPU")
    if kind == "default":
        return tf.distribute.get_strategy()
    if kind == "one_device":
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if kind == "mirrored":
        devices = None if gpus else [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if kind == "multi_worker":
        if num_workers() < 2:
            log.warning("runtime.strategy multi_worker, but TF_CONFIG names %d worker(s): training alone",
                        num_workers())
        options = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.AUTO)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    if kind == "tpu":
        return tf.distribute.TPUStrategy(resolver)
    raise UserError(f"runtime.strategy '{kind}' is not one of {', '.join(STRATEGIES)}")


def adapt_config(cfg, kind: str) -> None:
    """Adapts `cfg` in place to the strategy `kind`.

    `train.precision: auto` becomes the policy this hardware runs fastest (tfbig.distribute.precision).
    TPU: `data.static_shapes` is switched on (XLA compiles one program per input shape). Backups go to
    `runtime.backup_dir` (default <run_dir>/backup, shared by all workers). On a multi-worker cluster only
    the chief writes the run and export folders; other workers write below `.workers/` in them.
    """
    runtime = cfg.runtime
    if kind == "tpu" and not cfg.data.static_shapes:
        log.info("TPU: data.static_shapes on (every batch padded to max_length, remainder dropped)")
        cfg.data.static_shapes = True
    cfg.train.precision = resolve_precision(cfg.train.precision, cfg.model.backbone, kind)
    if kind == "tpu" and cfg.train.precision == "float32":
        log.info("TPU: train.precision is float32; mixed_bfloat16 uses the TPU's native type")
    if runtime.backup and not runtime.backup_dir:
        runtime.backup_dir = os.path.join(cfg.run_dir, "backup")
    if kind == "multi_worker" and not is_chief():
        cfg.output_dir, cfg.export_dir = worker_dir(cfg.output_dir), worker_dir(cfg.export_dir)


def make_strategy(cfg) -> tf.distribute.Strategy:
    """Builds the strategy `cfg.runtime` names and adapts `cfg` to it (`adapt_config`).

    Call it before any other TensorFlow op: logical CPU devices and multi-worker collectives can only be
    set up while TensorFlow has not started.
    """
    runtime = cfg.runtime
    split_cpu(runtime.num_logical_cpus)
    kind, resolver = _choose(runtime)
    strategy = build_strategy(kind, resolver)
    adapt_config(cfg, kind)
    replicas = strategy.num_replicas_in_sync
    batch = cfg.data.batch_size
    if batch % replicas:
        log.warning("data.batch_size %d is not divisible by %d replicas: replicas get unequal shares",
                    batch, replicas)
    log.info("strategy %s (%s): %d replica(s), global batch %d, %g per replica", kind,
             type(strategy).__name__, replicas, batch, batch / replicas)
    return strategy
