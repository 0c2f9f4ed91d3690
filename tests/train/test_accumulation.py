"""Gradient accumulation: k micro-batches summed give the same SGD step as one batch of k·b."""
import numpy as np

from tfbig._keras import keras, tf
from tfbig.config import RunConfig
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.train.build import build_classifier

TEXTS = ["the club win the game", "players win a game", "bank shares and market growth",
         "the market price of shares", "sales growth for the firm", "the best players in the club",
         "a game to win", "the bank said shares fell"]
LABELS = [0, 0, 1, 1, 1, 0, 0, 1]


def _model(model_dir, steps: int):
    cfg = RunConfig()
    cfg.model.dropout, cfg.model.backbone_dropout = 0.0, 0.0
    cfg.train.l2, cfg.train.accumulation_steps = 0.01, steps
    model = build_classifier(cfg, model_dir, num_classes=2)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    return model


def test_accumulated_step_equals_one_large_batch(tiny_bert_dir):
    keras.utils.set_random_seed(0)  # the head's initial weights
    tok = BertTextTokenizer.from_model_dir(tiny_bert_dir, max_length=16)
    big, accumulated = _model(tiny_bert_dir, 1), _model(tiny_bert_dir, 4)
    start, before = big.get_weights(), [w.numpy() for w in big.trainable_weights]
    for n in (8, 5):  # micro-batches of 2+2+2+2, and 2+2+1+0 (one empty)
        big.set_weights(start)
        accumulated.set_weights(start)
        x, y = tok(tf.constant(TEXTS[:n])), tf.constant(LABELS[:n])
        big_logs = big.train_on_batch(x, y, return_dict=True)
        acc_logs = accumulated.train_on_batch(x, y, return_dict=True)
        moved = max(float(np.abs(a.numpy() - b).max()) for a, b in zip(big.trainable_weights, before))
        assert moved > 1e-4  # the step did something, far above the tolerance below
        for a, b in zip(big.trainable_weights, accumulated.trainable_weights):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6, rtol=0, err_msg=f"{a.name}, n={n}")
        for key in ("loss", "accuracy", "l2_term"):
            np.testing.assert_allclose(big_logs[key], acc_logs[key], atol=1e-6)
