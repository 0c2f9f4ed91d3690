"""Run as a script: trains a tiny classifier under the strategy of --strategy (TF_CONFIG names the cluster).

Writes --out.npz (trainable weights) and --out.json (the epoch fit started at, the optimizer step then).
--crash-at E: this process SIGKILLs itself after the first step of epoch E (0-based), as a preempted
worker would die, after the backup of epoch E-1 was written.
"""
import argparse
import json
import os
import signal

import numpy as np

from tfbig._keras import keras, tf
from tfbig.config import RunConfig
from tfbig.data.pipeline import make_dataset
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.distribute import backup_callbacks, make_strategy, shard_per_worker
from tfbig.models.backbone import build_backbone
from tfbig.train.task_model import TextClassifier
from tfbig.train.optimizers import build_optimizer

TEXTS = ["the club win the game", "bank shares and market growth", "players win a game",
         "the market price of shares", "the best players in the club", "sales growth for the firm",
         "a game to win", "the bank said shares fell"]
LABELS = [0, 1, 0, 1, 0, 1, 0, 1]


class Record(keras.callbacks.Callback):
    """Notes where fit really started (after BackupAndRestore restored) and crashes on request."""

    def __init__(self, crash_at: int, marker: str):
        super().__init__()
        self.crash_at, self.marker, self.first_epoch, self.start_step, self.epoch = crash_at, marker, None, None, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if self.first_epoch is None:
            self.first_epoch, self.start_step = epoch, int(self.model.optimizer.iterations.numpy())

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.crash_at and batch == 0:
            open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)


def main():
    p = argparse.ArgumentParser()
    for name, default in (("--strategy", "multi_worker"), ("--model-dir", ""), ("--out", ""), ("--backup-dir", "")):
        p.add_argument(name, default=default)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--crash-at", type=int, default=-1)
    args = p.parse_args()

    cfg = RunConfig()
    cfg.runtime.strategy, cfg.runtime.backup_dir = args.strategy, args.backup_dir
    cfg.runtime.backup = bool(args.backup_dir)
    strategy, plan = make_strategy(cfg)
    cfg = plan.apply(cfg)  # backup_dir as the hardware layer decided
    keras.utils.set_random_seed(0)
    tok = BertTextTokenizer.from_model_dir(args.model_dir, max_length=16)
    ds = shard_per_worker(make_dataset(TEXTS, LABELS, tok, args.batch_size, shuffle=False))
    t = cfg.train
    t.optimizer, t.learning_rate, t.warmup_fraction, t.decay, t.clip_norm = "sgd", 0.5, 0.0, "constant", 1.0
    with strategy.scope():
        model = TextClassifier(build_backbone("hf", args.model_dir, backbone_dropout=0.0), 2, dropout=0.0, l2=0.01)
        model({k: tf.ones([1, 4], tf.int32) for k in ("input_ids", "attention_mask", "token_type_ids")})
        rng = np.random.default_rng(1)  # the same head on every process, whatever its strategy
        for w in model.head.weights:
            w.assign(rng.normal(0, 0.02, w.shape).astype(np.float32))
        model.compile(optimizer=build_optimizer(t, total_steps=100))
    record = Record(args.crash_at, args.out + ".crashed")
    model.fit(ds, epochs=args.epochs, callbacks=backup_callbacks(cfg.runtime) + [record], verbose=0)
    np.savez(args.out + ".npz", *[w.numpy() for w in model.trainable_weights])
    with open(args.out + ".json", "w") as f:
        json.dump({"first_epoch": record.first_epoch, "start_step": record.start_step,
                   "end_step": int(model.optimizer.iterations.numpy()),
                   "replicas": strategy.num_replicas_in_sync}, f)


if __name__ == "__main__":
    main()
