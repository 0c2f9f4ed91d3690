"""Which vector of the frozen bundled MiniLM separates small-data classes best: BERT's pooler output, the [CLS]
state, or the masked mean of the last hidden states (`model.pooling`)?

    python benchmarks/pooling_probe.py [--seeds 0,1,2]

For BBC with 20 texts a class and fortunes with 30 (the small-data settings of benchmarks/small_data.py), each
split seed (data.seed) gives one split; the frozen encoder's three vectors of the train + validation texts fit a
logistic regression (C 10), scored on the test texts. Seconds, not a fine-tuning run: it tells which
representation a small-data head starts from, not what fine-tuning ends at (benchmarks/small_data.py with
`--set model.pooling=mean` measures that).

Measured 2026-12-03 (load ≈ 8), seeds 0,1,2, accuracy mean ± std: bbc_20 pooler 0.850 ± 0.041, cls 0.900 ±
0.071, mean 0.967 ± 0.047; fortunes_30 pooler 0.611 ± 0.034, cls 0.606 ± 0.055, mean 0.700 ± 0.036.
Fine-tuned (small_data.py, seed 0 only, train.precision float32), mean vs pooler: bbc_20 0.95 vs 0.95 (39 vs
60 steps), fortunes_30 0.7167 vs 0.7500: the probe's gap does not survive fine-tuning here, so the default
stays `pooler`.

The last line is one JSON object: {"<source>_<limit>_<pooling>": [mean, std]} over the seeds.
"""
import argparse
import json

import numpy as np

import tfbig
from tfbig import tf
from tfbig.layers.pooling import pool
from tfbig.models.encoder import BertEncoder

POOLINGS = ("pooler", "cls", "mean")


def vectors(encoder, texts, tokenizer, batch: int = 32) -> dict:
    """{pooling: (N, H)} of the frozen encoder on `texts`."""
    out = {p: [] for p in POOLINGS}
    for i in range(0, len(texts), batch):
        x = tokenizer(tf.constant(texts[i:i + batch]))
        states = encoder(x, training=False)
        for p in POOLINGS:
            out[p].append(pool(states, x["attention_mask"], p).numpy())
    return {p: np.concatenate(v) for p, v in out.items()}


def main():
    from sklearn.linear_model import LogisticRegression

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    encoder, scores = None, {}
    for source, limit in (("bbc", 20), ("fortunes", 30)):
        for seed in [int(s) for s in args.seeds.split(",")]:
            cfg = tfbig.load_config(None, [f"data.source={source}", f"data.limit_per_class={limit}",
                                           f"data.seed={seed}"])
            data = tfbig.load_run_data(cfg)
            encoder = encoder or BertEncoder.from_pretrained(data.model_dir, name="backbone")
            s = data.splits
            train = vectors(encoder, s.train.texts + s.val.texts, data.tokenizer)
            test = vectors(encoder, s.test.texts, data.tokenizer)
            for p in POOLINGS:
                clf = LogisticRegression(C=10.0, max_iter=3000).fit(train[p], s.train.labels + s.val.labels)
                scores.setdefault(f"{source}_{limit}_{p}", []).append(float(np.mean(clf.predict(test[p]) ==
                                                                                    np.asarray(s.test.labels))))
            print(source, limit, "seed", seed, {p: round(scores[f"{source}_{limit}_{p}"][-1], 4) for p in POOLINGS},
                  flush=True)
    print(json.dumps({k: [round(float(np.mean(v)), 4), round(float(np.std(v)), 4)] for k, v in scores.items()}))


if __name__ == "__main__":
    main()
