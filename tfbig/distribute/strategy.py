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
import copy
import logging
import os
from dataclasses import dataclass

from tfbig._keras import tf
from tfbig.config import check_choice
from tfbig.distribute.cluster import is_chief, num_workers, worker_dir
from tfbig.distribute.precision import resolve_precision
from tfbig.distribute.tpu import connect_tpu, tpu_hinted
from tfbig.errors import UserError
from tfbig.names import STRATEGIES

log = logging.getLogger(__name__)


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
    check_choice(runtime.strategy, STRATEGIES, "runtime.strategy")
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
    check_choice(kind, STRATEGIES[1:], "runtime.strategy")  # every kind but auto returned above: this raises


@dataclass(frozen=True)
class HardwarePlan:
    """What the hardware layer decided for a run: its strategy and the config values that follow from it.

    `apply(cfg)` is the config to run and save under it; the user's config keeps what they wrote (`auto`).

    Attributes:
        kind: str. The strategy built, one of STRATEGIES but `auto`.
        num_replicas: int. Replicas in sync; each computes on data.batch_size / num_replicas examples.
        precision: str. train.precision as a concrete Keras policy (`auto` resolved for this hardware).
        static_shapes: bool. data.static_shapes, switched on for TPUs.
        backup_dir: str. runtime.backup_dir; <run_dir>/backup when backups are on and none is given.
        output_dir: str. Where this process writes run folders (a non-chief worker: below `.workers/`).
        export_dir: str. Where this process writes SavedModels (likewise).
    """

    kind: str
    num_replicas: int
    precision: str
    static_shapes: bool
    backup_dir: str
    output_dir: str
    export_dir: str

    def apply(self, cfg):
        """A copy of `cfg` carrying the plan's decisions; `cfg` itself is left as it was."""
        out = copy.deepcopy(cfg)
        out.train.precision = self.precision
        out.data.static_shapes = self.static_shapes
        out.runtime.backup_dir = self.backup_dir
        out.output_dir, out.export_dir = self.output_dir, self.export_dir
        return out


def plan_for(cfg, kind: str, num_replicas: int = 1) -> HardwarePlan:
    """What running `cfg` under the strategy `kind` means for its config; reads `cfg`, changes nothing.

    `train.precision: auto` becomes the policy this hardware runs fastest (tfbig.distribute.precision).
    TPU: `data.static_shapes` is switched on (XLA compiles one program per input shape). Backups go to
    `runtime.backup_dir` (default <run_dir>/backup, shared by all workers). On a multi-worker cluster only
    the chief writes the run and export folders; other workers write below `.workers/` in them.
    """
    runtime = cfg.runtime
    static_shapes = cfg.data.static_shapes
    if kind == "tpu" and not static_shapes:
        log.info("TPU: data.static_shapes on (every batch padded to max_length, remainder dropped)")
        static_shapes = True
    precision = resolve_precision(cfg.train.precision, cfg.model.backbone, kind)
    if kind == "tpu" and precision == "float32":
        log.info("TPU: train.precision is float32; mixed_bfloat16 uses the TPU's native type")
    backup_dir = runtime.backup_dir
    if runtime.backup and not backup_dir:
        backup_dir = os.path.join(cfg.run_dir, "backup")
    output_dir, export_dir = cfg.output_dir, cfg.export_dir
    if kind == "multi_worker" and not is_chief():
        output_dir, export_dir = worker_dir(output_dir), worker_dir(export_dir)
    return HardwarePlan(kind=kind, num_replicas=int(num_replicas), precision=precision,
                        static_shapes=static_shapes, backup_dir=backup_dir, output_dir=output_dir,
                        export_dir=export_dir)


def make_strategy(cfg) -> tuple:
    """Builds the strategy `cfg.runtime` names; returns (strategy, HardwarePlan). `cfg` is not changed:
    `plan.apply(cfg)` is the config to run (and save) under the strategy.

    Call it before any other TensorFlow op: logical CPU devices and multi-worker collectives can only be
    set up while TensorFlow has not started.
    """
    runtime = cfg.runtime
    split_cpu(runtime.num_logical_cpus)
    kind, resolver = _choose(runtime)
    strategy = build_strategy(kind, resolver)
    replicas = strategy.num_replicas_in_sync
    plan = plan_for(cfg, kind, replicas)
    batch = cfg.data.batch_size
    if batch % replicas:
        log.warning("data.batch_size %d is not divisible by %d replicas: replicas get unequal shares",
                    batch, replicas)
    log.info("strategy %s: %d replica(s), global batch %d (%g per replica); precision %s%s", kind, replicas, batch,
             batch / replicas, plan.precision, " (auto)" if cfg.train.precision == "auto" else "")
    log.debug("strategy class %s", type(strategy).__name__)
    return strategy, plan
