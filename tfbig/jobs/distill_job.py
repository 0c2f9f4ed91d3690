"""`tfbig distill`: teacher run folder(s) → student, through the same run skeleton as `tfbig train`.

The student therefore gets the strategy, precision, resume, accumulation, `data.on_error`, the counted
steps per epoch (the schedule ends exactly at the last step) and the run-folder lock of every run.
"""
import copy
import logging
import os
import time

from tfbig._keras import keras
from tfbig.distill.cache import compute_teacher_logits
from tfbig.distill.config import check_same_split, parse_layer_map
from tfbig.distill.model import DistillationModel
from tfbig.distill.student import student_of
from tfbig.errors import UserError
from tfbig.jobs.skeleton import Job, run_job
from tfbig.train.data import load_run_data
from tfbig.train.epoch_data import EpochData
from tfbig.train.evaluation import evaluate_split

log = logging.getLogger(__name__)


def load_teacher(run_dir: str):
    """The TaskModel a finished run folder holds, with its final weights; its config; its labels."""
    from tfbig.runs.folder import RunFolder

    folder = RunFolder(run_dir)
    return folder.load_model(), folder.read_config(), folder.read_labels()


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(round(time.time() - self._start, 2))


class DistillJob(Job):
    kind = "distill"

    def __init__(self, teacher_configs: list):
        self.teacher_configs = teacher_configs  # (run_dir, RunConfig, labels) of each teacher
        self.timer = EpochTimer()
        self.cache_seconds = None
        self.teachers = []

    def callbacks(self):
        return [self.timer]

    def load_data(self, cfg):
        data = load_run_data(cfg)
        labels = self.teacher_configs[0][2]
        if data.task.labels != labels:
            raise UserError(f"the data has labels {data.task.labels}; the teacher was trained on {labels}")
        dc = cfg.distill
        if dc.augment_copies:  # extra soft-target examples from the training texts only (never val/test)
            from tfbig.distill.augment import augment_examples

            before = len(data.splits.train)
            data.splits.train = augment_examples(data.splits.train, dc.augment_copies, dc.augment_rate, cfg.seed)
            log.info("distill: %d training texts + %d augmented variants", before, len(data.splits.train) - before)
        return data

    def build_model(self, cfg, data):
        t, dc = cfg.train, cfg.distill
        self.teachers = [load_teacher(run_dir)[0] for run_dir, _, _ in self.teacher_configs]
        student = student_of(cfg, self.teachers[0], data.task)
        return DistillationModel(self.teachers, student, temperature=dc.temperature, alpha=dc.alpha,
                                 teacher_weights=[float(w) for w in dc.teacher_weights] or None,
                                 hidden_weight=dc.hidden_weight, attention_weight=dc.attention_weight,
                                 layer_map=parse_layer_map(dc.layer_map) or None,
                                 accumulation_steps=t.accumulation_steps, name="distillation")

    def train_data(self, cfg, data, model) -> EpochData:
        d, t, dc = cfg.data, cfg.train, cfg.distill
        train = data.splits.train
        extra = None
        live = dc.hidden_weight or dc.attention_weight  # the intermediate terms need the teacher every step
        if dc.cache_teacher_logits and not live and data.task.cacheable_outputs:
            if not hasattr(train, "texts"):
                log.info("distill: the training split is streamed from shards; the teachers run live")
            else:
                start = time.time()
                teachers = self.teachers if len(self.teachers) > 1 else self.teachers[0]
                extra = (compute_teacher_logits(teachers, train.texts, data.tokenizer, d.batch_size),)
                self.cache_seconds = round(time.time() - start, 2)
        return EpochData.from_split(train, data.task, data.tokenizer, d.batch_size * t.accumulation_steps,
                                    seed=cfg.seed, bucketing=d.bucketing, static_shapes=d.static_shapes,
                                    on_error=d.on_error, extra_targets=extra)

    def served_model(self, model):
        return model.student

    def report_extras(self, cfg, data, model, report):
        teacher = evaluate_split(self.teachers[0], data.splits.test, data.task, data.tokenizer, cfg.data.batch_size)
        main = next(iter(data.task.summary_scalars(report)), None)  # accuracy for classification
        out = {"teacher_report": teacher,
               "student_params": int(model.student.count_params()),
               "teacher_params": int(self.teachers[0].count_params()),
               "epoch_seconds": self.timer.seconds, "teacher_logits_seconds": self.cache_seconds}
        if main is not None:
            mine, theirs = report[main], teacher[main]
            out.update({"teacher_" + main: theirs, "share_of_teacher_" + main: mine / theirs if theirs else None})
        if self.cache_seconds is not None and self.timer.seconds:
            # A live-teacher epoch pays the teacher's forward pass over the train set on top of the cached epoch.
            cached_epoch = min(self.timer.seconds)
            out["cache_speedup_estimate"] = round((cached_epoch + self.cache_seconds) / cached_epoch, 2)
        return out


def resolve_teachers(cfg):
    """(a copy of cfg reading the teachers' model folder and task, the teachers' (run_dir, config, labels))."""
    from tfbig.runs.folder import RunFolder

    cfg = copy.deepcopy(cfg)
    found, model_dir = [], None
    for run_dir in cfg.distill.teachers:
        folder = RunFolder(run_dir)
        missing = folder.missing()
        if missing:
            raise UserError(f"teacher run folder {run_dir} has no {missing[0]} (is it a finished `tfbig train` run?)")
        tcfg, labels = folder.read_config(), folder.read_labels()
        check_same_split(cfg.data, tcfg.data, run_dir)
        tdir = tcfg.model.model_dir
        if found and (labels != found[0][2] or tdir != model_dir):
            raise UserError(f"teacher {run_dir} has labels {labels} / model {tdir}; the first has {found[0][2]} / "
                            f"{model_dir}: teachers must share labels and vocabulary")
        found.append((run_dir, tcfg, labels))
        model_dir = tdir
    if not found:
        raise UserError("no teacher: give --teacher RUN_DIR or distill.teachers in the config")
    cfg.model.model_dir = model_dir  # the student reads the teachers' tokenizer (and embeddings, if copied)
    cfg.task = getattr(found[0][1], "task", "classification")
    return cfg, found


def distill_run(cfg, extra_callbacks: list | None = None) -> dict:
    """Distils the teachers of `cfg.distill.teachers` into a student; writes the run folder and the export."""
    cfg, teachers = resolve_teachers(cfg)
    job = DistillJob(teachers)
    return run_job(cfg, job, job.callbacks() + list(extra_callbacks or []))
