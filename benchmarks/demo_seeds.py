"""`make demo`'s job over several seeds: test accuracy as mean ± std, the way a quality claim is stated.

    python benchmarks/demo_seeds.py [--seeds 0 1 2] [--config configs/bbc_minilm.yaml] [--set key=value ...]

Each seed is its own `tfbig train` process (fresh TensorFlow state) on the same split (data.seed fixed);
`seed` changes the head's initialisation, dropout and the batch order. The last line is one JSON object.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/bbc_minilm.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    args = parser.parse_args()
    out = tempfile.mkdtemp(prefix="tfbig-seeds-")
    results = []
    for seed in args.seeds:
        name = f"seed{seed}"
        cmd = [sys.executable, "-m", "tfbig", "train", "--config", args.config, "--set", f"seed={seed}",
               "--set", f"name={name}", "--set", f"output_dir={out}/runs", "--set", f"export_dir={out}/exports"]
        for item in args.overrides:
            cmd += ["--set", item]
        start = time.time()
        subprocess.run(cmd, check=True)
        with open(os.path.join(out, "runs", name, "report.json"), encoding="utf-8") as f:
            report = json.load(f)
        row = {"seed": seed, "accuracy": report["accuracy"], "macro_f1": report["macro"]["f1"],
               "seconds": round(time.time() - start, 1),
               "baseline": (report.get("baseline") or {}).get("accuracy")}
        print(f"seed {seed}: accuracy {row['accuracy']:.4f}  macro-F1 {row['macro_f1']:.4f}  "
              f"({row['seconds']:.0f} s)", flush=True)
        results.append(row)
    acc = [r["accuracy"] for r in results]
    f1 = [r["macro_f1"] for r in results]
    summary = {"config": args.config, "overrides": args.overrides, "seeds": args.seeds,
               "accuracy_mean": round(statistics.mean(acc), 4),
               "accuracy_std": round(statistics.stdev(acc), 4) if len(acc) > 1 else 0.0,
               "macro_f1_mean": round(statistics.mean(f1), 4),
               "accuracy_per_seed": acc, "seconds_per_seed": [r["seconds"] for r in results],
               "baseline_accuracy": results[0]["baseline"]}
    print(f"accuracy {summary['accuracy_mean']:.4f} ± {summary['accuracy_std']:.4f} over seeds {args.seeds}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
