"""The `train.precision` setting: a Keras mixed-precision policy, and loss scaling for float16."""
import contextlib
import functools
import logging
import time

from tfbig._keras import keras, tf
from tfbig.config import check_choice
from tfbig.names import EXPORT_PRECISIONS, PRECISION_CHOICES, PRECISIONS

log = logging.getLogger(__name__)

__all__ = ["PRECISIONS", "bf16_matmul_speedup", "check_precision", "cpu_has_bf16",
           "export_policy", "machine_bf16_speedup", "matmul_peak", "pick_precision", "policy_scope",
           "resolve_precision", "set_precision", "wrap_optimizer"]

# `auto` picks bfloat16 on a CPU only when its bf16 matmul measures this much faster than float32's: some CPUs
# list AVX-512 BF16 yet run bf16 matmuls at half the float32 rate (seen here: 157 against 305 GFLOP/s).
BF16_MIN_SPEEDUP = 1.15


def check_precision(precision: str, allow_auto: bool = False) -> None:
    check_choice(precision, PRECISION_CHOICES if allow_auto else PRECISIONS, "train.precision")


def cpu_has_bf16(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """True when the CPU computes bfloat16 natively (AVX-512 BF16 or AMX), so bf16 matmuls beat float32."""
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def _matmul(dtype: str, n: int):
    a = tf.cast(tf.random.stateless_normal([n, n], seed=[0, 0]), dtype)
    b = tf.cast(tf.random.stateless_normal([n, n], seed=[1, 1]), dtype)
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)[0]))
    product().numpy()  # trace and warm up
    return product


def _best_gflops(product, n: int, seconds: float) -> float:
    """The best GFLOP/s of `product` (an n×n by n×n matmul, 2n³ flops) over about `seconds`, at least once.

    Only a scalar of the product comes back to Python: copying the whole bfloat16 matrix out would be timed too.
    """
    best, end = 0.0, time.perf_counter() + seconds
    while True:
        start = time.perf_counter()
        product().numpy()
        now = time.perf_counter()
        best = max(best, 2 * n ** 3 / (now - start) / 1e9)
        if now >= end:
            return best


def matmul_peak(dtype: str, seconds: float = 1.0, n: int = 2048) -> float:
    """The best GFLOP/s of an n×n by n×n matmul on the default device over about `seconds`."""
    return _best_gflops(_matmul(dtype, n), n, seconds)


@functools.lru_cache(maxsize=None)
def bf16_matmul_speedup(n: int = 768, rounds: int = 4, seconds: float = 0.05) -> float:
    """bfloat16's best matmul rate over float32's on the default device, measured once per process.

    The two sides are interleaved `rounds` times and each keeps its best, so a neighbour's load that comes
    and goes slows both alike. About 0.5 s on 2 CPU cores.
    """
    products = {d: _matmul(d, n) for d in ("float32", "bfloat16")}
    best = {d: 0.0 for d in products}
    for _ in range(rounds):
        for d, product in products.items():
            best[d] = max(best[d], _best_gflops(product, n, seconds))
    return best["bfloat16"] / max(best["float32"], 1e-9)


def machine_bf16_speedup() -> float:
    """bf16_matmul_speedup as first measured on this machine (tfbig.distribute.machine_cache): every process
    on it, and every run of one config, then makes the same `auto` choice, whatever the load when it starts."""
    from tfbig.distribute.machine_cache import cached_measurement

    return cached_measurement("bf16_matmul_speedup", bf16_matmul_speedup)


def pick_precision(backbone: str, kind: str, gpu_capabilities: list, cpu_bf16: bool) -> str:
    """What `auto` means on this hardware, for tfbig's own encoder (hf's TFBertModel stays float32).

    TPU and GPUs from compute capability 8.0 (Ampere): mixed_bfloat16, no loss scaling needed; Volta/Turing
    GPUs (7.x): mixed_float16 with loss scaling; CPUs with native bfloat16 (`cpu_bf16`: the flag, and a
    bf16 matmul measured at least BF16_MIN_SPEEDUP× float32's, once per machine: machine_bf16_speedup):
    mixed_bfloat16; anything else: float32. Only the tfbig backbone keeps softmax, LayerNorm and the residual
    stream in float32, so `hf` is never switched.
    """
    if backbone != "tfbig":
        return "float32"
    if kind == "tpu":
        return "mixed_bfloat16"
    if gpu_capabilities:
        lowest = min(gpu_capabilities)
        return "mixed_bfloat16" if lowest >= (8, 0) else "mixed_float16" if lowest >= (7, 0) else "float32"
    return "mixed_bfloat16" if cpu_bf16 else "float32"


def resolve_precision(precision: str, backbone: str, kind: str) -> str:
    """`train.precision` with `auto` replaced by the policy this machine runs fastest (see pick_precision)."""
    check_precision(precision, allow_auto=True)
    if precision != "auto":
        return precision
    capabilities = []
    for gpu in tf.config.list_physical_devices("GPU"):
        capability = tf.config.experimental.get_device_details(gpu).get("compute_capability")
        capabilities.append(tuple(capability) if capability else (0, 0))
    cpu_bf16 = False
    if backbone == "tfbig" and kind != "tpu" and not capabilities and cpu_has_bf16():
        speedup = machine_bf16_speedup()  # one read of the stored measurement
        cpu_bf16 = speedup >= BF16_MIN_SPEEDUP
        log.info("train.precision auto: bfloat16 matmul measured at %.2fx float32 on this machine -> %s",
                 speedup, "mixed_bfloat16" if cpu_bf16 else "float32")
    chosen = pick_precision(backbone, kind, capabilities, cpu_bf16)
    log.debug("train.precision auto -> %s", chosen)
    return chosen


def set_precision(precision: str) -> None:
    """Sets the global Keras policy; layers built afterwards compute in bfloat16/float16 with float32 weights.

    tfbig's encoder keeps softmax, LayerNorm and its residual stream in float32, and the classifier casts
    its logits to float32, so the loss is computed in float32 under every policy.
    """
    check_precision(precision)
    keras.mixed_precision.set_global_policy(precision)
    log.debug("precision policy: %s", precision)


def wrap_optimizer(optimizer, precision: str):
    """Adds dynamic loss scaling for float16 (whose range underflows small gradients); others unchanged."""
    check_precision(precision)
    if precision == "mixed_float16":
        return keras.mixed_precision.LossScaleOptimizer(optimizer)
    return optimizer


@contextlib.contextmanager
def policy_scope(precision: str):
    """Layers built inside compute in `precision` (a Keras policy name); the global policy is restored after."""
    check_precision(precision)
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def export_policy(choice: str, trained: str, backbone: str, kind: str = "default") -> str:
    """The Keras policy an export computes in, for `export_precision` `choice` of a run trained in `trained`.

    same: `trained` (float32 when the config says only `auto`, never resolved by a run: a hand-written one);
    float32 / bfloat16: that compute type; auto: what `train.precision: auto` picks on this hardware
    (bfloat16 where it runs faster, float32 elsewhere and for the `hf` backbone); int8: float32 (the export
    then quantizes the encoder's Dense layers, tfbig.export.int8).
    """
    check_choice(choice, EXPORT_PRECISIONS, "export_precision")
    if choice == "same":
        check_precision(trained, allow_auto=True)
        return "float32" if trained == "auto" else trained
    if choice == "auto":
        return resolve_precision("auto", backbone, kind)
    return {"float32": "float32", "bfloat16": "mixed_bfloat16", "int8": "float32"}[choice]
