"""Run as a script (TensorFlow must not have started): SGD steps on 2 logical CPU replicas vs one device.

Prints one JSON line: the largest weight difference after each step, the metrics of both runs, and the
update a plain reduce_mean loss makes on 2 replicas relative to the correct one.
"""
import json
import sys

import numpy as np

from tfbig._keras import keras, tf
from tfbig.config import RunConfig
from tfbig.data.pipeline import make_dataset
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.distribute import make_strategy
from tfbig.models.backbone import build_backbone
from tfbig.train.task_model import TextClassifier
from tfbig.train.optimizers import build_optimizer

TEXTS = ["the club win the game", "bank shares and market growth", "players win a game",
         "the market price of shares", "the best players in the club", "sales growth for the firm",
         "a game to win", "the bank said shares fell"]
LABELS = [0, 1, 0, 1, 0, 1, 0, 1]


class PlainMeanClassifier(TextClassifier):
    """The mistake to avoid: a per-replica mean, whose gradients the replicas then sum."""

    def compute_objective(self, x, y, training):
        logits = self(x, training=training)
        per_example = keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True)
        l2, l1 = self.penalty_terms()
        return {"loss": tf.reduce_mean(per_example) + l2 + l1, "outputs": logits, "values": per_example,
                "weights": tf.ones_like(per_example), "l2": l2, "l1": l1}


def build(model_dir, cls=TextClassifier, l2=0.01):
    model = cls(build_backbone("hf", model_dir, backbone_dropout=0.0), 2, dropout=0.0, l2=l2)
    model({k: tf.ones([1, 4], tf.int32) for k in ("input_ids", "attention_mask", "token_type_ids")})
    return model


def set_trainable(model, values):
    for w, v in zip(model.trainable_weights, values):
        w.assign(v)


def sgd(clip_norm):
    cfg = RunConfig().train
    cfg.optimizer, cfg.learning_rate, cfg.warmup_fraction, cfg.decay, cfg.clip_norm = "sgd", 0.5, 0.0, "constant", clip_norm
    return build_optimizer(cfg, total_steps=10)


def step(model, ds):
    history = model.fit(ds, epochs=1, verbose=0)
    return {k: float(v[-1]) for k, v in history.history.items()}


def max_diff(a, b):
    return max(float(np.max(np.abs(x.numpy() - y.numpy()))) for x, y in zip(a.trainable_weights, b.trainable_weights))


def main(model_dir):
    cfg = RunConfig()
    cfg.runtime.strategy, cfg.runtime.num_logical_cpus, cfg.runtime.backup = "mirrored", 2, False
    mirrored, _ = make_strategy(cfg)
    keras.utils.set_random_seed(0)
    tok = BertTextTokenizer.from_model_dir(model_dir, max_length=16)

    def data(batch, take):
        return make_dataset(TEXTS, LABELS, tok, batch, bucketing=False).take(take)

    ref = build(model_dir)
    start = [w.numpy() for w in ref.trainable_weights]
    ref.compile(optimizer=sgd(clip_norm=1.0))
    with mirrored.scope():
        mir = build(model_dir)
        set_trainable(mir, start)
        mir.compile(optimizer=sgd(clip_norm=1.0))
    out = {"replicas": mirrored.num_replicas_in_sync,
           "devices": list(mirrored.extended.worker_devices)}
    out["ref_metrics"], out["mir_metrics"] = step(ref, data(4, 1)), step(mir, data(4, 1))
    out["diff_even"] = max_diff(ref, mir)
    out["moved"] = max(float(np.max(np.abs(w.numpy() - s))) for w, s in zip(ref.trainable_weights, start))
    # A batch of 3 on 2 replicas: shares of 2 and 1; the loss must still divide by 3, not 2·share.
    out["ref_metrics_odd"], out["mir_metrics_odd"] = step(ref, data(3, 1)), step(mir, data(3, 1))
    out["diff_odd"] = max_diff(ref, mir)
    # A batch of 1: one replica gets no example at all.
    out["ref_metrics_one"], out["mir_metrics_one"] = step(ref, data(1, 1)), step(mir, data(1, 1))
    out["diff_one"] = max_diff(ref, mir)

    # Plain mean on 2 replicas vs the correct loss on one device, from the same start, no clipping.
    one = build(model_dir)
    set_trainable(one, start)
    one.compile(optimizer=sgd(clip_norm=0.0))
    with mirrored.scope():
        plain = build(model_dir, PlainMeanClassifier)
        set_trainable(plain, start)
        plain.compile(optimizer=sgd(clip_norm=0.0))
    step(one, data(4, 1)), step(plain, data(4, 1))
    d_one = np.concatenate([(w.numpy() - s).ravel() for w, s in zip(one.trainable_weights, start)])
    d_plain = np.concatenate([(w.numpy() - s).ravel() for w, s in zip(plain.trainable_weights, start)])
    out["plain_over_correct"] = float(np.dot(d_plain, d_one) / np.dot(d_one, d_one))
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
