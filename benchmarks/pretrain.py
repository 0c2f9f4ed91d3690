"""Pretraining (masked-language modelling): tfbig's training speed against transformers', and whether it pays.

Three parts (`--parts`, comma-separated):

- throughput: MiniLM's geometry (6 × 384, the bundled vocabulary), 128 tokens, batch 32, on the same texts
  (the Python-docs corpus cut into paragraphs, `data.documents: blank_line`). tfbig: `tfbig pretrain`'s model,
  optimizer and batches (packed rows, masks drawn in the graph, `train.precision: auto`). Reference: what a
  transformers user writes — `TFBertForMaskedLM` (random weights, float32), the paragraphs tokenized once
  beforehand (as `datasets.map` would, untimed), `DataCollatorForLanguageModeling` padding each batch to its
  longest row and masking 15% in Python, Adam, Keras' own train step (the one `model.fit` runs). The timed
  steps of the two sides are taken in turn (rounds of a few steps each, the first side alternating) so that
  the load of a shared machine weighs on both alike. Counted: non-padding tokens per second of training step;
  the padding share of each side's batches.
- learns: the `mini` preset (4 × 256) pretrained from scratch on the Python docs (configs/pretrain_mini.yaml,
  at most `--pretrain-minutes`), then fine-tuned on fortunes (configs/bbc_minilm.yaml's settings, data.source
  fortunes), against the same architecture fine-tuned from its random initialisation with the same budget;
  the fine-tune accuracies are means over `--seeds` seeds.
- adapt: all-MiniLM-L6-v2 continued one pass of MLM over the fortunes' *training* texts
  (configs/adapt_minilm.yaml: the test texts are never read), then fine-tuned, against MiniLM fine-tuned
  directly; means and standard deviations over the seeds.

Measured 2026-12-03 on the shared 2-core CPU under a load average of ~13 (other jobs running; steps took
30-45 s, so the absolute rates mean little and the ratio, measured side by side, is the figure):
`--parts throughput --rounds 3 --steps 2` (batch 32): reference 37.4 non-padding tokens/s (59.7% of its
batches' tokens were padding), tfbig 97.3 (float32, no padding): 2.60x. `--quick`: 3.12x at batch 16; its
learns/adapt parts ran a handful of steps only (9 pretraining steps: loss 10.39 -> 10.12), so their
accuracies (chance level, 0.10-0.15 on 10 categories) say nothing yet: the full parts were not run.

    python benchmarks/pretrain.py [--parts throughput,learns,adapt] [--quick]

`--quick` is a smoke run of a few minutes on 2 cores: batch 16 and two timed steps a side, a slice of the
Python docs (15 files) for one epoch, fortunes limited to 20 texts a category, one fine-tuning epoch, one seed.
On a loaded 2-core machine one MiniLM step of 32 × 128 takes tens of seconds: the full throughput part
(5 rounds × 4 steps a side) then takes ~20 minutes; `--rounds`/`--steps` shorten it.
The last line printed is one JSON object: hf_tokens_per_s, tfbig_tokens_per_s, speedup, pad_share (tfbig's
batches), hf_pad_share; mlm_loss_start, mlm_loss_end, masked_acc_end, finetune_acc_pretrained,
finetune_acc_scratch; adapt_acc, adapt_std, direct_acc, direct_std (the keys of the parts that ran).
"""
import argparse
import itertools
import json
import os
import statistics
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

from tfbig._keras import keras, tf  # noqa: E402

PRETRAIN_MINI = os.path.join(ROOT, "configs", "pretrain_mini.yaml")
ADAPT_MINILM = os.path.join(ROOT, "configs", "adapt_minilm.yaml")
FINETUNE = os.path.join(ROOT, "configs", "bbc_minilm.yaml")
FEATURES = ("input_ids", "attention_mask", "token_type_ids")


def pretrain_config(path: str, overrides: list):
    from tfbig.config import PretrainRunConfig, load_config

    return load_config(path, overrides, cls=PretrainRunConfig, check_model=False)


# throughput ---------------------------------------------------------------------------------------------------

