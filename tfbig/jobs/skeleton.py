"""The one run skeleton: strategy → precision → data → model inside the scope → fit_resumable → test
report → export → run folder. Every job (train, distill, ...) is a `Job` that fills in its steps, so each
gets the strategy, precision, resume, accumulation, `data.on_error` and the run-folder lock by construction.
"""
import dataclasses
import logging
import os
import time

import yaml

from tfbig._keras import keras
from tfbig.data.shard_reader import ShardErrors
from tfbig.distribute import backup_callbacks, make_strategy, shard_per_worker
from tfbig.distribute.cluster import num_workers
from tfbig.distribute.precision import export_policy, set_precision, wrap_optimizer
from tfbig.io_utils import atomic_write_text
from tfbig.models.lora import save_run_adapters
from tfbig.plan.from_config import log_plan
from tfbig.reports.floor import class_counts, compare_to_floor, floor_check
from tfbig.runs.folder import RunFolder
from tfbig.runs.rebuild import rebuild_in_policy
from tfbig.tasks.registry import get_task
from tfbig.train.budget import resolve_budget
from tfbig.train.callbacks import write_test_summaries
from tfbig.train.class_weights import set_class_weights
from tfbig.train.epoch_data import EpochData
from tfbig.train.evaluation import evaluate_split, split_outputs
from tfbig.train.fit import fit_resumable, resume_folder, weights_note
from tfbig.train.optimizers import build_optimizer
from tfbig.train.resume import checkpointable_dropout

log = logging.getLogger(__name__)


class Job:
    """What one kind of run does at each step of `run_job`; the defaults are a plain fine-tuning run."""

    kind = "train"

    def load_data(self, cfg):
        """The run's tfbig.train.data.RunData (splits, tokenizer, fitted task)."""
        raise NotImplementedError

    def build_model(self, cfg, data):
        """The model `fit` trains; called inside the strategy's scope."""
        raise NotImplementedError

    def train_data(self, cfg, data, model) -> EpochData:
        """The training batches of every epoch (micro-batch size × accumulation steps per batch)."""
        d, t = cfg.data, cfg.train
        return EpochData.from_split(data.splits.train, data.task, data.tokenizer, d.batch_size * t.accumulation_steps,
                                    seed=cfg.seed, bucketing=d.bucketing, static_shapes=d.static_shapes,
                                    on_error=d.on_error)

    def served_model(self, model):
        """The model that is evaluated, exported and saved (a distillation's student)."""
        return model

    def report_extras(self, cfg, data, model, report: dict) -> dict:
        """Job-specific entries of report.json."""
        return {}

    def val_data(self, cfg, data):
        """The validation batches fit reports on after each epoch, or None."""
        d = cfg.data
        if not len(data.splits.val):
            return None
        return data.task.split_dataset(data.splits.val, data.tokenizer, d.batch_size, bucketing=d.bucketing,
                                       static_shapes=d.static_shapes, on_error=d.on_error)

    def evaluate(self, cfg, data, served, val_ds) -> dict:
        """The report of the finished model: the task's report on the test split."""
        splits, task, tok = data.splits, data.task, data.tokenizer
        if task.tunes_on_validation and len(splits.val):  # thresholds and the like, before the test split is seen
            task.tune(*split_outputs(served, splits.val, task, tok, cfg.data.batch_size))
        log.info("evaluating on the test split (%d examples)", len(splits.test))
        return evaluate_split(served, splits.test, task, tok, cfg.data.batch_size)

    def split_sizes(self, data) -> dict:
        """report.json's split_sizes."""
        splits = data.splits
        return {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)}

    def export(self, cfg, data, served, folder) -> dict:
        """Writes what a finished run hands on; returns report.json's entries for it (the SavedModel's path)."""
        from tfbig.export.saved_model import export_saved_model

        return {"export": export_saved_model(exported_model(cfg, served, data.task), data.tokenizer, data.task,
                                             os.path.join(cfg.export_dir, cfg.name),
                                             assets={"config.yaml": folder.config_text()},
                                             int8=cfg.export_precision == "int8")}


def exported_model(cfg, served, task):
    """The served model as `cfg.export_precision` asks it to compute: itself, or its twin in another policy."""
    policy = export_policy(cfg.export_precision, cfg.train.precision, cfg.model.backbone)
    if policy == cfg.train.precision:
        return served
    log.info("export computes in %s (trained in %s)", policy, cfg.train.precision)
    return rebuild_in_policy(cfg, served, policy, task.labels, load_teacher=lambda path: RunFolder(path).load_model())


def markdown_details(task, job, best: dict) -> dict:
    """The lines under report.md's title: task, job and which epoch's weights the run ended on."""
    details = {"task": task.name, "job": job.kind}
    if best:
        details["weights"] = weights_note(best)
    return details


def keep_resumed_precision(cfg, requested: str):
    """`cfg` with the precision an interrupted run of the same folder resolved `train.precision: auto` to.

    `auto` is decided by the hardware (on a CPU with bfloat16 by a matmul timed once per machine), so a rerun
    elsewhere, or after the stored measurement was deleted, could otherwise pick another policy than the
    checkpoint was trained in and not continue exactly."""
    folder = RunFolder(cfg.run_dir)
    if requested != "auto" or not cfg.train.resume or not os.path.isdir(resume_folder(cfg.run_dir)):
        return cfg
    if not os.path.exists(folder.config_path):
        return cfg
    with open(folder.config_path, encoding="utf-8") as f:  # any job's config.yaml (pretrain, general, ...)
        recorded = ((yaml.safe_load(f) or {}).get("train") or {}).get("precision", "auto")
    if recorded in ("auto", cfg.train.precision):
        return cfg
    log.info("train.precision auto: %s, as the interrupted run resolved it (this process would pick %s)",
             recorded, cfg.train.precision)
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, precision=recorded))


