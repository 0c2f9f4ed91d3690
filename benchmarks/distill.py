"""Distillation on BBC News: fine-tuned MiniLM teacher → a student taken from its layers, against the same
student trained on labels only; accuracy kept, parameters, inference throughput, and the teacher-logit cache.

    python benchmarks/distill.py [--teacher RUN_DIR] [--config configs/bbc_student.yaml] [--quick]
    python benchmarks/distill.py --data fortunes     # Debian fortunes, 10 categories: short, hard texts
    python benchmarks/distill.py --stages general,task [--quick]   # two-stage (benchmarks/general_distill.py)

Without --teacher, the teacher is fine-tuned here from configs/bbc_minilm.yaml on --data (default bbc; same
split as elsewhere). The last line is one JSON object: data, teacher_acc, student_kd_acc, student_labels_acc, kept, teacher_ex_per_s,
student_ex_per_s, speedup, cache_speedup.

Measured 2026-11-29 on the shared 2-core CPU (load ~10), teacher = a MiniLM `tfbig train` run (epoch 2 of 3),
`--teacher RUN_DIR`, student = configs/bbc_student.yaml (teacher layer 0 only, 5 epochs, T=2, alpha=0.5):
teacher 0.9765, distilled 0.9647 (kept 98.8%), labels only 0.9553; 34.9 vs 200.0 ex/s (5.72x);
cached logits make a distillation step 2.13x faster.

Fortunes (`--data fortunes`: teacher fine-tuned here with bbc_minilm.yaml on data.source=fortunes, 10 classes,
2,248 train / 643 test), measured 2026-11-29, teacher 0.8336:
- configs/bbc_student.yaml (1 layer, T=2, alpha 0.5, 5 epochs): distilled 0.7558 (kept 90.7%), labels only
  0.7512, 5.76x the teacher's throughput: the gap shows.
- the same with 3 teacher layers [0, 2, 4]: distilled 0.8165 (97.9%), labels only 0.8227, only 1.98x.
- `--config configs/fortunes_student.yaml` (1 layer, T=4, alpha 0.3, 10 epochs): distilled 0.8134 (kept 97.6%),
  labels only (same 10 epochs) 0.7994, 5.76x, cache 2.41x. Three settings were tried; the validation accuracy
  ranked them as the test accuracy did.
"""
import argparse
import json
import logging
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tfbig._keras import keras, tf  # noqa: E402
from tfbig.config import load_config  # noqa: E402
from tfbig.data.pipeline import make_dataset  # noqa: E402
from tfbig.distill.cache import compute_teacher_logits, with_teacher_logits  # noqa: E402
from tfbig.distill.config import load_distill_config  # noqa: E402
from tfbig.distill.model import DistillationModel  # noqa: E402
from tfbig.jobs.distill_job import distill_run, load_teacher  # noqa: E402
from tfbig.distill.student import build_student  # noqa: E402
from tfbig.train.budget import resolve_budget  # noqa: E402
from tfbig.train.optimizers import build_optimizer  # noqa: E402
from tfbig.jobs.train_job import train_run
from tfbig.train.data import label_ids, load_run_data
from tfbig.train.evaluation import evaluate_split  # noqa: E402


def fine_tune_teacher(out: str, quick: bool, data: str = "bbc") -> str:
    overrides = [f"output_dir={out}/runs", f"export_dir={out}/exports", f"name=teacher_{data}",
                 "train.baseline=false", "train.early_stopping_patience=0", f"data.source={data}"]
    if quick:
        overrides += ["data.limit_per_class=12", "data.max_length=32", "train.epochs=1"]
    cfg = load_config("configs/bbc_minilm.yaml", overrides)
    start = time.time()
    report = train_run(cfg)
    print(f"teacher fine-tuned in {time.time() - start:.0f} s: test accuracy {report['accuracy']:.4f}")
    return cfg.run_dir


