"""The `train.precision` setting: a Keras mixed-precision policy, and loss scaling for float16."""
import logging

from tfbig._keras import keras, tf
from tfbig.config import check_choice
from tfbig.names import PRECISION_CHOICES, PRECISIONS

log = logging.getLogger(__name__)

__all__ = ["PRECISIONS", "check_precision", "cpu_has_bf16", "pick_precision", "resolve_precision",
           "set_precision", "wrap_optimizer"]


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


def pick_precision(backbone: str, kind: str, gpu_capabilities: list, cpu_bf16: bool) -> str:
    """What `auto` means on this hardware, for tfbig's own encoder (hf's TFBertModel stays float32).

    TPU and GPUs from compute capability 8.0 (Ampere): mixed_bfloat16, no loss scaling needed; Volta/Turing
    GPUs (7.x): mixed_float16 with loss scaling; CPUs with native bfloat16: mixed_bfloat16 (~1.5x the float32
    step here); anything else: float32. Only the tfbig backbone keeps softmax, LayerNorm and the residual
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
    chosen = pick_precision(backbone, kind, capabilities, cpu_has_bf16())
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
