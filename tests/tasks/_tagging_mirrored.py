"""Run as a script (TensorFlow must not have started): one SGD step of a tagger on 2 logical CPU replicas vs
one device, a batch whose sentences hold 6 and 1 labelled words. Prints one JSON line."""
import json
import sys

import numpy as np

from tfbig._keras import keras, tf
from tfbig.config import RunConfig
from tfbig.distribute import make_strategy


def main(model_dir):
    cfg = RunConfig()
    cfg.runtime.strategy, cfg.runtime.num_logical_cpus, cfg.runtime.backup = "mirrored", 2, False
    mirrored, _ = make_strategy(cfg)
    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from test_tagging import SENTENCES, examples, log_softmax, tiny_tagger

    from tfbig.data.tokenizer import BertTextTokenizer

    tags = sorted({t for _, ts in SENTENCES for t in ts})
    tok = BertTextTokenizer.from_model_dir(model_dir, max_length=16)
    ref = tiny_tagger(model_dir, tags)
    ds = ref.task.split_dataset(examples(SENTENCES), tok, 2, bucketing=False)
    x, y = next(iter(ds))
    logits, yv = ref(x).numpy(), y.numpy()
    labelled = yv != -100
    hand = -np.mean(np.take_along_axis(log_softmax(logits), np.maximum(yv, 0)[..., None], -1)[..., 0][labelled])
    start = [w.numpy() for w in ref.trainable_weights]
    ref.compile(optimizer=keras.optimizers.SGD(0.5))
    with mirrored.scope():
        mir = tiny_tagger(model_dir, tags)
        for w, v in zip(mir.trainable_weights, start):
            w.assign(v)
        mir.compile(optimizer=keras.optimizers.SGD(0.5))
    one = ref.fit(ds.take(1), epochs=1, verbose=0).history
    two = mir.fit(ds.take(1), epochs=1, verbose=0).history
    diff = max(float(np.max(np.abs(a.numpy() - b.numpy()))) for a, b in zip(ref.trainable_weights,
                                                                            mir.trainable_weights))
    moved = max(float(np.max(np.abs(w.numpy() - s))) for w, s in zip(ref.trainable_weights, start))
    print(json.dumps({"replicas": mirrored.num_replicas_in_sync, "diff": diff, "moved": moved,
                      "one_ce": float(one["ce"][-1]), "mirrored_ce": float(two["ce"][-1]), "hand_ce": float(hand)}))


if __name__ == "__main__":
    main(sys.argv[1])
