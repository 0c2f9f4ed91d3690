"""The one loader of an exported SavedModel: `SavedClassifier(path).predict(texts)`.

`tfbig predict`, `tfbig evaluate SAVED_MODEL` and Python users all read an export through it, so the
class names and the export's metadata come from one place: the SavedModel's assets/ (what the graph
itself tracks), falling back to assets.extra/ for exports written before assets/ held them.
"""
import json
import logging
import os
from dataclasses import dataclass

import numpy as np

from tfbig.errors import UserError
from tfbig.labels import FILE as LABELS_FILE, parse_labels

log = logging.getLogger(__name__)

ASSET_FOLDERS = ("assets", "assets.extra")  # in the order they are read
METADATA_FILE = "tfbig_export.json"


@dataclass
class Predictions:
    labels: list  # (B,) class names
    label_ids: np.ndarray  # (B,) int32
    probabilities: np.ndarray  # (B, num_classes) float32


def find_saved_model(path: str) -> str | None:
    """`path` itself if it holds saved_model.pb, else its highest integer version folder holding one, else None."""
    if os.path.isfile(os.path.join(path, "saved_model.pb")):
        return path
    if not os.path.isdir(path):
        return None
    versions = [int(n) for n in os.listdir(path)
                if n.isdigit() and os.path.isfile(os.path.join(path, n, "saved_model.pb"))]
    return os.path.join(path, str(max(versions))) if versions else None


def version_dir(path: str) -> str:
    """`path` itself if it holds a SavedModel, else its highest integer version folder; a UserError if neither."""
    if not os.path.exists(path):
        raise UserError(f"SavedModel folder not found: {path}")
    found = find_saved_model(path)
    if found is None:
        raise UserError(f"{path}: no SavedModel and no version folder (1/, 2/, ...) holding one")
    return found


def export_metadata(path: str) -> dict:
    """The export's tfbig_export.json (its first assets folder that holds one); {} for older exports."""
    folder = version_dir(path)
    for assets in ASSET_FOLDERS:
        file = os.path.join(folder, assets, METADATA_FILE)
        if os.path.isfile(file):
            with open(file, encoding="utf-8") as f:
                return json.load(f)
    return {}


def export_precision_of(path: str) -> str:
    """The Keras policy an export computes in, as its tfbig_export.json records it (float32 for older exports)."""
    return export_metadata(path).get("precision", "float32")


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
        self.metadata = self._read_asset(METADATA_FILE, lambda text, path: json.loads(text), default={})
        if self.metadata.get("tokenizer", "fast") == "fast":
            try:
                import tensorflow_text  # noqa: F401  (registers NormalizeUTF8 & co. before loading)
            except ImportError:
                raise UserError(f"{self.path} tokenizes with tensorflow-text ops: pip install tensorflow-text "
                                "(or export with --tokenizer core)") from None
        labels = self._read_asset(LABELS_FILE, parse_labels, default=None)
        self.labels = labels or list(self.metadata.get("labels", []))  # else the metadata's copy
        if not self.labels:
            raise UserError(f"{self.path}: no {LABELS_FILE} in {' or '.join(ASSET_FOLDERS)} (is it a tfbig export?)")
        self._loaded = tf.saved_model.load(self.path)
        if "serving_default" not in self._loaded.signatures:
            raise UserError(f"{self.path}: no serving_default signature; signatures: "
                            f"{', '.join(self._loaded.signatures) or 'none'}")
        self._serve = self._loaded.signatures["serving_default"]
        self._tf = tf

    def _read_asset(self, name: str, parse, default):
        """parse(text, path) of the first assets folder holding `name`; `default` when none does."""
        for folder in ASSET_FOLDERS:
            path = os.path.join(self.path, folder, name)
            if os.path.isfile(path):
                with open(path, encoding="utf-8") as f:
                    return parse(f.read(), path)
        return default

    @property
    def config_text(self) -> str:
        """The training run's config.yaml, as exported ("" if the export has none)."""
        return self._read_asset("config.yaml", lambda text, path: text, default="")

    def predict(self, texts, batch_size: int = 64) -> Predictions:
        """texts: list of str (or bytes). Batched through the serving_default signature, order kept."""
        from tfbig.progress import progress

        texts = list(texts)
        probs, ids, names = [], [], []
        # One call even for no texts: the signature answers an empty batch with (0, num_classes).
        for i in progress(range(0, max(len(texts), 1), batch_size), desc="predicting", unit="batch"):
            out = self._serve(text=self._tf.constant(texts[i:i + batch_size], self._tf.string))
            probs.append(out["probabilities"].numpy())
            ids.append(out["label_id"].numpy())
            names.extend(x.decode("utf-8") for x in out["label"].numpy())
        return Predictions(names, np.concatenate(ids).astype(np.int32), np.concatenate(probs).astype(np.float32))


