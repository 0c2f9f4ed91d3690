"""One distillation run: teacher run folder(s) → student → fit → test report → SavedModel of the student alone."""
import logging
import os
import time

from tfbig._keras import keras
from tfbig.config import save_config
from tfbig.data.pipeline import make_dataset
from tfbig.distill.cache import compute_teacher_logits, with_teacher_logits
from tfbig.distill.config import check_same_split, parse_layer_map
from tfbig.distill.model import DistillationModel
from tfbig.distill.student import student_of
from tfbig.errors import UserError
from tfbig.io_utils import atomic_write_json, atomic_write_text
from tfbig.train.optimizers import build_optimizer
from tfbig.train.run import evaluate_split, label_ids, prepare

log = logging.getLogger(__name__)


def load_teacher(run_dir: str):
    """Rebuilds the classifier a `tfbig train` run folder holds; returns (model, its RunConfig, labels, model_dir)."""
    from tfbig.runs import RunFolder
    from tfbig.runs.rebuild import run_model_dir

    run = RunFolder(run_dir)
    missing = run.missing()
    if missing:
        raise UserError(f"teacher run folder {run_dir} has no {missing[0]} (is it a finished `tfbig train` run?)")
    cfg = run.read_config()
    return run.load_model(), cfg, run.read_labels(), run_model_dir(cfg)


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(round(time.time() - self._start, 2))


def load_teachers(cfg) -> tuple:
    """(models, labels) of `cfg.distill.teachers`; sets cfg.model.model_dir to the model folder they share."""
    teachers, labels, model_dir = [], None, None
    for run_dir in cfg.distill.teachers:
        model, tcfg, tlabels, tdir = load_teacher(run_dir)
        check_same_split(cfg.data, tcfg.data, run_dir)
        if labels is not None and (tlabels != labels or tdir != model_dir):
            raise UserError(f"teacher {run_dir} has labels {tlabels} / model {tdir}; the first has {labels} / "
                            f"{model_dir}: teachers must share labels and vocabulary")
        teachers.append(model)
        labels, model_dir = tlabels, tdir
    cfg.model.model_dir = model_dir  # the student reads the teachers' tokenizer (and embeddings, if copied)
    return teachers, labels


def distill_run(cfg) -> dict:
    """Distils the teachers of `cfg.distill.teachers` into a student; writes the run folder and the export.

    The run folder is locked from its creation to the end: a second job on it is refused at once
    (tfbig.runs.lock).
    """
    from tfbig.runs import RunFolder

    keras.utils.set_random_seed(cfg.seed)
    teachers, labels = load_teachers(cfg)  # before the run folder exists: a bad teacher leaves no folder
    with RunFolder(cfg.run_dir).lock():
        return _distill_run(cfg, teachers, labels)


def _distill_run(cfg, teachers: list, labels: list) -> dict:
    d, t, dc = cfg.data, cfg.train, cfg.distill
    os.makedirs(cfg.run_dir, exist_ok=True)
    save_config(cfg, os.path.join(cfg.run_dir, "config.yaml"))
    atomic_write_text(os.path.join(cfg.run_dir, "labels.txt"), "\n".join(labels) + "\n")
    prep = prepare(cfg)
    splits, tok = prep.splits, prep.tokenizer
    if splits.labels != labels:
        raise UserError(f"the data has labels {splits.labels}; the teacher was trained on {labels}")

    student = student_of(cfg, teachers[0], len(labels))
    train_ids = label_ids(splits.train, labels)
    cache_seconds = None
    if dc.cache_teacher_logits and not (dc.hidden_weight or dc.attention_weight):
        start = time.time()
        logits = compute_teacher_logits(teachers if len(teachers) > 1 else teachers[0], splits.train.texts, tok,
                                        d.batch_size)
        cache_seconds = round(time.time() - start, 2)
        train_ds = with_teacher_logits(splits.train.texts, train_ids, logits, tok, d.batch_size, shuffle=True,
                                       seed=cfg.seed, bucketing=d.bucketing, static_shapes=d.static_shapes)
    else:  # the intermediate terms need the teacher's states every step anyway
        train_ds = make_dataset(splits.train.texts, train_ids, tok, d.batch_size, shuffle=True, seed=cfg.seed,
                                bucketing=d.bucketing, static_shapes=d.static_shapes)
    val_ds = None
    if len(splits.val):
        val_ds = make_dataset(splits.val.texts, label_ids(splits.val, labels), tok, d.batch_size,
                              bucketing=d.bucketing, static_shapes=d.static_shapes)

    model = DistillationModel(teachers, student, temperature=dc.temperature, alpha=dc.alpha,
                              teacher_weights=[float(w) for w in dc.teacher_weights] or None,
                              hidden_weight=dc.hidden_weight, attention_weight=dc.attention_weight,
                              layer_map=parse_layer_map(dc.layer_map) or None, name="distillation")
    steps_per_epoch = -(-len(splits.train) // d.batch_size)
    model.compile(optimizer=build_optimizer(t, steps_per_epoch * t.epochs), steps_per_execution=t.steps_per_execution)
    timer = EpochTimer()
    callbacks = [keras.callbacks.TensorBoard(os.path.join(cfg.run_dir, "logs")), timer]
    if val_ds is not None and t.early_stopping_patience > 0:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=t.monitor, mode="max" if "acc" in t.monitor or "f1" in t.monitor else "min",
            patience=t.early_stopping_patience, restore_best_weights=True))
    start = time.time()
    history = model.fit(train_ds, validation_data=val_ds, epochs=t.epochs, callbacks=callbacks, verbose=2)
    train_seconds = time.time() - start

    report = evaluate_split(student, splits.test, labels, tok, d.batch_size)
    teacher_report = evaluate_split(teachers[0], splits.test, labels, tok, d.batch_size)
    report.update({
        "teacher_accuracy": teacher_report["accuracy"],
        "kept": report["accuracy"] / teacher_report["accuracy"] if teacher_report["accuracy"] else None,
        "student_params": int(student.count_params()), "teacher_params": int(teachers[0].count_params()),
        "train_seconds": round(train_seconds, 1), "epochs_run": len(history.epoch), "epoch_seconds": timer.seconds,
        "teacher_logits_seconds": cache_seconds,
        "split_sizes": {"train": len(splits.train), "val": len(splits.val), "test": len(splits.test)},
    })
    if cache_seconds is not None and timer.seconds:
        # A live-teacher epoch pays the teacher's forward pass over the train set on top of the cached epoch.
        cached_epoch = min(timer.seconds)
        report["cache_speedup_estimate"] = round((cached_epoch + cache_seconds) / cached_epoch, 2)
    from tfbig.evaluate.report import plot_confusion_matrix
    from tfbig.export.saved_model import export_saved_model

    plot_confusion_matrix(report["confusion_matrix"], labels, os.path.join(cfg.run_dir, "confusion_matrix.png"))
    with open(os.path.join(cfg.run_dir, "config.yaml"), encoding="utf-8") as f:
        config_text = f.read()
    report["export"] = export_saved_model(student, tok, labels, os.path.join(cfg.export_dir, cfg.name),
                                          assets={"config.yaml": config_text})
    student.save_weights(os.path.join(cfg.run_dir, "final.weights"))
    atomic_write_json(os.path.join(cfg.run_dir, "report.json"), report)
    return report