def reference_side(model_dir: str, docs: list, batch: int, length: int, seed: int):
    """transformers' TFBertForMaskedLM and its data: (train function, iterator, per-batch (non-pad, all) counts)."""
    from transformers import BertConfig, BertTokenizerFast, DataCollatorForLanguageModeling, TFBertForMaskedLM

    keras.mixed_precision.set_global_policy("float32")
    keras.utils.set_random_seed(seed)
    tokenizer = BertTokenizerFast.from_pretrained(model_dir, local_files_only=True)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, return_tensors="np")
    encoded = tokenizer(docs, truncation=True, max_length=length)  # once, before: as datasets.map would
    examples = [{k: encoded[k][i] for k in FEATURES} for i in range(len(docs))]
    counts = []  # (non-padding tokens, all tokens) of each batch, in the order the model takes them

    def batches():
        while True:
            for start in range(0, len(examples) - batch + 1, batch):
                b = collator(examples[start:start + batch])
                counts.append((int(b["attention_mask"].sum()), int(b["input_ids"].size)))
                yield {k: b[k].astype(np.int32) for k in (*FEATURES, "labels")}

    spec = {k: tf.TensorSpec([None, None], tf.int32) for k in (*FEATURES, "labels")}
    ds = tf.data.Dataset.from_generator(batches, output_signature=spec).prefetch(2)
    model = TFBertForMaskedLM(BertConfig.from_pretrained(model_dir))
    model(model.dummy_inputs, training=False)
    model.compile(optimizer=keras.optimizers.Adam(1e-4))  # no loss given: the model's own masked-LM loss
    return model.make_train_function(), iter(ds), counts


def tfbig_side(model_dir: str, docs: list, batch: int, length: int, seed: int, source: str):
    """tfbig pretrain's model, optimizer and batches: (train function, iterator, the batches' CorpusEpochData, cfg)."""
    from tfbig.distribute import make_strategy
    from tfbig.distribute.precision import set_precision, wrap_optimizer
    from tfbig.jobs.pretrain_job import PretrainJob, pretrain_tokenizer
    from tfbig.tasks.registry import get_task
    from tfbig.train.build import build_mlm_model
    from tfbig.train.optimizers import build_optimizer

    cfg = pretrain_config(ADAPT_MINILM, [f"data.source={source}", "mlm.labelled_splits=false",
                                         f"data.batch_size={batch}", f"data.max_length={length}", f"seed={seed}"])
    strategy, plan = make_strategy(cfg)
    cfg = plan.apply(cfg)  # train.precision auto → what this hardware runs fastest, as `tfbig pretrain` does
    set_precision(cfg.train.precision)
    keras.utils.set_random_seed(seed)
    tokenizer = pretrain_tokenizer(cfg, model_dir)
    with strategy.scope():
        model = build_mlm_model(cfg, model_dir, get_task("mlm"), len(tokenizer.vocab))
        model.compile(optimizer=wrap_optimizer(build_optimizer(cfg.train, 1000), cfg.train.precision))
    keras.mixed_precision.set_global_policy("float32")
    data = PretrainJob().corpus_batches(cfg, lambda: iter(docs), tokenizer, batch)
    return model.make_train_function(), iter(data.epoch(0).repeat()), data, cfg


def step(fn, iterator) -> float:
    logs = fn(iterator)
    return float(np.asarray(next(iter(logs.values()))))  # the value read back: the step has finished


def throughput_part(args, out: dict) -> None:
    from tfbig.config import DataConfig
    from tfbig.data.corpora import corpus_documents
    from tfbig.model_folder import default_model_dir

    batch, length = (16, 128) if args.quick else (32, 128)
    rounds, per_round, warmup = (2, 1, 1) if args.quick else (args.rounds, args.steps, 2)
    model_dir = default_model_dir()
    corpus = corpus_documents(DataConfig(source=args.source, documents="blank_line"))
    docs = list(itertools.islice(corpus(), 1500 if args.quick else 8000))
    print(f"throughput: {len(docs):,} paragraphs of {args.source}, batch {batch} × {length} tokens, MiniLM geometry")
    hf_fn, hf_it, hf_counts = reference_side(model_dir, docs, batch, length, args.seed)
    tf_fn, tf_it, tf_data, cfg = tfbig_side(model_dir, docs, batch, length, args.seed, args.source)
    print(f"tfbig trains in {cfg.train.precision}; the reference in float32")
    sides = {"hf": (hf_fn, hf_it), "tfbig": (tf_fn, tf_it)}
    done = {name: 0 for name in sides}
    timed = {name: [] for name in sides}  # (first step index, steps, seconds) of each timed round
    for name, (fn, it) in sides.items():  # traces, and the optimizer's slots
        for _ in range(warmup):
            step(fn, it)
        done[name] += warmup
    for r in range(rounds):
        for name in (("hf", "tfbig") if r % 2 == 0 else ("tfbig", "hf")):
            fn, it = sides[name]
            start = time.perf_counter()
            loss = [step(fn, it) for _ in range(per_round)][-1]
            seconds = time.perf_counter() - start
            timed[name].append((done[name], per_round, seconds))
            done[name] += per_round
            print(f"round {r + 1} {name:5s}: {per_round} steps in {seconds:.1f} s (loss {loss:.2f})")
    # tfbig's batches are a pure function of (seed, epoch): the same stream, read again, gives their token counts.
    tf_counts = [(int(f["attention_mask"].numpy().sum()), int(f["attention_mask"].shape[0] * f["attention_mask"].shape[1]))
                 for f, _ in tf_data.epoch(0).repeat().take(done["tfbig"])]
    rates, pads = {}, {}
    for name, counts in (("hf", hf_counts), ("tfbig", tf_counts)):
        steps = [i for first, n, _ in timed[name] for i in range(first, first + n)]
        real, total = sum(counts[i][0] for i in steps), sum(counts[i][1] for i in steps)
        rates[name] = real / sum(s for _, _, s in timed[name])
        pads[name] = 1 - real / total
        per_round = [sum(counts[i][0] for i in range(f, f + n)) / s for f, n, s in timed[name]]
        print(f"{name:5s}: {rates[name]:,.0f} non-padding tokens/s (rounds: "
              f"{', '.join(f'{x:,.0f}' for x in per_round)}); padding {pads[name]:.1%} of its batches' tokens")
    speedup = rates["tfbig"] / rates["hf"]
    print(f"speed-up {speedup:.2f}x (bar: 1.5x); tfbig's padding share {pads['tfbig']:.2%} (bar: 1%)")
    out.update({"hf_tokens_per_s": round(rates["hf"], 1), "tfbig_tokens_per_s": round(rates["tfbig"], 1),
                "speedup": round(speedup, 3), "pad_share": round(pads["tfbig"], 4),
                "hf_pad_share": round(pads["hf"], 4), "tfbig_precision": cfg.train.precision})


