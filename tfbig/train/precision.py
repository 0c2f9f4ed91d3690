"""The `train.precision` setting: a Keras mixed-precision policy, and loss scaling for float16."""
import logging

from tfbig._keras import keras
from tfbig.errors import UserError

log = logging.getLogger(__name__)

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")


def check_precision(precision: str) -> None:
    if precision not in PRECISIONS:
        raise UserError(f"train.precision '{precision}' is not one of {', '.join(PRECISIONS)}")


def set_precision(precision: str) -> None:
    """Sets the global Keras policy; layers built afterwards compute in bfloat16/float16 with float32 weights.

    tfbig's encoder keeps softmax, LayerNorm and its residual stream in float32, and the classifier casts
    its logits to float32, so the loss is computed in float32 under every policy.
    """
    check_precision(precision)
    keras.mixed_precision.set_global_policy(precision)
    log.info("precision policy: %s", precision)


def wrap_optimizer(optimizer, precision: str):
    """Adds dynamic loss scaling for float16 (whose range underflows small gradients); others unchanged."""
    check_precision(precision)
    if precision == "mixed_float16":
        return keras.mixed_precision.LossScaleOptimizer(optimizer)
    return optimizer
