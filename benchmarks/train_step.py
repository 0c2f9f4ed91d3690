"""Training-step speed at MiniLM's geometry: transformers' TFBertForSequenceClassification vs tfbig's encoder.

Measures in one run, batch 32 × 128 tokens, random weights, Adam (Keras' for transformers, tfbig's fused one
— what `train.optimizer: adam` builds — for tfbig), the same hand-written train step for all:
HF fp32, ours fp32, ours mixed_bfloat16, and the machine's fp32/bf16 matmul peak. The timed steps of the
three models are taken in turn, so that the load of a shared machine weighs on all of them alike.
The batch's lengths are drawn between T/2 and T, a quarter of its positions padding, as in real batches.
Model FLOPs per step are 6·N·tokens, tokens the real (unpadded) ones (N: parameters of all matrix products,
i.e. without the embedding tables), plus the attention products 12·layers·B·T²·hidden over the padded length;
work on padded tokens is not counted: tfbig's encoder skips it in training (tfbig.layers.unpad), transformers
computes it. MFU divides the achieved FLOP/s by the matmul peak of the same precision (2048² products, best
seen during the run). On a shared machine the
ratios, measured side by side, are the reliable figures; absolute rates and MFU follow the load.

    python benchmarks/train_step.py [--steps 8] [--warmup 2] [--jit] [--padded]

The last line printed is one JSON object: hf_ex_per_s, fp32_ex_per_s, bf16_ex_per_s, speedup_vs_hf (the faster
side's), mfu_fp32, mfu_bf16, fp32_vs_hf, bf16_vs_hf, and the two matmul peaks (peak_fp32_gflops, peak_bf16_gflops).
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfbig._keras import keras, tf  # noqa: E402

GEOMETRY = {"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6, "num_attention_heads": 12,
            "intermediate_size": 1536, "max_position_embeddings": 512, "type_vocab_size": 2}
BATCH, LENGTH, CLASSES = 32, 128, 5


def make_batch():
    ids = tf.random.stateless_uniform([BATCH, LENGTH], seed=[0, 1], minval=1000, maxval=30000, dtype=tf.int32)
    lengths = tf.random.stateless_uniform([BATCH, 1], seed=[2, 3], minval=LENGTH // 2, maxval=LENGTH + 1,
                                          dtype=tf.int32)
    mask = tf.cast(tf.range(LENGTH)[tf.newaxis] < lengths, tf.int32)  # padding as in real batches, fixed shape
    x = {"input_ids": ids * mask, "attention_mask": mask, "token_type_ids": tf.zeros_like(ids)}
    y = tf.random.stateless_uniform([BATCH], seed=[4, 5], maxval=CLASSES, dtype=tf.int32)
    return x, y


def hf_model():
    from transformers import BertConfig, TFBertForSequenceClassification

    model = TFBertForSequenceClassification(BertConfig(**GEOMETRY, num_labels=CLASSES))
    return model, lambda x, training: model(**x, training=training).logits


def our_model(unpad: bool = True):
    from tfbig.train.task_model import TextClassifier
    from tfbig.models.encoder import BertEncoder

    encoder = BertEncoder(**GEOMETRY)
    encoder.unpad = unpad
    model = TextClassifier(encoder, CLASSES)
    return model, lambda x, training: model(x, training=training)


def make_step(build, precision: str, jit: bool, adam=None):
    """Builds a model under `precision`; returns (its traced train step, matrix-product parameter count).
    adam: the optimizer class (Keras' Adam when None)."""
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(0)
    model, logits_of = build()
    optimizer = (adam or keras.optimizers.Adam)(1e-5)

    @tf.function(jit_compile=jit)
    def step(x, y):
        with tf.GradientTape() as tape:
            logits = tf.cast(logits_of(x, training=True), tf.float32)
            loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(y, logits, from_logits=True))
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    step(*make_batch())  # trace, and create the optimizer's slots, under this policy
    keras.mixed_precision.set_global_policy("float32")
    n_params = sum(int(tf.size(w)) for w in model.trainable_weights
                   if len(w.shape) == 2 and "embeddings" not in w.name)
    return step, n_params


def matmul_probe(dtype, n: int = 2048):
    """A function returning the seconds of one n×n by n×n matrix product in `dtype` (2·n³ FLOPs)."""
    a = tf.cast(tf.random.stateless_normal([n, n], seed=[0, 0]), dtype)
    b = tf.cast(tf.random.stateless_normal([n, n], seed=[1, 1]), dtype)
    product = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)[0]))
    product()

    def probe():
        start = time.perf_counter()
        product().numpy()
        return time.perf_counter() - start
    return probe


