"""The task shapes on real data: VADER regression and debtags multi-label, fine-tuned MiniLM vs the TF-IDF floor,
and each distilled into a 1-layer student (metric kept, throughput gained).

    python benchmarks/tasks.py [--seeds 0 1 2] [--quick]

--quick: 100 texts per VADER domain, 400 debtags packages, 1 epoch, 1 seed, max_length 64 — a smoke run
that fits a shared CPU; the full form (3 seeds, all 23,700 VADER texts and 30,000 packages) wants a GPU.
Splits: the tasks' own, 70/10/20 train/validation/test (VADER: seeded random; debtags: iterative
stratification). Per-domain Pearson is computed on the test split's texts of each domain.
Pairs: Lee (1,225 document pairs, all of them even with --quick) and BBC title pairs (--quick: 200 per class);
distill_kept covers all four (the pair students' teacher outputs are cached per pair; their speed-up is
benchmarks/distill.py's measure at 64 × 128 tokens).
The last line is one JSON object with the issue's keys.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _write_jsonl(path: str, texts, labels, key: str) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for text, label in zip(texts, labels):
            f.write(json.dumps({"text": text, key: label}) + "\n")


def _subsample(examples, n: int, seed: int):
    rng = np.random.default_rng(seed)
    index = sorted(rng.choice(len(examples), size=min(n, len(examples)), replace=False))
    return [examples.texts[i] for i in index], [examples.labels[i] for i in index]


def _throughput(model, texts, tokenizer) -> float:
    from tfbig.train.evaluation import predict_outputs

    predict_outputs(model, texts[:32], tokenizer, 32)  # traced once
    start = time.time()
    predict_outputs(model, texts, tokenizer, 32)
    return len(texts) / (time.time() - start)


def _run(kind: str, sets: list, teachers: list | None = None) -> tuple:
    """(report, run folder) of one train or distill run."""
    from tfbig.config import load_config

    if kind == "train":
        from tfbig.jobs.train_job import train_run

        cfg = load_config(None, sets)
        return train_run(cfg), cfg
    from tfbig.distill.config import load_distill_config
    from tfbig.jobs.distill_job import distill_run

    cfg = load_distill_config(None, sets, teachers=teachers)
    return distill_run(cfg), cfg


def _pearson(a, b) -> float:
    return float(np.corrcoef(a, b)[0, 1]) if len(a) > 2 else float("nan")


def vader(work: str, seed: int, quick: bool, common: list) -> dict:
    from tfbig.data import vader as vd
    from tfbig.data.clean import normalize_text
    from tfbig.runs.folder import RunFolder
    from tfbig.train.data import load_run_data
    from tfbig.train.evaluation import predict_outputs

    domains = vd.read_domains()
    texts, labels, domain_of = [], [], {}
    rng = np.random.default_rng(0)
    for domain, rows in domains.items():
        if quick:
            rows = [rows[i] for i in sorted(rng.choice(len(rows), size=100, replace=False))]
        for text, rating in rows:
            texts.append(text)
            labels.append(rating)
            domain_of[normalize_text(text)] = domain
    data = os.path.join(work, "vader.jsonl")
    _write_jsonl(data, texts, labels, "rating")
    sets = common + [f"data.source={data}", "task=regression", "data.label_column=rating", "train.baseline=true",
                     "train.monitor=val_pearson", f"seed={seed}", f"name=vader{seed}"]
    report, cfg = _run("train", sets)
    run_data = load_run_data(cfg)
    test = run_data.splits.test
    teacher = RunFolder(cfg.run_dir).load_model()
    predicted = predict_outputs(teacher, test.texts, run_data.tokenizer, 32)[:, 0]
    true = np.asarray(test.labels)[:, 0]
    test_domains = np.asarray([domain_of.get(t, "?") for t in test.texts])
    by_domain = {d: _pearson(true[test_domains == d], predicted[test_domains == d]) for d in domains}
    student, scfg = _run("distill", common + [f"data.source={data}", "data.label_column=rating",
                                              "student.num_layers=1", "distill.alpha=0.5", f"seed={seed}",
                                              f"name=vader_student{seed}"], teachers=[cfg.run_dir])
    small = RunFolder(scfg.run_dir).load_model()
    speed = _throughput(small, test.texts, run_data.tokenizer) / _throughput(teacher, test.texts, run_data.tokenizer)
    print(f"vader seed {seed}: pearson {report['pearson']:.4f} (ridge {report['baseline']['pearson']:.4f}); "
          f"by domain {json.dumps({k: round(v, 3) for k, v in by_domain.items()})}; student {student['pearson']:.4f} "
          f"at {speed:.1f}x", flush=True)
    return {"pearson": report["pearson"], "baseline": report["baseline"]["pearson"], "by_domain": by_domain,
            "kept": student["pearson"] / report["pearson"] if report["pearson"] else float("nan"), "speedup": speed}


def debtags(work: str, seed: int, quick: bool, common: list) -> dict:
    from tfbig.data.debtags import read_debtags
    from tfbig.runs.folder import RunFolder
    from tfbig.train.data import load_run_data

    texts, labels = _subsample(read_debtags(), 400 if quick else 10**9, 0)
    data = os.path.join(work, "debtags.jsonl")
    _write_jsonl(data, texts, [list(t) for t in labels], "label")
    sets = common + [f"data.source={data}", "task=multilabel", "train.baseline=true", "train.monitor=val_micro_f1",
                     f"seed={seed}", f"name=debtags{seed}"]
    report, cfg = _run("train", sets)
    student, scfg = _run("distill", common + [f"data.source={data}", "student.num_layers=1", f"seed={seed}",
                                              f"name=debtags_student{seed}"], teachers=[cfg.run_dir])
    run_data = load_run_data(cfg)
    test = run_data.splits.test.texts
    speed = (_throughput(RunFolder(scfg.run_dir).load_model(), test, run_data.tokenizer)
             / _throughput(RunFolder(cfg.run_dir).load_model(), test, run_data.tokenizer))
    micro = report["micro"]["f1"]
    print(f"debtags seed {seed}: micro-F1 {micro:.4f} macro-F1 {report['macro']['f1']:.4f} "
          f"(one-vs-rest {report['baseline']['micro']['f1']:.4f}); student {student['micro']['f1']:.4f} at "
          f"{speed:.1f}x", flush=True)
    return {"micro": micro, "macro": report["macro"]["f1"], "baseline": report["baseline"]["micro"]["f1"],
            "kept": student["micro"]["f1"] / micro if micro else float("nan"), "speedup": speed}


def _pair_student(sets: list, teacher_cfg, teacher_report: dict, name: str, key: str, quick: bool) -> dict:
    """A 1-layer student distilled from a pair run (its teacher's outputs cached per pair): `key` kept, and its
    inference examples/s over the teacher's at 64 × 128 tokens (benchmarks/distill.py's measure)."""
    from distill import throughput, vocab_size
    from tfbig.runs.folder import RunFolder

    student, scfg = _run("distill", sets + [f"name={name}", "student.num_layers=1"], teachers=[teacher_cfg.run_dir])
    teacher = RunFolder(teacher_cfg.run_dir).load_model()
    rates = throughput({"teacher": teacher, "student": RunFolder(scfg.run_dir).load_model()}, vocab_size(teacher),
                       seconds=3.0 if quick else 15.0)
    mine, theirs = student[key], teacher_report[key]
    return {"kept": mine / theirs if theirs else float("nan"), "speedup": rates["student"] / rates["teacher"],
            "student": mine}


def pairs(work: str, seed: int, quick: bool, common: list) -> dict:
    """Lee pairs (regression, Spearman) and BBC title pairs (classification, accuracy), each next to its TF-IDF
    cosine floor (cosine → ridge / logistic regression fitted on train), each distilled into a 1-layer student."""
    lee_sets = [c for c in common if not c.startswith("data.max_length")] + [
        "data.source=lee_pairs", "task=regression", "train.baseline=true", "data.max_length=128",
        "train.monitor=val_pearson", f"seed={seed}"]
    lee, lee_cfg = _run("train", lee_sets + [f"name=lee{seed}"])
    title_sets = common + ["data.source=bbc_title_pairs", "train.baseline=true",
                           f"data.limit_per_class={200 if quick else 0}", "train.monitor=val_accuracy", f"seed={seed}"]
    titles, titles_cfg = _run("train", title_sets + [f"name=titles{seed}"])
    lee_student = _pair_student(lee_sets, lee_cfg, lee, f"lee_student{seed}", "spearman", quick)
    titles_student = _pair_student(title_sets, titles_cfg, titles, f"titles_student{seed}", "accuracy", quick)
    print(f"pairs seed {seed}: lee spearman {lee['spearman']:.4f} (TF-IDF cosine {lee['baseline']['spearman']:.4f}, "
          f"student {lee_student['student']:.4f} at {lee_student['speedup']:.1f}x); title pairs accuracy "
          f"{titles['accuracy']:.4f} (cosine {titles['baseline']['accuracy']:.4f}, student "
          f"{titles_student['student']:.4f} at {titles_student['speedup']:.1f}x)", flush=True)
    return {"lee": lee["spearman"], "lee_tfidf": lee["baseline"]["spearman"], "titles": titles["accuracy"],
            "titles_baseline": titles["baseline"]["accuracy"], "lee_kept": lee_student["kept"],
            "lee_speedup": lee_student["speedup"], "titles_kept": titles_student["kept"],
            "titles_speedup": titles_student["speedup"]}


def _mean(rows, key):
    return round(statistics.mean(r[key] for r in rows), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    work = tempfile.mkdtemp(prefix="tfbig-tasks-")
    common = [f"output_dir={work}/runs", f"export_dir={work}/exports", "data.test_fraction=0.2",
              "data.val_fraction=0.1", "train.early_stopping_patience=0", "train.checkpoint_every_steps=0"]
    common += (["train.epochs=1", "data.max_length=64", "data.batch_size=16", "train.learning_rate=1e-4"] if args.quick
               else ["train.epochs=3", "data.max_length=128", "data.batch_size=32"])
    start = time.time()
    v = [vader(work, s, args.quick, common) for s in seeds]
    d = [debtags(work, s, args.quick, common) for s in seeds]
    pr = [pairs(work, s, args.quick, common) for s in seeds]
    domains = list(v[0]["by_domain"])
    summary = {
        "quick": args.quick, "seeds": seeds,
        "vader_pearson": _mean(v, "pearson"),
        "vader_pearson_by_domain": {k: round(statistics.mean(r["by_domain"][k] for r in v), 4) for k in domains},
        "vader_baseline_pearson": _mean(v, "baseline"),
        "debtags_micro_f1": _mean(d, "micro"), "debtags_macro_f1": _mean(d, "macro"),
        "debtags_baseline_micro_f1": _mean(d, "baseline"),
        "lee_spearman": _mean(pr, "lee"), "lee_tfidf_spearman": _mean(pr, "lee_tfidf"),
        "title_pairs_acc": _mean(pr, "titles"), "title_pairs_baseline_acc": _mean(pr, "titles_baseline"),
        "distill_kept": {"vader": {"kept": _mean(v, "kept"), "speedup": _mean(v, "speedup")},
                         "debtags": {"kept": _mean(d, "kept"), "speedup": _mean(d, "speedup")},
                         "lee_pairs": {"kept": _mean(pr, "lee_kept"), "speedup": _mean(pr, "lee_speedup")},
                         "title_pairs": {"kept": _mean(pr, "titles_kept"), "speedup": _mean(pr, "titles_speedup")}},
        "seconds": round(time.time() - start, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
