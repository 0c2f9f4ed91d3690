"""Export speed against ONNX Runtime on the same weights: tfbig's float32, bfloat16 and int8 SavedModels vs an ORT
anchor.

The model: all-MiniLM-L6-v2 (6 layers, hidden 384) with a random 5-class head, in two copies holding the same
weights — tfbig's own encoder (what `tfbig train` exports) and transformers' TFBertModel (the `hf` backbone).
The anchor is the `hf` copy converted with tf2onnx (opset 17) and run by ONNX Runtime with all its graph
optimisations (its transformer fusions included): the route users take to serve a BERT on CPUs. tf2onnx
1.17 has no handler for Erfc (TF 2.21's exact GELU, in both graphs), so one is registered here: 1 − Erf(x).
Both copies compute the same function (the outputs are compared below).

Measured in one run, the paths taking turns on each input (a shared machine's load falls on all alike):
  - batch 64 × 128 tokens, token ids in (tokenization excluded on every side): examples/s;
  - batch 1 × 128 tokens: p50 latency in ms;
  - short texts: 64 fortunes (a seeded random sample of the file; raw text in, tokenization included)
    against 64 BBC texts cut at 128 tokens, through the best tfbig export's `serving_default`;
  - the float32 matmul peak (an interleaved 2048² matmul), for the float32 export's MFU.
The int8 export (`export precision int8`: the encoder's Dense layers with per-channel int8 weights, activations
quantized per call) takes its turn beside float32 and bfloat16; `int8_over_fp32` is its batch-64 speed over
float32's. The random head says nothing of accuracy: `--run DIR` (a finished classification run) exports that
run in float32, bfloat16 and int8 and scores each on the run's test split (at most `--max-test` texts):
acc_fp32, acc_bf16, acc_int8.
The last line is JSON: tfbig_b64_ex_per_s, anchor_b64_ex_per_s, ratio_b64, tfbig_p50_ms, anchor_p50_ms,
anchor, mfu_fp32, short_over_long, short_median_tokens, short_flop_floor (the short batch's FLOPs
over the long one's: the ratio a forward without padding and per-call overhead would reach), int8_over_fp32, and the per-precision figures.

Needs `pip install onnxruntime==1.31.1 tf2onnx==1.17.0 onnx==1.23.2` (not tfbig dependencies; with pip's
`--target DIR --no-deps` and PYTHONPATH=DIR they stay out of the project's environment).

    python benchmarks/inference.py --rounds 20 [--run runs/bbc_minilm --max-test 500]
"""
import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfbig._keras import tf  # noqa: E402

MAX_LENGTH = 128
LABELS = ["business", "entertainment", "politics", "sport", "tech"]
LAYERS, HIDDEN, FFN = 6, 384, 1536


def flops_per_example(tokens: int = MAX_LENGTH) -> float:
    """Multiply-adds × 2 of the export's MiniLM forward pass over `tokens` tokens: projections, FFN and the two
    attention products. A classifier export computes its last block at the [CLS] position only (keys and
    values for every token; one query, attention output and FFN row: BertEncoder.first_token_only), so those
    skipped FLOPs are not counted."""
    per_layer = 2 * tokens * (4 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN) + 2 * 2 * tokens * tokens * HIDDEN
    last = 2 * tokens * 2 * HIDDEN * HIDDEN + 2 * (2 * HIDDEN * HIDDEN + 2 * HIDDEN * FFN) + 2 * 2 * tokens * HIDDEN
    return (LAYERS - 1) * per_layer + last


def build_pair(model_dir: str):
    """The same classifier twice: tfbig's encoder and transformers' TFBertModel, one head's weights copied."""
    from tfbig.config import ModelConfig, RunConfig
    from tfbig.train.build import build_classifier

    ours = build_classifier(RunConfig(model=ModelConfig(backbone="tfbig")), model_dir, len(LABELS))
    hf = build_classifier(RunConfig(model=ModelConfig(backbone="hf")), model_dir, len(LABELS))
    hf.head.set_weights(ours.head.get_weights())
    return ours, hf


