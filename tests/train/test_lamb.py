"""LAMB's update equals a hand-computed numpy step; biases/LayerNorm get neither decay nor trust ratio;
the polynomial schedule."""
import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.config import TrainConfig
from tfbig.train.lamb import Lamb
from tfbig.train.optimizers import WarmupDecay, build_optimizer


def _numpy_lamb(w, grads, lr, wd, adapt, b1=0.9, b2=0.999, eps=1e-6):
    m, v = np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        r = (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        if adapt:
            r = r + wd * w
            r = r * (np.linalg.norm(w) / np.linalg.norm(r))
        w = w - lr * r
    return w


def test_two_steps_equal_numpy_on_a_kernel_and_a_bias():
    kernel0 = np.array([[0.5, -1.0], [2.0, 0.25]], np.float32)
    bias0 = np.array([0.1, -0.3], np.float32)
    gk = [np.array([[0.1, 0.2], [-0.3, 0.05]], np.float32), np.array([[0.4, -0.1], [0.2, 0.3]], np.float32)]
    gb = [np.array([0.5, -0.5], np.float32), np.array([1.0, 0.25], np.float32)]
    kernel = tf.Variable(kernel0, name="dense/kernel")
    bias = tf.Variable(bias0, name="dense/bias")
    opt = Lamb(0.01, weight_decay=0.1)
    for g1, g2 in zip(gk, gb):
        opt.apply_gradients([(tf.constant(g1), kernel), (tf.constant(g2), bias)])
    np.testing.assert_allclose(kernel.numpy(), _numpy_lamb(kernel0.astype(np.float64), gk, 0.01, 0.1, True),
                               atol=1e-6)
    np.testing.assert_allclose(bias.numpy(), _numpy_lamb(bias0.astype(np.float64), gb, 0.01, 0.1, False), atol=1e-6)
    # The trust ratio makes the kernel's first step lr·‖w‖ long, whatever the gradient's scale.
    assert opt.adapts(kernel) and not opt.adapts(bias)


def test_trust_ratio_makes_the_step_independent_of_gradient_scale():
    steps = []
    for scale in (1e-3, 1e3):
        w = tf.Variable(np.array([3.0, 4.0], np.float32), name="kernel")
        Lamb(0.1).apply_gradients([(tf.constant([scale, -2 * scale]), w)])
        steps.append(np.linalg.norm(w.numpy() - [3.0, 4.0]))
    np.testing.assert_allclose(steps, [0.1 * 5.0, 0.1 * 5.0], rtol=1e-4)  # lr·‖w‖


def test_lamb_by_name_excludes_the_penalty_exclusions():
    opt = build_optimizer(TrainConfig(optimizer="lamb", weight_decay=0.01, clip_norm=1.0), total_steps=10)
    assert isinstance(opt, Lamb) and opt.global_clipnorm == 1.0
    assert not opt.adapts(tf.Variable([1.0], name="block_0/output_layer_norm/gamma"))
    assert not opt.adapts(tf.Variable([1.0], name="head/LayerNorm/beta"))
    assert opt.adapts(tf.Variable([1.0], name="block_0/intermediate/kernel"))
    assert opt.lamb_weight_decay == 0.01
    plain = Lamb(0.01, weight_decay=0.1, exclude=["bias"])
    assert Lamb.from_config(plain.get_config()).get_config() == plain.get_config()


def test_polynomial_decay_after_warmup():
    s = WarmupDecay(1.0, total_steps=10, warmup_steps=2, decay="polynomial", power=2.0)
    got = [float(s(tf.constant(i))) for i in range(11)]
    assert got[:2] == pytest.approx([0.5, 1.0])
    assert got[2:] == pytest.approx([(1 - k / 8) ** 2 for k in range(9)])
    assert WarmupDecay.from_config(s.get_config()).get_config() == s.get_config()
