"""Loads what `tfbig evaluate` scores: a run folder (config + final.weights) or an exported SavedModel."""
import logging
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tfbig.errors import UserError
from tfbig.export.loader import find_saved_model

log = logging.getLogger(__name__)

saved_model_dir = find_saved_model  # the name this module gave it first


@dataclass
class Predictor:
    kind: str  # "run" or "saved_model"
    path: str
    labels: list
    probabilities: Callable  # list of str -> (N, num_labels) float array


def is_run_dir(path: str) -> bool:
    from tfbig.runs import RunFolder

    return RunFolder.is_run_folder(path)


def load_run(run_dir: str, batch_size: int | None = None) -> Predictor:
    """Rebuilds the run's model (a trained or a distilled run) from its folder and loads final.weights."""
    from tfbig.runs.folder import RunFolder
    from tfbig.train.evaluation import predict_outputs
    from tfbig.train.data import model_folder
    from tfbig.data.tokenizer import BertTextTokenizer

    folder = RunFolder(run_dir)
    folder.require_finished()
    cfg, labels = folder.read_config(), folder.read_labels()
    model = folder.load_model()
    tokenizer = BertTextTokenizer.from_model_dir(model_folder(cfg), cfg.data.max_length)
    size = batch_size or cfg.data.batch_size

    def probabilities(texts):
        logits = predict_outputs(model, list(texts), tokenizer, size)
        return _softmax(logits.reshape(len(texts), len(labels)))

    return Predictor("run", run_dir, labels, probabilities)


def load_saved_model(path: str, batch_size: int = 64) -> Predictor:
    """Calls the SavedModel's serving_default signature (raw text in, probabilities out) batch by batch."""
    from tfbig.export.loader import SavedClassifier

    clf = SavedClassifier(path)
    return Predictor("saved_model", clf.path, clf.labels, lambda texts: clf.predict(texts, batch_size).probabilities)


def load_predictor(path: str, batch_size: int | None = None) -> Predictor:
    if is_run_dir(path):
        return load_run(path, batch_size)
    found = find_saved_model(path)
    if found:
        return load_saved_model(found, batch_size or 64)
    raise UserError(f"{path} is neither a run folder (config.yaml, labels.txt, final.weights) nor a SavedModel "
                    "(saved_model.pb, or version folders holding one)")


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