def labels_only_student(cfg, teacher) -> float:
    """The same student, same init, optimizer and epochs, trained on the labels alone."""
    keras.utils.set_random_seed(cfg.seed)
    prep, d, t, s = load_run_data(cfg), cfg.data, cfg.train, cfg.student
    splits = prep.splits
    student = build_student(teacher, len(splits.labels), init=s.init, num_layers=s.num_layers,
                            teacher_layers=[int(i) for i in s.teacher_layers], preset=s.preset,
                            dropout=cfg.model.dropout, backbone_dropout=cfg.model.backbone_dropout)
    train_ds = make_dataset(splits.train.texts, label_ids(splits.train, splits.labels), prep.tokenizer,
                            d.batch_size, shuffle=True, seed=cfg.seed, bucketing=d.bucketing)
    steps = -(-len(splits.train) // d.batch_size)
    epochs, _ = resolve_budget(t, steps)  # train.epochs may be auto
    student.compile(optimizer=build_optimizer(t, steps * epochs))
    student.fit(train_ds, epochs=epochs, verbose=2)
    return evaluate_split(student, splits.test, prep.task, prep.tokenizer, d.batch_size)["accuracy"]


def throughput(models: dict, vocab_size: int, batch: int = 64, length: int = 128, seconds: float = 15.0) -> dict:
    """Inference examples/s at (batch, length), measured in alternating rounds so load changes hit all alike."""
    rng = np.random.default_rng(0)
    ids = tf.constant(rng.integers(1000, vocab_size, (batch, length)), tf.int32)
    x = {"input_ids": ids, "attention_mask": tf.ones_like(ids), "token_type_ids": tf.zeros_like(ids)}
    fns = {name: tf.function(lambda x, m=m: m(x, training=False)) for name, m in models.items()}
    for fn in fns.values():
        fn(x).numpy()  # trace and warm up
    spent, done = dict.fromkeys(fns, 0.0), dict.fromkeys(fns, 0)
    while min(spent.values()) < seconds:
        for name, fn in fns.items():
            start = time.perf_counter()
            fn(x).numpy()
            spent[name] += time.perf_counter() - start
            done[name] += batch
    return {name: done[name] / spent[name] for name in fns}


def vocab_size(classifier) -> int:
    backbone = classifier.backbone
    return backbone.vocab_size if hasattr(backbone, "vocab_size") else backbone.bert.config.vocab_size


def cache_speedup(cfg, teacher, steps: int = 6) -> float:
    """Seconds per distillation step with the teacher live ÷ with cached logits, same batches, same student."""
    prep, d, s = load_run_data(cfg), cfg.data, cfg.student
    splits = prep.splits
    texts = splits.train.texts[: steps * d.batch_size]
    ids = label_ids(splits.train, splits.labels)[: len(texts)]
    logits = compute_teacher_logits(teacher, texts, prep.tokenizer, d.batch_size)
    batches = list(with_teacher_logits(texts, ids, logits, prep.tokenizer, d.batch_size, static_shapes=True))
    student = build_student(teacher, len(splits.labels), init=s.init, num_layers=s.num_layers,
                            teacher_layers=[int(i) for i in s.teacher_layers], preset=s.preset)
    model = DistillationModel(teacher, student, temperature=cfg.distill.temperature, alpha=cfg.distill.alpha)
    model.compile(optimizer=keras.optimizers.Adam(1e-5))
    live = lambda x, y, t: model.train_on_batch(x, y)  # noqa: E731
    cached = lambda x, y, t: model.train_on_batch(x, (y, t))  # noqa: E731
    spent = {"live": 0.0, "cached": 0.0}
    for name, step in (("live", live), ("cached", cached)):
        x, (y, t) = batches[0]
        step(x, y, t)  # trace
    for x, (y, t) in batches:  # alternate, so load changes hit both
        for name, step in (("live", live), ("cached", cached)):
            start = time.perf_counter()
            step(x, y, t)
            spent[name] += time.perf_counter() - start
    return spent["live"] / spent["cached"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--teacher", help="a `tfbig train` run folder of MiniLM; default: fine-tune one on --data")
    parser.add_argument("--data", default=None, help="data.source of the teacher fine-tuned here: bbc (default) | "
                        "fortunes; --stages general,task: a comma list (default bbc,fortunes)")
    parser.add_argument("--config", default="configs/bbc_student.yaml")
    parser.add_argument("--set", action="append", default=[], help="override a student config value")
    parser.add_argument("--out", default="/tmp/tfbig-bench-distill", help="run folders and exports go here")
    parser.add_argument("--quick", action="store_true", help="a smoke run on a few examples")
    parser.add_argument("--stages", default="task",
                        help="task: the comparison above (default); general,task: general distillation on --corpus, "
                             "then task distillation on each --data (benchmarks/general_distill.py)")
    parser.add_argument("--corpus", default="enwiki_sample", help="--stages general,task: the unlabelled corpus")
    parser.add_argument("--preset", default="tiny", help="--stages general,task: the student's shape (tfbig.models.presets)")
    parser.add_argument("--seeds", type=int, default=3, help="--stages general,task: task-stage seeds (mean)")
    parser.add_argument("--general-set", action="append", default=[], help="override a general-stage config value")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("tfbig").setLevel(logging.INFO)
    if args.stages != "task":
        from benchmarks.general_distill import run_stages

        return run_stages(args)
    args.data = args.data or "bbc"

    teacher_dir = args.teacher or fine_tune_teacher(args.out, args.quick, args.data)
    overrides = [f"output_dir={args.out}/runs", f"export_dir={args.out}/exports",
                 f"name=student_kd_{args.data}"] + args.set
    if args.quick:
        overrides += ["train.epochs=1"]
    cfg = load_distill_config(args.config, overrides, teachers=[teacher_dir])
    kd = distill_run(cfg)
    teacher, _, labels = load_teacher(teacher_dir)
    print(f"distilled student: accuracy {kd['accuracy']:.4f}, teacher {kd['teacher_accuracy']:.4f}, "
          f"epochs {kd['epoch_seconds']} s, teacher logits cached in {kd['teacher_logits_seconds']} s")
    labels_acc = labels_only_student(cfg, teacher)
    print(f"labels-only student: accuracy {labels_acc:.4f}")

    student = build_student(teacher, len(labels), init=cfg.student.init, num_layers=cfg.student.num_layers,
                            teacher_layers=[int(i) for i in cfg.student.teacher_layers], preset=cfg.student.preset)
    speed = throughput({"teacher": teacher, "student": student}, vocab_size(teacher),
                       seconds=3.0 if args.quick else 15.0)
    cache = cache_speedup(cfg, teacher, steps=2 if args.quick else 6)

    t_acc, s_acc = kd["teacher_accuracy"], kd["accuracy"]
    print(f"\n{'model':<22}{'params':>12}{'test acc':>10}{'ex/s (64x128)':>15}")
    print(f"{'teacher (MiniLM L6)':<22}{teacher.count_params():>12,}{t_acc:>10.4f}{speed['teacher']:>15.1f}")
    print(f"{'student, distilled':<22}{student.count_params():>12,}{s_acc:>10.4f}{speed['student']:>15.1f}")
    print(f"{'student, labels only':<22}{student.count_params():>12,}{labels_acc:>10.4f}{speed['student']:>15.1f}")
    print(f"kept {s_acc / t_acc:.1%} of the teacher's accuracy at {speed['student'] / speed['teacher']:.2f}x its "
          f"throughput (bar: >= 97% at >= 5x); distillation - labels only = {s_acc - labels_acc:+.4f}")
    print(f"teacher-logit cache: a distillation step is {cache:.2f}x faster than with the teacher live "
          f"(run estimate {kd.get('cache_speedup_estimate')})")
    print(json.dumps({
        "data": cfg.data.source, "teacher_acc": round(t_acc, 4), "student_kd_acc": round(s_acc, 4), "student_labels_acc": round(labels_acc, 4),
        "kept": round(s_acc / t_acc, 4), "teacher_ex_per_s": round(speed["teacher"], 1),
        "student_ex_per_s": round(speed["student"], 1), "speedup": round(speed["student"] / speed["teacher"], 2),
        "cache_speedup": round(cache, 2),
    }))


if __name__ == "__main__":
    main()
