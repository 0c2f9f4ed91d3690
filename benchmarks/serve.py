"""Serving speed: the raw-text SavedModel against BertTokenizerFast + the same Keras model called from Python.

For a teacher (all-MiniLM-L6-v2 size: 6 layers, hidden 384) and a small student (2 layers, hidden 128),
both with a random 5-class head (timing does not depend on the weights), on real BBC articles cut at
128 tokens. Measured in one run, on this machine's CPUs:
  - batch-1 latency, p50 and p99, over --calls single-text calls;
  - batch-64 throughput (examples/s) over --batches calls;
the paths take turns on each input, so that the load of a shared machine falls on all of them alike.
Paths: `savedmodel` = serving_default of the exported SavedModel (fast tokenizer, tensorflow-text ops),
`savedmodel_core` = the same with the core-TF tokenizer, `python` = transformers' BertTokenizerFast in
Python, then the Keras model in a tf.function (what `model.predict_on_batch` runs).
The last line is JSON for the student: savedmodel_p50_ms, python_p50_ms, savedmodel_b64_ex_per_s,
python_b64_ex_per_s.

    flock /tmp/tfbig-heavy.lock python benchmarks/serve.py > serve.log
"""
import argparse
import json
import os
import shutil
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfbig._keras import tf  # noqa: E402

MAX_LENGTH = 128
LABELS = ["business", "entertainment", "politics", "sport", "tech"]


def student_folder(teacher_dir: str, path: str) -> str:
    """A 2-layer, hidden-128 random BERT with the teacher's vocabulary and tokenizer files."""
    from safetensors.numpy import save_file

    from tfbig.testing import random_pt_state_dict, tiny_bert_config

    os.makedirs(path, exist_ok=True)
    for name in ("vocab.txt", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"):
        if os.path.exists(os.path.join(teacher_dir, name)):
            shutil.copy(os.path.join(teacher_dir, name), path)
    with open(os.path.join(teacher_dir, "vocab.txt"), encoding="utf-8") as f:
        vocab_size = sum(1 for _ in f)
    config = tiny_bert_config(vocab_size, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                              intermediate_size=512, max_position_embeddings=512)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f)
    save_file(random_pt_state_dict(config, seed=1), os.path.join(path, "model.safetensors"))
    return path


def timed(paths: dict, inputs: list, warmup: int = 3) -> dict:
    """{path: seconds of each call}, the paths called in turn on each input (after `warmup` untimed rounds),
    so that all of them see the same machine: on a shared machine, timing one path after the other
    measures the load of the moment as much as the path."""
    for x in inputs[:warmup]:
        for fn in paths.values():
            fn(x)
    times: dict = {name: [] for name in paths}
    for x in inputs:
        for name, fn in paths.items():
            start = time.perf_counter()
            fn(x)
            times[name].append(time.perf_counter() - start)
    return {name: np.asarray(t) for name, t in times.items()}


