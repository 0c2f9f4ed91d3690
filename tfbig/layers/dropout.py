"""Dropout that draws 16 random bits per element instead of a float: half the random numbers, same semantics.

On CPU the random-number generation dominates dropout, and BERT drops out every attention probability
(B·heads·T² numbers per layer): with tf.nn.dropout that was 20% of a bfloat16 training step at MiniLM's
size. One 32-bit draw here serves two elements. The drop probability is rate rounded to a multiple of
1/65536 (0.1 → 0.100006), and kept values are scaled by the exact inverse keep probability, so the
expectation is unchanged.
"""
import contextlib
import threading

from tfbig._keras import keras, tf

LEVELS = 65536
_LOCAL = threading.local()  # per thread: a mirrored strategy traces each replica in its own thread


@contextlib.contextmanager
def _dropout_context(**state):
    stack = _LOCAL.__dict__.setdefault("stack", [])
    stack.append(state)
    try:
        yield state
    finally:
        stack.pop()


def _innermost(key: str):
    return next((state for state in reversed(getattr(_LOCAL, "stack", [])) if key in state), None)


def seeded_dropout(seed):
    """Inside, the i-th Dropout16 call (in training) draws its mask from stateless_fold_in(seed, i) instead
    of its layer's generator: the same code run twice draws the same masks. seed: (2,) int32 tensor."""
    return _dropout_context(seed=seed, count=0)


def recorded_masks():
    """Inside, every Dropout16 call (in training) appends its boolean keep-mask to the yielded state's
    "masks" list (what a recomputation replays)."""
    return _dropout_context(masks=[])


def replayed_masks(masks):
    """Inside, the i-th Dropout16 call (in training) uses `masks[i]` instead of drawing one."""
    return _dropout_context(replay=list(masks), index=0)


def _context_seed():
    state = _innermost("seed")
    if state is None:
        return None
    state["count"] += 1
    return tf.random.experimental.stateless_fold_in(state["seed"], state["count"])


def _replayed_mask():
    state = _innermost("replay")
    if state is None:
        return None
    state["index"] += 1
    return state["replay"][state["index"] - 1]


@keras.utils.register_keras_serializable("tfbig")
class Dropout16(keras.__internal__.layers.BaseRandomLayer):
    """Zeroes each element with probability `rate` (to 1/65536) in training, scaling the rest; identity otherwise.

    rate: float. Probability of dropping an element, in [0, 1).

    Its seeds come from Keras' per-layer RandomGenerator, as keras Dropout's do: a `tf.random.Generator`
    (saved with a checkpoint, so a resumed run draws the same masks) when tf_random_generator is enabled.
    """

    def __init__(self, rate: float, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
        self.rate = float(rate)
        self.threshold = int(round(self.rate * LEVELS))  # drop where the 16-bit draw < threshold

    def call(self, inputs, training=None):
        if not training or self.threshold == 0:
            return inputs
        keep = _replayed_mask()
        if keep is None:
            keep = self._draw_keep(inputs)
            recording = _innermost("masks")
            if recording is not None:
                recording["masks"].append(keep)
        scale = tf.cast(LEVELS / (LEVELS - self.threshold), inputs.dtype)
        return tf.where(keep, inputs * scale, tf.zeros_like(inputs))

    def _draw_keep(self, inputs):
        n = tf.size(inputs)
        seed = _context_seed()
        if seed is None:
            seed = self._random_generator.random_uniform([2], minval=0, maxval=2 ** 31 - 1, dtype=tf.int32)
        bits = tf.random.stateless_uniform([(n + 1) // 2], seed, minval=None, maxval=None, dtype=tf.int32)
        draws = tf.reshape(tf.bitcast(bits, tf.uint16), [-1])[:n]  # (n,) uniform on 0..65535
        return tf.reshape(draws >= tf.constant(self.threshold, tf.uint16), tf.shape(inputs))

    def get_config(self):
        config = super().get_config()
        config["rate"] = self.rate
        return config
