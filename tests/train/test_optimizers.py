import pytest

from tfbig._keras import tf
from tfbig.config import TrainConfig
from tfbig.errors import UserError
from tfbig.train.optimizers import WarmupDecay, build_optimizer


def test_warmup_then_linear_decay_values():
    s = WarmupDecay(1.0, total_steps=10, warmup_steps=4)
    got = [float(s(tf.constant(i))) for i in range(11)]
    assert got[:4] == pytest.approx([0.25, 0.5, 0.75, 1.0])
    assert got[4:] == pytest.approx([1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6, 0.0])
    assert WarmupDecay.from_config(s.get_config()).get_config() == s.get_config()


def test_constant_schedule_after_warmup():
    s = WarmupDecay(2.0, total_steps=10, warmup_steps=2, decay="constant")
    assert [float(s(tf.constant(i))) for i in (0, 1, 5, 9)] == pytest.approx([1.0, 2.0, 2.0, 2.0])


@pytest.mark.parametrize("name,cls", [("adam", "FusedAdam"), ("adamw", "FusedAdamW"), ("adagrad", "Adagrad"), ("sgd", "SGD")])
def test_optimizers_by_name(name, cls):
    opt = build_optimizer(TrainConfig(optimizer=name, clip_norm=1.0, weight_decay=0.01), total_steps=100)
    assert type(opt).__name__ == cls and opt.global_clipnorm == 1.0


def test_adamw_decays_kernels_not_biases():
    opt = build_optimizer(TrainConfig(optimizer="adamw", weight_decay=0.5, learning_rate=0.1, warmup_fraction=0,
                                      clip_norm=0, decay="constant"), total_steps=10)
    kernel = tf.Variable([2.0], name="dense/kernel")
    bias = tf.Variable([2.0], name="dense/bias")
    opt.apply_gradients([(tf.constant([0.0]), kernel), (tf.constant([0.0]), bias)])
    assert float(kernel[0]) == pytest.approx(2.0 - 0.1 * 0.5 * 2.0)  # w ← w − lr·wd·w, zero gradient
    assert float(bias[0]) == 2.0


def test_unknown_optimizer():
    with pytest.raises(UserError, match="'rmsprop' is not one of"):
        build_optimizer(TrainConfig(optimizer="rmsprop"), total_steps=1)