class SavedFillMask(SavedClassifier):
    """A fill-mask export (`tfbig pretrain`, task mlm): texts with [MASK] in, the likeliest pieces per mask out.

    >>> SavedFillMask("saved_models/adapt_minilm").fill(["The [MASK] rose"], top_k=3)
    [[[('price', 0.21), ('market', 0.09), ('dollar', 0.05)]]]
    """

    def fill(self, texts, top_k: int = 5, batch_size: int = 64) -> list:
        """Per text, per [MASK] (in text order), the top_k (piece, probability) pairs."""
        texts = list(texts)
        result = []
        for i in range(0, len(texts), batch_size):
            out = self._serve(text=self._tf.constant(texts[i:i + batch_size], self._tf.string))
            tokens, scores, weights = out["tokens"].numpy(), out["scores"].numpy(), out["mask_weights"].numpy()
            for row in range(len(tokens)):
                result.append([[(t.decode("utf-8"), float(s)) for t, s in zip(tokens[row, m, :top_k],
                                                                              scores[row, m, :top_k])]
                               for m in range(tokens.shape[1]) if weights[row, m] > 0])
        return result


def export_task(path: str) -> str:
    """The task an export serves, as its tfbig_export.json records it (classification for older exports)."""
    return export_metadata(path).get("task", "classification")


class SavedTaskModel(SavedClassifier):
    """Any task's export: raw text (and `text_pair` for a pair export) in, the serving_default signature's named
    outputs out, per request; `task` is the export's Task (rebuilt from its tfbig_export.json).

    >>> model = SavedTaskModel("saved_models/scores")
    >>> model.rows(["Shares rose 5%"])  # [{'predictions': array([0.7], dtype=float32)}]
    """

    def __init__(self, path: str):
        from tfbig.tasks.registry import get_task

        super().__init__(path)
        self.task = get_task(self.metadata.get("task", "classification"), self.labels)
        self.task.restore_export_metadata(self.metadata)
        self.inputs = sorted(self._serve.structured_input_signature[1])  # ['text'] or ['text', 'text_pair']

    @property
    def takes_pairs(self) -> bool:
        return "text_pair" in self.inputs

    def outputs(self, texts, pairs=None):
        """{output name: numpy array} of one batch through serving_default (pairs: the second texts)."""
        texts = list(texts)
        if self.takes_pairs and pairs is None:
            raise UserError(f"{self.path} reads sentence pairs: give each text its text_pair")
        feed = {"text": self._tf.constant(texts, self._tf.string)}
        if self.takes_pairs:
            if len(pairs) != len(texts):
                raise UserError(f"text_pair: {len(pairs)} second text(s) for {len(texts)} text(s)")
            feed["text_pair"] = self._tf.constant(list(pairs), self._tf.string)
        return {name: value.numpy() for name, value in self._serve(**feed).items()}

    def call(self, signature: str, **inputs) -> dict:
        """{output name: numpy array} of one call of a named signature (numpy or list inputs)."""
        if signature not in self._loaded.signatures:
            raise UserError(f"{self.path}: no {signature} signature; signatures: {', '.join(self._loaded.signatures)}")
        fn = self._loaded.signatures[signature]
        return {k: v.numpy() for k, v in fn(**{k: self._tf.constant(v) for k, v in inputs.items()}).items()}

    def batched(self, texts, pairs=None, batch_size: int = 64) -> dict:
        """{output name: the outputs of every text} through serving_default, batch by batch, order kept."""
        texts = list(texts)
        batches = [self.outputs(texts[i:i + batch_size], None if pairs is None else list(pairs)[i:i + batch_size])
                   for i in range(0, max(len(texts), 1), batch_size)]
        return {name: np.concatenate([b[name] for b in batches]) for name in batches[0]}

    def rows(self, texts, pairs=None, batch_size: int = 64) -> list:
        """Per text, {output name: its row of that output}, in order."""
        texts = list(texts)
        out = []
        for i in range(0, len(texts), batch_size):
            chunk = texts[i:i + batch_size]
            batch = self.outputs(chunk, None if pairs is None else list(pairs)[i:i + batch_size])
            out.extend({name: value[row] for name, value in batch.items()} for row in range(len(chunk)))
        return out
