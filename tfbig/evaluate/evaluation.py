"""Scores a run folder or SavedModel on labelled data and writes report.json, report.md and two plots."""
import logging
import os

import numpy as np

from tfbig.errors import UserError
from tfbig.reports.markdown import report_markdown
from tfbig.reports.plots import confusion_matrix_png, per_class_png
from tfbig.evaluate.predictor import load_predictor
from tfbig.reports.classification import classification_report, format_report
from tfbig.io_utils import atomic_write_bytes, atomic_write_json, atomic_write_text

log = logging.getLogger(__name__)


def read_labelled(data: str, data_format: str = "auto", text_column: str = "text", label_column: str = "label"):
    """(texts, labels) of a data path, whitespace-normalised as training cleans them (duplicates kept)."""
    from tfbig.config import DataConfig
    from tfbig.data.clean import normalize_text
    from tfbig.data.sources import load_examples

    examples = load_examples(DataConfig(source=data, format=data_format, text_column=text_column,
                                        label_column=label_column))
    return [normalize_text(t) for t in examples.texts], list(examples.labels)


def run_test_split(run_dir: str):
    """The test split of a run folder, re-made from its config (same data, fractions and seed)."""
    from tfbig.runs.folder import RunFolder
    from tfbig.train.data import load_run_data

    splits = load_run_data(RunFolder(run_dir).read_config()).splits
    return splits.test.texts, splits.test.labels


def evaluate_path(model_path: str, data: str | None = None, out: str | None = None, data_format: str = "auto",
                  text_column: str | None = None, label_column: str | None = None,
                  batch_size: int | None = None) -> dict:
    """Returns {"report", "out", "text"}; writes report.json, report.md and the task's plots (a classifier's
    confusion_matrix.png, per_class.png) to `out`. A task other than classification reads the data with the run's
    config through its own reader and writes its own report (tfbig.evaluate.task_evaluation)."""
    from tfbig.evaluate.task_evaluation import evaluate_task

    kind, task = model_task(model_path)
    if task != "classification":
        options = {"data_format": None if data_format == "auto" else data_format, "text_column": text_column,
                   "label_column": label_column}
        return evaluate_task(model_path, kind, data, out, options, batch_size)
    text_column, label_column = text_column or "text", label_column or "label"
    predictor = load_predictor(model_path, batch_size)
    if data is None:
        if predictor.kind != "run":
            raise UserError("--data is required for a SavedModel")
        texts, labels = run_test_split(model_path)
        data_name = "the run's test split"
    else:
        texts, labels = read_labelled(data, data_format, text_column, label_column)
        data_name = data
    unknown = sorted(set(labels) - set(predictor.labels))
    if unknown:
        raise UserError(f"{data_name}: labels {unknown} are not among the model's labels {predictor.labels}")
    index = {name: i for i, name in enumerate(predictor.labels)}
    y_true = np.array([index[label] for label in labels])
    probs = predictor.probabilities(texts)
    report = classification_report(y_true, probs.argmax(-1), predictor.labels)
    report.update({"model": model_path, "model_kind": predictor.kind, "data": data_name})

    out = out or (os.path.join(model_path, "evaluation") if predictor.kind == "run" else "evaluation")
    os.makedirs(out, exist_ok=True)
    atomic_write_bytes(os.path.join(out, "confusion_matrix.png"),
                       confusion_matrix_png(report["confusion_matrix"], predictor.labels))
    atomic_write_bytes(os.path.join(out, "per_class.png"), per_class_png(report))
    atomic_write_json(os.path.join(out, "report.json"), report)
    markdown = report_markdown(report, "Evaluation report", {"model": f"`{model_path}` ({predictor.kind})",
                                                              "data": data_name},
                               {"confusion matrix": "confusion_matrix.png",
                                "per-class precision, recall and F1": "per_class.png"})
    atomic_write_text(os.path.join(out, "report.md"), markdown)
    log.info("evaluation written to %s", out)
    return {"report": report, "out": out, "text": format_report(report)}


def model_task(path: str) -> tuple:
    """("run" or "saved_model", the task it was trained for); a UserError for neither."""
    from tfbig.evaluate.predictor import is_run_dir
    from tfbig.export.loader import export_task, find_saved_model

    if is_run_dir(path):
        from tfbig.runs.folder import RunFolder

        return "run", getattr(RunFolder(path).read_config(), "task", "classification")
    found = find_saved_model(path)
    if found:
        return "saved_model", export_task(found)
    load_predictor(path)  # its UserError names what a run folder and a SavedModel hold
    raise AssertionError(path)
