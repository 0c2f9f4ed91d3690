"""Optimizers by name and the warmup-then-decay learning-rate schedule.

`adamw` decays weights *outside* the loss (decoupled, Loshchilov & Hutter 2019): w ← w − lr·wd·w at each
step, unaffected by Adam's per-parameter scaling. `train.l2` instead adds λ/2·Σw² to the loss, whose
gradient λ·w Adam then rescales — with Adam the two differ; with plain SGD they coincide (wd = λ).
"""
from tfbig._keras import keras, tf
from tfbig.config import check_choice
from tfbig.names import DECAYS, OPTIMIZERS
from tfbig.train.fused_adam import FusedAdam, FusedAdamW


class WarmupDecay(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup from 0 to `peak` over `warmup_steps`, then linear decay to 0 at `total_steps` (or constant,
    or polynomial: peak·(1 − progress)^power, progress the share of the decay steps done)."""

    def __init__(self, peak: float, total_steps: int, warmup_steps: int = 0, decay: str = "linear",
                 power: float = 1.0):
        self.peak = float(peak)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.decay = decay
        self.power = float(power)

    def __call__(self, step):
        step = tf.cast(step, tf.float32)
        warm = tf.cast(max(self.warmup_steps, 1), tf.float32)
        up = self.peak * tf.minimum(step + 1.0, warm) / warm if self.warmup_steps else tf.constant(self.peak)
        if self.decay == "constant":
            return up
        span = tf.cast(max(self.total_steps - self.warmup_steps, 1), tf.float32)
        down = self.peak * tf.maximum(0.0, 1.0 - (step - self.warmup_steps) / span)
        if self.decay == "polynomial":
            down = self.peak * tf.pow(down / self.peak, self.power)
        return tf.where(step < self.warmup_steps, up, down)

    def get_config(self):
        return {"peak": self.peak, "total_steps": self.total_steps, "warmup_steps": self.warmup_steps,
                "decay": self.decay, "power": self.power}


def build_optimizer(train_cfg, total_steps: int):
    """Returns the tf-keras optimizer named by `train_cfg.optimizer` with its schedule and clipping.

    total_steps: int. The optimizer steps the schedule spans. With `train.epochs: auto` the caller resolves the
        epochs first (tfbig.train.budget.resolve_budget): `steps * "auto"` is a string, not a step count.
    """
    t = train_cfg
    if isinstance(total_steps, bool) or not isinstance(total_steps, int):
        raise ValueError(f"build_optimizer: total_steps must be an integer number of steps, got {total_steps!r}; "
                         "with train.epochs auto, resolve the epochs first (tfbig.train.budget.resolve_budget)")
    check_choice(t.decay, DECAYS, "train.decay")
    lr = WarmupDecay(t.learning_rate, total_steps, int(round(t.warmup_fraction * total_steps)), t.decay,
                     t.decay_power)
    kw = {"global_clipnorm": t.clip_norm} if t.clip_norm > 0 else {}
    if t.optimizer == "adam":
        return FusedAdam(lr, **kw)  # Keras' Adam, one fused kernel per variable
    if t.optimizer == "adamw":
        opt = FusedAdamW(lr, weight_decay=t.weight_decay, **kw)
        opt.exclude_from_weight_decay(var_names=list(t.penalty_exclude))
        return opt
    if t.optimizer == "lamb":
        from tfbig.train.lamb import Lamb

        return Lamb(lr, weight_decay=t.weight_decay, exclude=list(t.penalty_exclude), **kw)
    if t.optimizer == "adagrad":
        return keras.optimizers.Adagrad(lr, **kw)
    if t.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=t.momentum, **kw)
    check_choice(t.optimizer, OPTIMIZERS, "train.optimizer")  # every valid name returned above: this raises
