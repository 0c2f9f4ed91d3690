"""`benchmarks/distill.py --stages general,task`: two-stage distillation (TinyBERT): general distillation of the
bundled MiniLM into a small student on an unlabelled corpus, then task distillation from a fine-tuned MiniLM
on each dataset, against the same student without the general stage (random init, same task budget) and,
on fortunes, without augmentation.

    python benchmarks/distill.py --stages general,task [--data bbc,fortunes] [--corpus enwiki_sample]
                                 [--preset tiny] [--seeds 3] [--quick]

The last line is one JSON object: speedup, kept_bbc, kept_fortunes, student_shape, kept_no_general_bbc,
kept_no_general_fortunes, kept_no_augmentation_fortunes, general_minutes, corpus_tokens (and the accuracies).
kept = the student's test accuracy ÷ the teacher's, the mean over --seeds task-stage seeds.

Measured 2026-12-02, --quick only (shared 2-core CPU, load ~10; 8 enwiki documents × 3,000 characters, teachers
fine-tuned 1 epoch on 12 examples a class, 1 task epoch: the accuracies say nothing, the pipeline runs end to
end in ~20 min): student tiny = L2-H128-A2-I512, 21.5× the MiniLM teacher's examples/s at 64 × 128
(13.2 vs 283.0). The full run (3 general epochs on enwiki_sample, 3 seeds, both datasets) is hours on 2 cores
and has not been run.
"""
import json
import os
import time

import numpy as np

QUICK_DOCS, QUICK_CHARS = 8, 3000  # --quick: the general stage reads this much of the corpus


def small_corpus(out: str, source: str, docs: int, chars: int) -> str:
    """A folder of the first `docs` documents of corpus `source`, each cut to `chars` characters."""
    from tfbig.config import DataConfig
    from tfbig.data.corpora import corpus_documents

    folder = os.path.join(out, f"corpus_{source}_{docs}")
    os.makedirs(folder, exist_ok=True)
    for i, doc in zip(range(docs), corpus_documents(DataConfig(source=source))()):
        with open(os.path.join(folder, f"{i:04d}.txt"), "w", encoding="utf-8") as f:
            f.write(doc[:chars])
    return folder


def general_stage(args) -> dict:
    from tfbig.distill.config import load_general_config
    from tfbig.jobs.general_distill_job import general_distill_run

    corpus = small_corpus(args.out, args.corpus, QUICK_DOCS, QUICK_CHARS) if args.quick else args.corpus
    overrides = [f"output_dir={args.out}/runs", f"export_dir={args.out}/exports", f"name=general_{args.preset}",
                 f"data.source={corpus}", f"general.preset={args.preset}", "data.val_fraction=0.05",
                 "train.early_stopping_patience=0", "train.learning_rate=5e-4", "train.epochs=3",
                 "data.max_length=128", "data.batch_size=32"]
    if args.quick:
        overrides += ["data.max_length=64", "data.batch_size=8", "train.epochs=1", "data.val_fraction=0.2"]
    cfg = load_general_config(None, overrides + args.general_set)
    start = time.time()
    report = general_distill_run(cfg)
    report["minutes"] = round((time.time() - start) / 60, 2)
    print(f"general stage: {report['student_shape']} in {report['minutes']} min on {report['corpus_tokens_per_epoch']:,} "
          f"tokens an epoch; validation loss {report['loss']:.4f}")
    return report


def task_stage(args, data: str, teacher_dir: str, seed: int, encoder: str | None, augment: bool) -> dict:
    """One task distillation: the general student (`encoder`) or, when None, the same shape from scratch."""
    from tfbig.distill.config import load_distill_config
    from tfbig.jobs.distill_job import distill_run

    config = f"configs/{data}_student.yaml" if os.path.isfile(f"configs/{data}_student.yaml") else \
        "configs/bbc_student.yaml"
    tag = f"{'general' if encoder else 'scratch'}{'_aug' if augment else ''}_s{seed}"
    overrides = [f"output_dir={args.out}/runs", f"export_dir={args.out}/exports", f"name=task_{data}_{tag}",
                 f"seed={seed}", "model.backbone=tfbig", f"distill.augment_copies={(1 if args.quick else 2) * augment}"]
    overrides += [f"student.init=folder", f"student.model_dir={encoder}"] if encoder else \
        ["student.init=scratch", f"student.preset={args.preset}"]
    if args.quick:
        overrides += ["train.epochs=1"]
    cfg = load_distill_config(config, overrides + args.set, teachers=[teacher_dir])
    report = distill_run(cfg)
    print(f"{data} {tag}: accuracy {report['accuracy']:.4f} (teacher {report['teacher_accuracy']:.4f})")
    return report


def run_stages(args) -> None:
    from benchmarks.distill import fine_tune_teacher, throughput, vocab_size
    from tfbig.distill.student import build_student
    from tfbig.jobs.distill_job import load_teacher

    stages = set(args.stages.split(","))
    datasets = (args.data or "bbc,fortunes").split(",")
    seeds = range(1 if args.quick else args.seeds)
    general = general_stage(args) if "general" in stages else None
    encoder = general["encoder"] if general else None
    out, accs = {"student_shape": general["student_shape"] if general else args.preset}, {}
    if general:
        out.update({"general_minutes": general["minutes"], "corpus_tokens": general["corpus_tokens_per_epoch"],
                    "general_val_loss": round(general["loss"], 4)})
    teacher = None
    for data in datasets:
        teacher_dir = args.teacher if args.teacher and len(datasets) == 1 else fine_tune_teacher(args.out, args.quick, data)
        variants = {"kept": (encoder, True), "kept_no_general": (None, True)}
        if data == "fortunes":
            variants["kept_no_augmentation"] = (encoder, False)
        for key, (enc, augment) in variants.items():
            if key != "kept_no_general" and "general" not in stages:
                continue
            reports = [task_stage(args, data, teacher_dir, s, enc, augment) for s in seeds]
            acc = float(np.mean([r["accuracy"] for r in reports]))
            t_acc = reports[0]["teacher_accuracy"]
            accs[f"{key}_{data}"] = (acc, t_acc)
            out[f"{key}_{data}"] = round(acc / t_acc, 4)
            out[f"acc_{key}_{data}"] = round(acc, 4)
        out[f"teacher_acc_{data}"] = round(t_acc, 4)
        teacher = load_teacher(teacher_dir)[0]
    if encoder and teacher is not None:
        student = build_student(teacher, len(teacher.task.labels), init="folder", model_dir=encoder)
        speed = throughput({"teacher": teacher, "student": student}, vocab_size(teacher),
                           seconds=3.0 if args.quick else 15.0)
        out.update({"speedup": round(speed["student"] / speed["teacher"], 2),
                    "teacher_ex_per_s": round(speed["teacher"], 1), "student_ex_per_s": round(speed["student"], 1)})
    print(f"\n{'student':<34}{'kept':>8}")
    for key, (acc, t_acc) in accs.items():
        print(f"{key:<34}{acc / t_acc:>8.1%}")
    if "speedup" in out:
        print(f"student {out['student_shape']}: {out['speedup']}x the teacher's examples/s (64 x 128); bars: >= 9.4x, "
              f">= 97% kept on bbc and fortunes")
    print(json.dumps(out))