def run_job(cfg, job: Job, extra_callbacks: list | None = None) -> dict:
    """Runs `job` from `cfg`: trains, evaluates on the test split, writes the run folder and exports.

    extra_callbacks: Keras callbacks added to fit's (benchmarks use one to time accuracy per epoch).
    Returns the report (also in <run>/report.json).
    """
    get_task(getattr(cfg, "task", "classification"))  # an unknown task name: refused before anything is read
    strategy, plan = make_strategy(cfg)  # first: multi-worker setup and logical devices must precede any TF op
    requested_precision = cfg.train.precision
    cfg = plan.apply(cfg)  # a copy with the hardware's decisions (precision, static shapes, ...): config.yaml records them
    cfg = keep_resumed_precision(cfg, requested_precision)
    keras.utils.set_random_seed(cfg.seed)
    set_precision(cfg.train.precision)  # before any layer is built: layers take the global policy
    folder = RunFolder(cfg.run_dir)
    with folder.lock():
        return _run_locked(cfg, job, strategy, folder, extra_callbacks)


def _run_locked(cfg, job, strategy, folder, extra_callbacks):
    d, t = cfg.data, cfg.train
    folder.write_config(cfg)
    log_plan(cfg)  # the memory plan `tfbig plan` prints, in the run's log
    data = job.load_data(cfg)
    splits, task = data.splits, data.task
    folder.write_labels(task.labels)
    class_weights = None
    if splits is not None:  # a corpus job (pretraining) has no labelled splits
        class_weights = set_class_weights(task, splits.train, t.class_weights)  # before the model traces its loss
    val_ds = shard_per_worker(job.val_data(cfg, data))
    with strategy.scope(), checkpointable_dropout():
        model = job.build_model(cfg, data)
    train = job.train_data(cfg, data, model)
    with ShardErrors():  # a bad shard record: one line naming the file and record, not a traceback
        steps_per_epoch = train.steps_per_epoch  # counted: each length bucket ends on its own partial batch
    # train.epochs auto becomes a number here, before anything does arithmetic with it (the schedule, fit,
    # the summaries): from here on cfg.train holds the planned epochs and the patience that goes with them.
    epochs, budget = resolve_budget(t, steps_per_epoch)
    log.info("budget: %d epoch(s) × %d step(s) = %d steps planned (%s)", epochs, steps_per_epoch,
             budget["planned_steps"], budget["why"])
    t = dataclasses.replace(t, epochs=epochs, early_stopping_patience=budget["patience"])
    cfg = dataclasses.replace(cfg, train=t)
    with strategy.scope(), checkpointable_dropout():
        optimizer = wrap_optimizer(build_optimizer(t, steps_per_epoch * t.epochs), t.precision)
        model.compile(optimizer=optimizer, steps_per_execution=t.steps_per_execution)

    log.info("training: %d epoch(s) of %d step(s), batch %d", t.epochs, steps_per_epoch,
             d.batch_size * t.accumulation_steps)
    start = time.time()
    # A cluster restores through Keras' BackupAndRestore, which every worker reads; a single process uses
    # tfbig's own resume (exact data position and RNG). Both at once would fight over fit's state.
    backups = backup_callbacks(cfg.runtime) if num_workers() > 1 else []
    served = job.served_model(model)
    with ShardErrors():
        fit = fit_resumable(cfg, model, train, val_ds, task, cfg.run_dir, transform=shard_per_worker,
                            extra_callbacks=backups + list(extra_callbacks or []), own_resume=not backups)
        train_seconds = time.time() - start
        report = job.evaluate(cfg, data, served, val_ds)  # logs one "evaluating ..." line
    epochs_run = len(fit.history.epoch) if fit.history else 0  # in this process: a resumed run counts the rest
    report.update({"task": task.name, "job": job.kind, "train_seconds": round(train_seconds, 1),
                   "epochs_run": epochs_run, "resumed_from_step": fit.start_step, "steps": fit.end_step,
                   "steps_planned": steps_per_epoch * t.epochs, "best": fit.best,
                   "split_sizes": job.split_sizes(data),
                   "cleaning": data.cleaning, "budget": budget})
    if class_weights:
        report["class_weights"] = class_weights
    report.update(job.report_extras(cfg, data, model, report))
    if t.baseline and splits is not None:
        floor = task.split_baseline(splits.train, splits.val, splits.test, cfg.seed)
        if floor is not None:
            report["baseline"] = floor
            report["floor"] = compare_to_floor(task.floor_metrics(report), task.floor_metrics(floor))
    images = task.write_report(report, cfg.run_dir)
    write_test_summaries(cfg.run_dir, report, t.epochs, task)
    report.update(job.export(cfg, data, served, folder))
    folder.save_weights(served)
    report.update(save_run_adapters(cfg, served, folder.path))  # LoRA runs: the adapters alone, a small file
    folder.write_report(report)
    atomic_write_text(os.path.join(folder.path, "report.md"),
                      task.markdown(report, f"{cfg.name}: test split", markdown_details(task, job, fit.best), images))
    warning = floor_check(report, fit.history.history if fit.history else None,
                          class_counts(getattr(splits.train, "labels", None)) if splits is not None else None)
    if warning:  # last, so it is the line the user sees when the run ends
        log.warning(warning)
    return report