def measure(name: str, model_dir: str, backbone: str, texts: list, root: str, calls: int, batches: int) -> dict:
    from transformers import BertTokenizerFast

    from tfbig.config import ModelConfig, RunConfig
    from tfbig.export.from_run import build_tokenizer
    from tfbig.export.saved_model import export_saved_model
    from tfbig.train.build import build_classifier

    cfg = RunConfig(model=ModelConfig(backbone=backbone, model_dir=model_dir))
    model = build_classifier(cfg, model_dir, len(LABELS))
    serve = {}
    for kind in ("fast", "core"):
        path = export_saved_model(model, build_tokenizer(kind, model_dir, MAX_LENGTH), LABELS,
                                  os.path.join(root, f"{name}_{kind}"))
        serve[kind] = tf.saved_model.load(path).signatures["serving_default"]

    hf = BertTokenizerFast.from_pretrained(model_dir)
    spec = {k: tf.TensorSpec([None, None], tf.int32) for k in ("input_ids", "attention_mask", "token_type_ids")}
    keras_fn = tf.function(lambda features: tf.nn.softmax(model(features, training=False)), input_signature=[spec])

    def python_path(batch):
        enc = hf(batch, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="np")
        return keras_fn({k: tf.constant(enc[k], tf.int32) for k in spec}).numpy()

    paths = {"savedmodel": lambda b: serve["fast"](text=tf.constant(b))["probabilities"].numpy(),
             "savedmodel_core": lambda b: serve["core"](text=tf.constant(b))["probabilities"].numpy(),
             "python": python_path}
    # Same texts, same answers: the comparison is between equal computations.
    check = texts[:8]
    ref = paths["python"](check)
    for p in ("savedmodel", "savedmodel_core"):
        diff = float(np.abs(paths[p](check) - ref).max())
        print(f"  {name}: max |{p} - python| probability difference on 8 texts: {diff:.2e}")

    singles = [[t] for t in texts[:calls]]
    batches64 = [[texts[(i * 64 + j) % len(texts)] for j in range(64)] for i in range(batches)]
    latency = timed(paths, singles)
    throughput = timed(paths, batches64, warmup=1)
    out = {}
    for p in paths:
        lat, thr = latency[p] * 1000, throughput[p]
        out[p] = {"p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
                  "b64_ex_per_s": float(64 * len(thr) / thr.sum())}
        print(f"  {name:8s} {p:16s} batch-1 p50 {out[p]['p50_ms']:8.2f} ms  p99 {out[p]['p99_ms']:8.2f} ms   "
              f"batch-64 {out[p]['b64_ex_per_s']:8.1f} ex/s", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="batch-1 calls per path")
    parser.add_argument("--batches", type=int, default=6, help="batch-64 calls per path")
    parser.add_argument("--skip-teacher", action="store_true")
    parser.add_argument("--backbone", help="tfbig | hf (default: the config's default)")
    args = parser.parse_args()
    from tfbig.config import ModelConfig

    backbone = args.backbone or ModelConfig().backbone

    from tfbig.data.text_files import read_folder
    from tfbig.data.sources import bbc_news_dir
    from tfbig.model_folder import default_model_dir

    texts = read_folder(bbc_news_dir(), fallback_encoding="cp1252").texts
    texts = texts[:: max(1, len(texts) // max(args.calls, 64))]
    teacher_dir = default_model_dir()
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, {len(texts)} BBC texts, max_length {MAX_LENGTH}, "
          f"backbone {backbone}")
    with tempfile.TemporaryDirectory() as root:
        results = {}
        if not args.skip_teacher:
            print("teacher (all-MiniLM-L6-v2: 6 layers, hidden 384)")
            results["teacher"] = measure("teacher", teacher_dir, backbone, texts, root, args.calls, args.batches)
        print("student (2 layers, hidden 128, random)")
        student_dir = student_folder(teacher_dir, os.path.join(root, "student_bert"))
        results["student"] = measure("student", student_dir, backbone, texts, root, args.calls, args.batches)
    for who, r in results.items():
        print(f"{who}: SavedModel/python batch-1 p50 ratio {r['savedmodel']['p50_ms'] / r['python']['p50_ms']:.2f} "
              f"(core tokenizer {r['savedmodel_core']['p50_ms'] / r['python']['p50_ms']:.2f}); batch-64 throughput "
              f"ratio {r['savedmodel']['b64_ex_per_s'] / r['python']['b64_ex_per_s']:.2f} "
              f"(core {r['savedmodel_core']['b64_ex_per_s'] / r['python']['b64_ex_per_s']:.2f})")
    s = results["student"]
    print(json.dumps({"savedmodel_p50_ms": round(s["savedmodel"]["p50_ms"], 3),
                      "python_p50_ms": round(s["python"]["p50_ms"], 3),
                      "savedmodel_b64_ex_per_s": round(s["savedmodel"]["b64_ex_per_s"], 1),
                      "python_b64_ex_per_s": round(s["python"]["b64_ex_per_s"], 1)}))


if __name__ == "__main__":
    main()