# learns and adapt ------------------------------------------------------------------------------------------------

class FirstLoss(keras.callbacks.Callback):
    """The masked-LM loss of the first training batch (the loss before any learning shows)."""

    def __init__(self):
        super().__init__()
        self.value = None

    def on_train_batch_end(self, batch, logs=None):
        if self.value is None and logs:
            self.value = float(logs.get("mlm_loss", logs.get("loss")))


class TimeBudget(keras.callbacks.Callback):
    """Stops training once `seconds` have passed (checked after each batch)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.stopped_at = seconds, None

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if self.stopped_at is None and time.perf_counter() - self.start > self.seconds:
            self.stopped_at = int(self.model.optimizer.iterations.numpy())
            self.model.stop_training = True


def limited_job(limit: int):
    """A PretrainJob reading only the first `limit` documents of its corpus (0: all), both sides of the split."""
    from tfbig.jobs.pretrain_job import PretrainJob

    class LimitedJob(PretrainJob):
        def documents(self, cfg):
            train, val = super().documents(cfg)
            if not limit:
                return train, val
            def cut(fn):
                return lambda: itertools.islice(fn(), limit)
            return cut(train), (cut(val) if val is not None else None)

    return LimitedJob()


def finetune_accuracies(model_dir: str, tmp: str, tag: str, seeds: list, quick: bool) -> list:
    """Test accuracy on fortunes of `model_dir` fine-tuned with configs/bbc_minilm.yaml's settings, per seed."""
    from tfbig.config import load_config
    from tfbig.jobs.train_job import train_run

    values = []
    for seed in seeds:
        overrides = ["data.source=fortunes", f"model.model_dir={model_dir}", f"seed={seed}", "train.baseline=false",
                     "train.resume=false", f"name=ft_{tag}_{seed}", f"output_dir={tmp}/runs",
                     f"export_dir={tmp}/exports"]
        if quick:
            overrides += ["data.limit_per_class=20", "train.epochs=1"]
        report = train_run(load_config(FINETUNE, overrides))
        values.append(float(report["accuracy"]))
        print(f"  fine-tuned {tag}, seed {seed}: test accuracy {values[-1]:.4f}")
    return values


def mean_std(values: list) -> tuple:
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def random_mini_folder(tmp: str, seed: int) -> str:
    """The `mini` preset at its random initialisation, written as a Hugging Face folder (the scratch baseline)."""
    from tfbig.distribute.precision import set_precision
    from tfbig.jobs.pretrain_job import pretrain_tokenizer
    from tfbig.model_folder import default_model_dir
    from tfbig.models.hf_writer import write_bert_folder
    from tfbig.tasks.registry import get_task
    from tfbig.train.build import build_mlm_model

    cfg = pretrain_config(PRETRAIN_MINI, [f"seed={seed}"])
    set_precision("float32")
    keras.utils.set_random_seed(seed)
    model_dir = default_model_dir()
    tokenizer = pretrain_tokenizer(cfg, model_dir)
    model = build_mlm_model(cfg, model_dir, get_task("mlm"), len(tokenizer.vocab))
    return write_bert_folder(model, tokenizer, os.path.join(tmp, "mini_random"))