def ids_signature(model):
    spec = [tf.TensorSpec([None, None], tf.int32, name=n) for n in ("input_ids", "attention_mask", "token_type_ids")]

    @tf.function(input_signature=spec)
    def logits(input_ids, attention_mask, token_type_ids):
        return {"logits": model({"input_ids": input_ids, "attention_mask": attention_mask,
                                 "token_type_ids": token_type_ids}, training=False)}

    return spec, logits


def register_erfc() -> None:
    """tf2onnx 1.17 lacks TF's Erfc (exact GELU is 0.5·x·erfc(−x/√2) in TF 2.21): convert it as 1 − Erf(x)."""
    from tf2onnx import utils
    from tf2onnx.handler import tf_op

    @tf_op("Erfc")
    class Erfc:  # noqa: F841  (registered by the decorator)
        @classmethod
        def version_9(cls, ctx, node, **kwargs):
            node.type = "Erf"
            one = ctx.make_const(utils.make_name("one"), np.array(1.0, np.float32)).output[0]
            neg = ctx.insert_new_node_on_output("Neg", node.output[0], name=utils.make_name(node.name))
            ctx.insert_new_node_on_output("Add", neg.output[0], name=utils.make_name(node.name),
                                          inputs=[neg.output[0], one])


def onnx_anchor(hf_model, path: str):
    import onnxruntime as ort
    import tf2onnx

    register_erfc()
    spec, fn = ids_signature(hf_model)
    tf2onnx.convert.from_function(fn, input_signature=spec, opset=17, output_path=path)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = os.cpu_count() or 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    return session, f"onnxruntime {ort.__version__} (tf2onnx {tf2onnx.__version__}, opset 17, ORT_ENABLE_ALL)"


def export(model, tok, root: str, policy: str, model_dir: str):
    """tfbig's SavedModel of `model` computing in `policy` (rebuilt inside it, weights copied); policy int8:
    float32 with the encoder's Dense layers in int8."""
    from tfbig.config import ModelConfig, RunConfig
    from tfbig.distribute.precision import policy_scope
    from tfbig.export.saved_model import export_saved_model
    from tfbig.train.build import build_classifier

    if policy not in ("float32", "int8"):
        with policy_scope(policy):
            twin = build_classifier(RunConfig(model=ModelConfig(backbone="tfbig")), model_dir, len(LABELS))
        twin.set_weights(model.get_weights())
        model = twin
    return tf.saved_model.load(export_saved_model(model, tok, LABELS, root, int8=policy == "int8"))


def test_split_accuracy(run_dir: str, root: str, max_test: int) -> dict:
    """{acc_fp32, acc_bf16, acc_int8, test_texts}: the run exported in each precision, scored on (the first
    `max_test` texts of) its test split through serving_default."""
    from tfbig.evaluate.evaluation import run_test_split
    from tfbig.evaluate.predictor import load_saved_model
    from tfbig.export.from_run import export_run

    texts, labels = run_test_split(run_dir)
    texts, labels = list(texts)[:max_test], list(labels)[:max_test]
    scores = {"test_texts": len(texts)}
    for key, precision in (("acc_fp32", "float32"), ("acc_bf16", "bfloat16"), ("acc_int8", "int8")):
        predictor = load_saved_model(export_run(run_dir, os.path.join(root, precision), precision=precision))
        predicted = predictor.probabilities(texts).argmax(-1)
        scores[key] = round(100 * float(np.mean([predictor.labels[p] == y for p, y in zip(predicted, labels)])), 2)
        print(f"{precision:>9} export of {run_dir}: test accuracy {scores[key]:.2f}% on {len(texts)} texts")
    return scores


