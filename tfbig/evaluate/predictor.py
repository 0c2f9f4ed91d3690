"""Loads what `tfbig evaluate` scores: a run folder (config + final.weights) or an exported SavedModel."""
import logging
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tfbig.errors import UserError

log = logging.getLogger(__name__)


@dataclass
class Predictor:
    kind: str  # "run" or "saved_model"
    path: str
    labels: list
    probabilities: Callable  # list of str -> (N, num_labels) float array


def _read_labels(path: str) -> list:
    if not os.path.isfile(path):
        raise UserError(f"{path} not found")
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.strip()]


def is_run_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "config.yaml")) and os.path.isfile(os.path.join(path, "labels.txt"))


def saved_model_dir(path: str) -> str | None:
    """`path` itself when it holds saved_model.pb, else its highest numbered version folder that does."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    versions = sorted((int(n) for n in os.listdir(path) if n.isdigit()), reverse=True) if os.path.isdir(path) else []
    for v in versions:
        if os.path.isfile(os.path.join(path, str(v), "saved_model.pb")):
            return os.path.join(path, str(v))
    return None


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
    from tfbig._keras import tf
    from tfbig.progress import progress

    loaded = tf.saved_model.load(path)
    if "serving_default" not in loaded.signatures:
        raise UserError(f"{path}: no serving_default signature; signatures: {', '.join(loaded.signatures)}")
    serve = loaded.signatures["serving_default"]
    labels = _read_labels(os.path.join(path, "assets.extra", "labels.txt"))

    def probabilities(texts):
        texts = list(texts)
        out = [serve(text=tf.constant(texts[i:i + batch_size]))["probabilities"].numpy()
               for i in progress(range(0, len(texts), batch_size), desc="predicting", unit="batch")]
        return np.concatenate(out, axis=0) if out else np.zeros((0, len(labels)), np.float32)

    return Predictor("saved_model", path, labels, probabilities)


def load_predictor(path: str, batch_size: int | None = None) -> Predictor:
    if is_run_dir(path):
        return load_run(path, batch_size)
    found = saved_model_dir(path)
    if found:
        return load_saved_model(found, batch_size or 64)
    raise UserError(f"{path} is neither a run folder (config.yaml, labels.txt, final.weights) nor a SavedModel "
                    "(saved_model.pb, or version folders holding one)")


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
