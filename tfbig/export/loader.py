"""Loads an exported SavedModel for use from Python: `SavedClassifier(path).predict(texts)`."""
import json
import logging
import os
from dataclasses import dataclass

import numpy as np

from tfbig.errors import UserError

log = logging.getLogger(__name__)


@dataclass
class Predictions:
    labels: list  # (B,) class names
    label_ids: np.ndarray  # (B,) int32
    probabilities: np.ndarray  # (B, num_classes) float32


def version_dir(path: str) -> str:
    """`path` itself if it holds a SavedModel, else its highest integer version folder."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    if not os.path.isdir(path):
        raise UserError(f"SavedModel folder not found: {path}")
    versions = [int(n) for n in os.listdir(path)
                if n.isdigit() and os.path.isfile(os.path.join(path, n, "saved_model.pb"))]
    if not versions:
        raise UserError(f"{path}: no SavedModel and no version folder (1/, 2/, ...) holding one")
    return os.path.join(path, str(max(versions)))


class SavedClassifier:
    """A text classifier read from `tfbig export`'s output, raw text in, class names and probabilities out.

    path: str. A model folder (`saved_models/NAME`, whose highest version is used) or one version folder.

    >>> clf = SavedClassifier("saved_models/bbc")
    >>> clf.predict(["Shares rose 5%"]).labels  # ['business']
    """

    def __init__(self, path: str):
        from tfbig._keras import tf

        self.path = version_dir(path)
        self.version = int(os.path.basename(self.path)) if os.path.basename(self.path).isdigit() else None
        self.metadata = self._read_asset("tfbig_export.json", json.loads, default={})
        if self.metadata.get("tokenizer", "fast") == "fast":
            try:
                import tensorflow_text  # noqa: F401  (registers NormalizeUTF8 & co. before loading)
            except ImportError:
                raise UserError(f"{self.path} tokenizes with tensorflow-text ops: pip install tensorflow-text "
                                "(or export with --tokenizer core)") from None
        self._loaded = tf.saved_model.load(self.path)
        self._serve = self._loaded.signatures["serving_default"]
        self.labels = self._read_asset("labels.txt", lambda s: [x for x in s.split("\n") if x], default=[])
        self._tf = tf

    def _read_asset(self, name: str, parse, default):
        path = os.path.join(self.path, "assets", name)
        if not os.path.isfile(path):
            return default
        with open(path, encoding="utf-8") as f:
            return parse(f.read())

    @property
    def config_text(self) -> str:
        """The training run's config.yaml, as exported."""
        return self._read_asset("config.yaml", str, default="")

    def predict(self, texts, batch_size: int = 64) -> Predictions:
        """texts: list of str (or bytes). Batched through the serving_default signature, order kept."""
        texts = list(texts)
        probs, ids, names = [], [], []
        for i in range(0, max(len(texts), 1), batch_size):
            out = self._serve(text=self._tf.constant(texts[i:i + batch_size], self._tf.string))
            probs.append(out["probabilities"].numpy())
            ids.append(out["label_id"].numpy())
            names.extend(x.decode("utf-8") for x in out["label"].numpy())
        return Predictions(names, np.concatenate(ids).astype(np.int32), np.concatenate(probs).astype(np.float32))