def interleaved(paths: dict, inputs: list, warmup: int = 2) -> dict:
    """{path: seconds of each call}, the paths called in turn on each input after `warmup` untimed rounds."""
    for x in inputs[:warmup]:
        for fn in paths.values():
            fn(x)
    times = {name: [] for name in paths}
    for x in inputs:
        for name, fn in paths.items():
            start = time.perf_counter()
            fn(x)
            times[name].append(time.perf_counter() - start)
    return {name: np.asarray(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="timed batch-64 calls per path")
    parser.add_argument("--calls", type=int, default=100, help="timed batch-1 calls per path")
    parser.add_argument("--run", help="a finished classification run: score its float32/bfloat16/int8 exports on "
                                      "its test split")
    parser.add_argument("--max-test", type=int, default=500, help="at most this many test texts (--run)")
    args = parser.parse_args()

    from tfbig.data.sources import bbc_news_dir
    from tfbig.data.text_files import read_folder
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.data.fortunes import read_fortunes
    from tfbig.distribute.precision import _best_gflops, _matmul
    from tfbig.model_folder import default_model_dir

    model_dir = default_model_dir()
    tok = BertTextTokenizer.from_model_dir(model_dir, MAX_LENGTH)
    bbc = read_folder(bbc_news_dir(), fallback_encoding="cp1252").texts
    long_texts = [t for t in bbc if len(t) > 2000][:64 * 4]
    # A seeded random sample: the file's first fortunes are not typical of its lengths.
    all_fortunes = read_fortunes().texts
    fortunes = [all_fortunes[i] for i in np.random.default_rng(0).choice(len(all_fortunes), 64 * 4, replace=False)]

    ours, hf = build_pair(model_dir)
    features = tok(tf.constant(long_texts[:64]), pad_to=MAX_LENGTH)
    assert int(tf.reduce_min(tf.reduce_sum(features["attention_mask"], 1))) == MAX_LENGTH  # 128 real tokens each
    work = tempfile.mkdtemp(prefix="tfbig-inference-")
    session, anchor_name = onnx_anchor(hf, os.path.join(work, "anchor.onnx"))
    exports = {p: export(ours, tok, os.path.join(work, p), p, model_dir) for p in ("float32", "mixed_bfloat16", "int8")}

    batches = [{k: v.numpy() for k, v in tok(tf.constant(long_texts[i * 64:(i + 1) * 64]), pad_to=MAX_LENGTH).items()}
               for i in range(4)]
    singles = [{k: v[:1] for k, v in b.items()} for b in batches]
    ort_out = session.run(["logits"], batches[0])[0]
    ours_out = exports["float32"].signatures["predict_ids"](**{k: tf.constant(v) for k, v in batches[0].items()})
    fp32_probs = ours_out["probabilities"].numpy()
    ort_probs = tf.nn.softmax(ort_out).numpy()
    same = float(np.abs(ort_probs - fp32_probs).max())
    print(f"anchor: {anchor_name}; max |p_anchor - p_tfbig| on 64 texts = {same:.2e}")

    def tf_path(loaded):
        fn = loaded.signatures["predict_ids"]
        return lambda x: fn(**{k: tf.constant(v) for k, v in x.items()})["probabilities"].numpy()

    paths = {"anchor": lambda x: session.run(["logits"], x)[0],
             "float32": tf_path(exports["float32"]), "mixed_bfloat16": tf_path(exports["mixed_bfloat16"]),
             "int8": tf_path(exports["int8"])}
    matmul = _matmul("float32", 2048)
    paths_with_peak = dict(paths, peak=lambda x: _best_gflops(matmul, 2048, 0.0))
    big = interleaved(paths_with_peak, [batches[i % 4] for i in range(args.rounds)])
    one = interleaved(paths, [singles[i % 4] for i in range(args.calls)])
    peak = max(2 * 2048 ** 3 / t / 1e9 for t in big.pop("peak"))
    ex_per_s = {name: 64 / float(np.median(t)) for name, t in big.items()}
    p50 = {name: 1000 * float(np.median(t)) for name, t in one.items()}
    best = max(("float32", "mixed_bfloat16", "int8"), key=lambda p: ex_per_s[p])

    serve = exports[best].signatures["serving_default"]
    short = [tf.constant(fortunes[i * 64:(i + 1) * 64]) for i in range(4)]
    long_ = [tf.constant(long_texts[i * 64:(i + 1) * 64]) for i in range(4)]
    text_times = interleaved({"short": lambda i: serve(text=short[i % 4]), "long": lambda i: serve(text=long_[i % 4])},
                             list(range(max(args.rounds // 2, 4))))
    short_over_long = float(np.median(text_times["short"]) / np.median(text_times["long"]))
    # Tokens per text (special tokens included, cut at 128), and the short batch's forward FLOPs over the long
    # one's: what a padding-free forward would cost, the floor short_over_long can approach.
    counts = [tf.reduce_sum(tok(s)["attention_mask"], axis=1).numpy() for s in short]
    short_tokens = float(np.median(np.concatenate(counts)))
    short_flop_floor = float(np.median([sum(flops_per_example(int(t)) for t in c) / (64 * flops_per_example())
                                        for c in counts]))

    flops = flops_per_example()
    mfu = ex_per_s["float32"] * flops / (peak * 1e9)
    for name in paths:
        print(f"{name:>15}: batch 64 × 128 {ex_per_s[name]:7.1f} ex/s ({ex_per_s[name] * flops / 1e9:6.1f} GFLOP/s), "
              f"batch 1 p50 {p50[name]:6.1f} ms")
    print(f"float32 matmul peak {peak:.0f} GFLOP/s; float32 export MFU {mfu:.0%}; best export {best}")
    print(f"64 fortunes (median {short_tokens:.0f} tokens) cost {short_over_long:.2f}× 64 texts of 128 tokens; "
          f"their FLOPs are {short_flop_floor:.2f}× (a forward without padding or per-call overhead)")
    bf16_diff = float(np.abs(tf_path(exports["mixed_bfloat16"])(batches[0]) - fp32_probs).max())
    print(f"bfloat16 export: max |p - p_fp32| = {bf16_diff:.3f} on 64 texts")
    int8_diff = float(np.abs(tf_path(exports["int8"])(batches[0]) - fp32_probs).max())
    int8_over_fp32 = ex_per_s["int8"] / ex_per_s["float32"]
    print(f"int8 export: max |p - p_fp32| = {int8_diff:.3f} on 64 texts; batch 64 at {int8_over_fp32:.2f}x float32")
    accuracy = test_split_accuracy(args.run, os.path.join(work, "run"), args.max_test) if args.run else {}
    print(json.dumps({
        "tfbig_b64_ex_per_s": round(ex_per_s[best], 1), "anchor_b64_ex_per_s": round(ex_per_s["anchor"], 1),
        "ratio_b64": round(ex_per_s[best] / ex_per_s["anchor"], 3),
        "tfbig_p50_ms": round(min(p50["float32"], p50["mixed_bfloat16"], p50["int8"]), 2),
        "anchor_p50_ms": round(p50["anchor"], 2), "anchor": anchor_name, "best_export": best,
        "mfu_fp32": round(mfu, 3), "matmul_peak_fp32_gflops": round(peak, 1),
        "short_over_long": round(short_over_long, 3), "short_median_tokens": short_tokens,
        "short_flop_floor": round(short_flop_floor, 3),
        "b64_ex_per_s": {k: round(v, 1) for k, v in ex_per_s.items()},
        "p50_ms": {k: round(v, 2) for k, v in p50.items()},
        "anchor_max_prob_diff": same, "bf16_max_prob_diff": bf16_diff, "int8_max_prob_diff": int8_diff,
        "int8_over_fp32": round(int8_over_fp32, 3), **accuracy,
        "load_average": round(os.getloadavg()[0], 2),
    }))


if __name__ == "__main__":
    main()
