"""The Spark shard job's driver memory on BBC News (1x) and on the corpus repeated ten times (10x).

Each size runs in a fresh process (Spark local[2], spark.driver.maxResultSize=1m, so a collect of the
data would fail the job) that reports the peak resident memory of its Python driver. Every copy of an
article is marked (" [copy k]") so de-duplication keeps it and the job writes 10x the records.

    python benchmarks/spark_driver_memory.py          # last line: one JSON object
"""
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import json, resource, sys, time
from tfbig.data.spark import get_session, spark_shard
spark = get_session("local[2]", conf={"spark.driver.maxResultSize": "1m", "spark.ui.enabled": "false",
                                      "spark.sql.shuffle.partitions": "8"})
start = time.time()
summary = spark_shard(sys.argv[1], sys.argv[2], num_shards=8, spark=spark)
seconds = time.time() - start
spark.stop()
print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "seconds": seconds,
                  "records": summary.cleaning["kept"], "read": summary.cleaning["read"]}))
"""


def write_corpus(path: str, copies: int) -> int:
    sys.path.insert(0, ROOT)
    from tfbig.data.text_files import read_folder
    from tfbig.data.sources import bbc_news_dir

    examples = read_folder(bbc_news_dir(), fallback_encoding="cp1252")
    with open(path, "w", encoding="utf-8") as f:
        for k in range(copies):
            mark = f" [copy {k}]" if k else ""
            for text, label in zip(examples.texts, examples.labels):
                f.write(json.dumps({"text": text + mark, "label": label}) + "\n")
    return os.path.getsize(path)


def run(input_path: str, out: str) -> dict:
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", CHILD, input_path, out], env=env, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"the Spark job failed on {input_path}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for copies in (1, 10):
            path = os.path.join(tmp, f"bbc_x{copies}.jsonl")
            size = write_corpus(path, copies)
            start = time.time()
            r = run(path, os.path.join(tmp, f"shards_x{copies}"))
            r["input_mb"] = size / 2**20
            results[copies] = r
            print(f"{copies:>2}x: input {r['input_mb']:.1f} MB, {r['read']} records read, {r['records']} written, "
                  f"job {r['seconds']:.1f} s (process {time.time() - start:.1f} s), "
                  f"driver peak RSS {r['rss_mb']:.0f} MB", flush=True)
    one, ten = results[1], results[10]
    print(f"driver peak RSS 10x / 1x: {ten['rss_mb'] / one['rss_mb']:.3f} for {ten['input_mb'] / one['input_mb']:.1f}x "
          "the input")
    print(json.dumps({
        "driver_rss_mb_1x": round(one["rss_mb"], 1), "driver_rss_mb_10x": round(ten["rss_mb"], 1),
        "driver_rss_ratio_10x_over_1x": round(ten["rss_mb"] / one["rss_mb"], 3),
        "input_mb_1x": round(one["input_mb"], 1), "input_mb_10x": round(ten["input_mb"], 1),
        "records_1x": one["records"], "records_10x": ten["records"],
        "job_seconds_1x": round(one["seconds"], 1), "job_seconds_10x": round(ten["seconds"], 1),
    }))


if __name__ == "__main__":
    main()