def time_steps(steps: dict, n: int, warmup: int, probes: dict, probe_n: int = 2048) -> tuple:
    """Median seconds per step of each named step function, and the best matmul FLOP/s of each probe.

    The step functions and the matmul probes take turns, so the load of a shared machine weighs on all alike;
    the peak is the best probe seen over the whole run.
    """
    x, y = make_batch()
    times = {name: [] for name in steps}
    peaks = {name: 0.0 for name in probes}
    for i in range(warmup + n):
        for name, probe in probes.items():
            peaks[name] = max([peaks[name]] + [2 * probe_n ** 3 / probe() for _ in range(2)])
        for name, step in steps.items():
            start = time.perf_counter()
            step(x, y).numpy()
            if i >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}, peaks


def step_flops(n_params: int, tokens: int) -> float:
    """Model FLOPs of one step on `tokens` real tokens: 6·N per token and the attention products."""
    g = GEOMETRY
    return 6 * n_params * tokens + 12 * g["num_hidden_layers"] * BATCH * LENGTH ** 2 * g["hidden_size"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--jit", action="store_true", help="XLA-compile our train steps (measured slower on CPU)")
    parser.add_argument("--padded", action="store_true",
                        help="also time our fp32 step computing the padded positions (unpad off) with Keras' Adam: "
                             "key fp32_padded_vs_hf")
    args = parser.parse_args()

    from tfbig.train.fused_adam import FusedAdam

    built = {"hf fp32": make_step(hf_model, "float32", False),
             "ours fp32": make_step(our_model, "float32", args.jit, FusedAdam),
             "ours bf16": make_step(our_model, "mixed_bfloat16", args.jit, FusedAdam)}
    if args.padded:  # and with Keras' Adam: the step as it was before both
        built["ours fp32 padded"] = make_step(lambda: our_model(unpad=False), "float32", args.jit)
    tokens = int(tf.reduce_sum(make_batch()[0]["attention_mask"]))
    seconds, peaks = time_steps({name: step for name, (step, _) in built.items()}, args.steps, args.warmup,
                                {"fp32": matmul_probe(tf.float32), "bf16": matmul_probe(tf.bfloat16)})
    peak32, peak16 = peaks["fp32"], peaks["bf16"]
    print(f"matmul peak: fp32 {peak32 / 1e9:.0f} GFLOP/s, bf16 {peak16 / 1e9:.0f} GFLOP/s; "
          f"{tokens} real tokens of {BATCH * LENGTH}")
    ex_per_s, mfu = {}, {}
    for name, (_, n_params) in built.items():
        flops = step_flops(n_params, tokens)
        ex_per_s[name] = BATCH / seconds[name]
        mfu[name] = flops / seconds[name] / (peak16 if "bf16" in name else peak32)
        print(f"{name:10s} {seconds[name]:.3f} s/step  {ex_per_s[name]:6.1f} ex/s  "
              f"{flops / seconds[name] / 1e9:5.0f} GFLOP/s  MFU {mfu[name]:.1%} "
              f"(N={n_params / 1e6:.2f}M, {flops / 1e9:.0f} GFLOP/step)")
    hf = ex_per_s["hf fp32"]
    print(f"ours fp32 / hf: {ex_per_s['ours fp32'] / hf:.2f}x   ours bf16 / hf: {ex_per_s['ours bf16'] / hf:.2f}x")
    extra = {"fp32_padded_vs_hf": round(ex_per_s["ours fp32 padded"] / hf, 3)} if args.padded else {}
    print(json.dumps({
        "hf_ex_per_s": round(hf, 2), "fp32_ex_per_s": round(ex_per_s["ours fp32"], 2),
        "bf16_ex_per_s": round(ex_per_s["ours bf16"], 2),
        "speedup_vs_hf": round(max(ex_per_s["ours fp32"], ex_per_s["ours bf16"]) / hf, 3),
        "mfu_fp32": round(mfu["ours fp32"], 3), "mfu_bf16": round(mfu["ours bf16"], 3),
        "fp32_vs_hf": round(ex_per_s["ours fp32"] / hf, 3), "bf16_vs_hf": round(ex_per_s["ours bf16"] / hf, 3),
        "peak_fp32_gflops": round(peak32 / 1e9, 1), "peak_bf16_gflops": round(peak16 / 1e9, 1),
        "real_token_share": round(tokens / (BATCH * LENGTH), 3), **extra,
    }))


if __name__ == "__main__":
    main()