def learns_part(args, out: dict, tmp: str) -> None:
    from tfbig.jobs.pretrain_job import pretrain_run

    overrides = [f"output_dir={tmp}/runs", f"export_dir={tmp}/exports", "train.resume=false", f"seed={args.seed}"]
    limit = 0
    if args.quick:
        overrides += ["data.batch_size=32", "train.epochs=1", "data.val_fraction=0.05"]
        limit = 15  # .rst.txt files: a few dozen steps
    else:
        overrides += [f"train.epochs={args.pretrain_epochs}"]
    first, budget = FirstLoss(), TimeBudget(args.pretrain_minutes * 60)
    start = time.perf_counter()
    report = pretrain_run(pretrain_config(PRETRAIN_MINI, overrides), extra_callbacks=[first, budget],
                          job=limited_job(limit))
    print(f"learns: mini pretrained on pydocs for {report['steps']} steps in {time.perf_counter() - start:.0f} s"
          f"{' (stopped by the time budget)' if budget.stopped_at is not None else ''}: masked-LM loss "
          f"{first.value:.3f} → {report['mlm_loss']:.3f} ({report['evaluated_on']}), masked accuracy "
          f"{report['masked_accuracy']:.3f}")
    seeds = [args.seed] if args.quick else list(range(args.seeds))
    pretrained = finetune_accuracies(report["encoder"], tmp, "pretrained_mini", seeds, args.quick)
    scratch = finetune_accuracies(random_mini_folder(tmp, args.seed), tmp, "scratch_mini", seeds, args.quick)
    (p, p_sd), (s, s_sd) = mean_std(pretrained), mean_std(scratch)
    print(f"fortunes: pretrained mini {p:.4f} ± {p_sd:.4f}, from random initialisation {s:.4f} ± {s_sd:.4f} "
          f"({(p - s) * 100:+.1f} points; bar: +5)")
    out.update({"mlm_loss_start": round(first.value, 4), "mlm_loss_end": round(report["mlm_loss"], 4),
                "masked_acc_end": round(report["masked_accuracy"], 4), "pretrain_steps": report["steps"],
                "finetune_acc_pretrained": round(p, 4), "finetune_acc_scratch": round(s, 4)})


def adapt_part(args, out: dict, tmp: str) -> None:
    from tfbig.jobs.pretrain_job import pretrain_run
    from tfbig.model_folder import default_model_dir

    overrides = [f"output_dir={tmp}/runs", f"export_dir={tmp}/exports", "train.resume=false", f"seed={args.seed}"]
    if args.quick:
        overrides += ["data.limit_per_class=20"]  # the same split the quick fine-tunes make
    start = time.perf_counter()
    report = pretrain_run(pretrain_config(ADAPT_MINILM, overrides))
    print(f"adapt: MiniLM continued on the fortunes' training texts, {report['steps']} steps in "
          f"{time.perf_counter() - start:.0f} s; held-out masked-LM loss {report['mlm_loss']:.3f}")
    seeds = [args.seed] if args.quick else list(range(args.seeds))
    adapted = finetune_accuracies(report["encoder"], tmp, "adapted", seeds, args.quick)
    direct = finetune_accuracies(default_model_dir(), tmp, "direct", seeds, args.quick)
    (a, a_sd), (d, d_sd) = mean_std(adapted), mean_std(direct)
    print(f"fortunes: adapted MiniLM {a:.4f} ± {a_sd:.4f}, MiniLM directly {d:.4f} ± {d_sd:.4f}")
    out.update({"adapt_acc": round(a, 4), "adapt_std": round(a_sd, 4), "direct_acc": round(d, 4),
                "direct_std": round(d_sd, 4)})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--parts", default="throughput,learns,adapt")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--source", default="pydocs", help="the throughput part's corpus (data.source)")
    p.add_argument("--rounds", type=int, default=5, help="throughput: timed rounds per side")
    p.add_argument("--steps", type=int, default=4, help="throughput: steps per round")
    p.add_argument("--pretrain-minutes", type=float, default=20.0, help="learns: the pretraining budget")
    p.add_argument("--pretrain-epochs", type=int, default=10, help="learns: epochs planned (the schedule's length)")
    p.add_argument("--seeds", type=int, default=3, help="fine-tuning seeds (--quick: one)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    parts, out = [x for x in args.parts.split(",") if x], {}
    unknown = set(parts) - {"throughput", "learns", "adapt"}
    if unknown:
        p.error(f"unknown parts: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory() as tmp:
        if "throughput" in parts:
            throughput_part(args, out)
        if "learns" in parts:
            learns_part(args, out, tmp)
        if "adapt" in parts:
            adapt_part(args, out, tmp)
    out["quick"] = bool(args.quick)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
