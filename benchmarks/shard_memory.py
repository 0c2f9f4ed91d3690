"""Peak memory of sharding and reading an input 1x and 10x as large (BBC News repeated): it should not grow.

Each size runs in a fresh process: write a JSONL of the corpus repeated N times, `write_shards` it into 8
TFRecord shards, then one full pass of the training pipeline over the shards (read, tokenize, shuffle
buffer, bucketed batches). The process's peak RSS (excluding writing the JSONL) is compared.

    python benchmarks/shard_memory.py
"""
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def write_input(path: str, repeat: int) -> int:
    from tfbig.data.text_files import read_folder
    from tfbig.data.sources import bbc_news_dir

    bbc = read_folder(bbc_news_dir(), fallback_encoding="cp1252")
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for r in range(repeat):
            for text, label in zip(bbc.texts, bbc.labels):
                f.write(json.dumps({"text": f"{r} {text}", "label": label}) + "\n")
                n += 1
    return n


def child(input_path: str, out_dir: str) -> None:
    """Runs in its own process: shard, then read everything through the pipeline; prints one JSON line."""
    from tfbig.data.pipeline import split_dataset
    from tfbig.data.shard_format import list_shards, read_labels
    from tfbig.data.shard_splits import ShardSplit
    from tfbig.data.shard_writer import write_shards
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.model_folder import default_model_dir

    tok = BertTextTokenizer.from_model_dir(default_model_dir(), max_length=128)
    start = time.perf_counter()
    summary = write_shards(input_path, out_dir, num_shards=8, progress=False)
    shard_s = time.perf_counter() - start
    start = time.perf_counter()
    ds = split_dataset(ShardSplit(list_shards(out_dir)), read_labels(out_dir), tok, 32, shuffle=True)
    seen = sum(int(y.shape[0]) for _, y in ds)
    read_s = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"records": summary["records"]["all"], "read": seen, "shard_s": round(shard_s, 1),
                      "read_s": round(read_s, 1), "rss_mb": round(rss_mb, 1)}))


def run(repeat: int, tmp: str) -> dict:
    input_path = os.path.join(tmp, f"bbc_x{repeat}.jsonl")
    n = write_input(input_path, repeat)
    size_mb = os.path.getsize(input_path) / 2**20
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, __file__, "--child", input_path, os.path.join(tmp, f"shards_x{repeat}")],
                         capture_output=True, text=True, env=env, check=True).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert result["records"] == result["read"] == n, result
    print(f"{repeat:2d}x: {n} records, input {size_mb:.0f} MB: shard {result['shard_s']} s, read+tokenize "
          f"{result['read_s']} s, peak RSS {result['rss_mb']:.0f} MB")
    return result


def main():
    with tempfile.TemporaryDirectory() as tmp:
        one, ten = run(1, tmp), run(10, tmp)
    ratio = ten["rss_mb"] / one["rss_mb"]
    print(f"peak RSS 10x / 1x: {ratio:.3f}")
    print(json.dumps({"rss_1x_mb": one["rss_mb"], "rss_10x_mb": ten["rss_mb"], "ratio": round(ratio, 3)}))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()
