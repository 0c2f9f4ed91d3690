"""Texts per second of the in-graph tokenizer vs Hugging Face's fast (Rust) and slow (Python) BERT tokenizers.

All of BBC News and the Debian fortunes whitelist (about 5,400 texts), max_length 512, batches of 256.
In-graph: a tf.data pass (batch -> tokenize map, parallel). HF fast: `tokenizer(batch)` per batch.
HF slow: the pure-Python BertTokenizer on the first 500 texts. Best of 3 passes for the first two.
id_agreement: the fraction of all texts whose ids equal BertTokenizerFast's.

    python benchmarks/tokenize.py
"""
import os
import sys

if __name__ != "__main__":
    # Any script run from benchmarks/ has this folder first on sys.path, so the standard library's
    # `tokenize` (imported by linecache, inspect, TensorFlow) would be this file: load the real one instead.
    import importlib.util
    import sysconfig

    _spec = importlib.util.spec_from_file_location("tokenize", os.path.join(sysconfig.get_paths()["stdlib"],
                                                                            "tokenize.py"))
    _std = importlib.util.module_from_spec(_spec)
    sys.modules["tokenize"] = _std  # the import statement that loaded this file returns sys.modules' entry
    _spec.loader.exec_module(_std)
else:
    # Run as a script: put the repository root first, not this folder.
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [os.path.dirname(_HERE)] + [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import json  # noqa: E402
import time  # noqa: E402

# tfbig and TensorFlow are imported inside the functions: nothing heavy may run when this file stands in
# for the standard library's module.

MAX_LENGTH, BATCH, PASSES, SLOW_TEXTS = 512, 256, 3, 500


def batches(texts):
    return [texts[i:i + BATCH] for i in range(0, len(texts), BATCH)]


def ingraph_pass(tok, texts):
    from tfbig._keras import tf

    ds = tf.data.Dataset.from_tensor_slices(texts).batch(BATCH)
    ds = ds.map(lambda t: tok.tokenize(t), num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    return [list(row) for batch in ds for row in batch.to_list()]


def best_rate(fn, n):
    best = float("inf")
    for _ in range(PASSES):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return n / best, out


def main():
    from transformers import BertTokenizer, BertTokenizerFast

    from tfbig.data.fortunes import read_fortunes
    from tfbig.data.text_files import read_folder
    from tfbig.data.sources import bbc_news_dir
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.model_folder import default_model_dir

    folder = default_model_dir()
    texts = read_folder(bbc_news_dir(), fallback_encoding="cp1252").texts + read_fortunes().texts
    print(f"{len(texts)} texts (BBC News + fortunes), max_length {MAX_LENGTH}, batches of {BATCH}")
    tok = BertTextTokenizer.from_model_dir(folder, max_length=MAX_LENGTH)
    fast = BertTokenizerFast.from_pretrained(folder, local_files_only=True)
    slow = BertTokenizer.from_pretrained(folder, local_files_only=True)

    ingraph_pass(tok, texts[:BATCH])  # trace once
    ingraph_rate, ours = best_rate(lambda: ingraph_pass(tok, texts), len(texts))
    fast_rate, ref = best_rate(
        lambda: [ids for b in batches(texts) for ids in fast(b, truncation=True, max_length=MAX_LENGTH)["input_ids"]],
        len(texts))
    start = time.perf_counter()
    slow_ids = [slow(t, truncation=True, max_length=MAX_LENGTH)["input_ids"] for t in texts[:SLOW_TEXTS]]
    slow_rate = SLOW_TEXTS / (time.perf_counter() - start)

    agree = sum(a == b for a, b in zip(ours, ref)) / len(texts)
    slow_agree = sum(a == b for a, b in zip(slow_ids, ref)) / SLOW_TEXTS
    print(f"in-graph (tensorflow-text): {ingraph_rate:9.0f} texts/s")
    print(f"BertTokenizerFast (batch):  {fast_rate:9.0f} texts/s")
    print(f"BertTokenizer (Python):     {slow_rate:9.0f} texts/s  (first {SLOW_TEXTS} texts; "
          f"{slow_agree:.4f} equal to the fast one)")
    print(f"identical ids to BertTokenizerFast: {agree:.4%} of {len(texts)} texts")
    print(json.dumps({"ingraph_texts_per_s": round(ingraph_rate, 1), "hf_fast_texts_per_s": round(fast_rate, 1),
                      "hf_slow_texts_per_s": round(slow_rate, 1),
                      "ratio_vs_hf_fast": round(ingraph_rate / fast_rate, 3), "id_agreement": agree}))


if __name__ == "__main__":
    main()
