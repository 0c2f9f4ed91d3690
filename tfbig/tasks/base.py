"""`Task`: the one object that knows a problem's shape, from the examples' targets to the served outputs.

Everything else — the data pipeline, `TaskModel`'s train_step, the run skeleton, evaluation, export and
distillation — is generic and asks the task. A new task is one file: a subclass registered by name
(`tfbig.tasks.registry.register_task`), chosen with `task:` in the config.

What a task decides, in the order a run meets it:

| step          | method                                    | classification                            |
|---------------|-------------------------------------------|-------------------------------------------|
| read          | `read_examples(data_cfg)`                 | the labelled reader, then cleaning        |
| vocabulary    | `fit(train_targets)`                      | the sorted class names                    |
| split         | `split(examples, test_f, val_f, seed)`    | stratified by class                       |
| given splits  | `read_given(data_cfg)`                    | each file read, leaks dropped, checked    |
| targets       | `encode(targets)` → numpy array           | class ids (int32)                         |
| batches       | `split_dataset(split, tokenizer, b, ...)` | one text per example, length-bucketed     |
| head          | `build_head(dropout)` → keras layer       | dropout → Dense(C) on `pooled_output`     |
| loss          | `loss(y, outputs)`, `loss_weights(y)`     | cross-entropy per example, weight 1       |
| metrics       | `metrics()`, `update_metrics(...)`        | accuracy, macro-F1                        |
| report        | `report(y_true, outputs)`, `write_report` | accuracy, per-class P/R/F1, two PNGs      |
| serving       | `serving_outputs(outputs)`                | probabilities, label_id, label            |
| signatures    | `serving_module(model, tok, assets)`      | None: text in (`serving_default`), ids in |
| distillation  | `soft_targets`, `distill_loss`            | T²·KL of softened distributions           |

`outputs` is always the head's output tensor in float32 (what `TaskModel.call` returns); `y` a batch of
encoded targets.
"""
import logging

import numpy as np

from tfbig._keras import keras, tf
from tfbig.errors import UserError

log = logging.getLogger(__name__)


class Task:
    """Base class of the tasks; subclasses set `name` and override what their shape needs.

    labels: list of str or None. The target vocabulary (class names, target names) when known already, e.g.
        read back from a run folder; None until `fit` sees the training targets.
    """

    name = ""
    loss_name = "task_loss"  # the per-example term's name in the fit logs and TensorBoard
    # The metric that says the most, for early stopping and the best checkpoint (validation prefix added).
    monitor_default = "val_loss"
    # (C,) loss weight of each class id, or None (all 1): train.class_weights balanced sets it on the instance
    # from the training split (tfbig.train.class_weights) before the model traces its loss.
    class_weights = None
    # Whether distillation may cache the teachers' outputs per example (tfbig.distill.cache): not for outputs
    # per token, whose length depends on the batch's padding.
    cacheable_outputs = True
    tunes_on_validation = False  # True: the run skeleton calls `tune` with the validation outputs after fit
    text_pair_column = ""  # set by `configure` from data.text_pair_column: examples are (text, text_pair) pairs

    def __init__(self, labels: list | None = None):
        self.labels = list(labels) if labels is not None else None

    def configure(self, cfg) -> "Task":
        """Reads the task's own options from the run config (a regression's loss, say); returns self."""
        from tfbig.data.pairs import PAIR_SOURCES

        self.text_pair_column = getattr(cfg.data, "text_pair_column", "") or ""
        if cfg.data.source in PAIR_SOURCES:  # a named source of pairs: served as text + text_pair
            self.text_pair_column = "text_pair"
        return self

    # --- data -------------------------------------------------------------------------------------------
    def read_examples(self, data_cfg):
        """(Examples, cleaning stats) of `data.source`: the labelled readers, then cleaning. A task whose
        examples are not (text, label) rows (pairs, words and tags, unlabelled documents) reads its own."""
        from tfbig.data.clean import clean
        from tfbig.data.sources import load_examples

        from tfbig.data.pairs import PAIR_SOURCES, clean_pairs, read_pair_examples, read_pair_source

        if data_cfg.source in PAIR_SOURCES:
            return clean_pairs(read_pair_source(data_cfg.source))
        if getattr(data_cfg, "text_pair_column", ""):  # (text, text_pair) rows with one class each
            return clean_pairs(read_pair_examples(data_cfg, [data_cfg.label_column], _one_label))
        return clean(load_examples(data_cfg))

    def read_given(self, data_cfg):
        """(tfbig.data.split.Splits, stats) of given files (data.train, data.validation, data.test): each read and
        cleaned by `read_examples` (the reader and duplicate key of data.source: a pair column, label lists,
        float targets, tagged sentences), the cross-split leaks dropped (tfbig.data.given_splits.drop_leaks),
        the task fitted on train, a validation or test target train never holds refused (`check_targets`, naming
        the file), and, without a validation file, data.val_fraction of train held out by `hold_out`.

        stats: each split's cleaning counts under its name, "leaks_dropped", "validation_held_out" (the fraction
        of train held out; 0 with a validation file) and "given_splits" (the paths)."""
        import dataclasses

        from tfbig.data.given_splits import given_paths, read_given_parts, require_examples
        from tfbig.data.split import Splits
        from tfbig.data.text_files import Examples

        paths = given_paths(data_cfg)
        parts, stats = read_given_parts(
            paths, lambda path: self.read_examples(dataclasses.replace(data_cfg, source=path, train="",
                                                                       validation="", test="")))
        parts = {name: self.limit_given(examples, data_cfg.limit_per_class) for name, examples in parts.items()}
        require_examples(parts, paths)
        self.fit(parts["train"].labels)  # the whole train file's vocabulary: what the given files are checked on
        for name in ("validation", "test"):
            if name in parts:
                self.check_targets(parts[name].labels, f"{paths[name]} (the {name} split; train: {paths['train']})")
        train, val, fraction = parts["train"], parts.get("validation", Examples()), 0.0
        if "validation" not in parts and data_cfg.val_fraction > 0:
            fraction = data_cfg.val_fraction
            train, val = self.hold_out(parts["train"], fraction, data_cfg.seed)
            self.fit(train.labels)  # fitted on what trains, as with data.source
        stats["validation_held_out"] = fraction
        log.info("given splits: %d train, %d validation%s, %d test; labels %s", len(train), len(val),
                 f" (held out of train, {fraction:g})" if fraction else "", len(parts["test"]), self.labels)
        return Splits(train, val, parts["test"], list(self.labels)), stats

    def limit_given(self, examples, limit_per_class: int):
        """A given split under data.limit_per_class: unchanged (the limit counts classes; classification's)."""
        return examples

    def hold_out(self, examples, fraction: float, seed: int):
        """(rest, held out) of Examples, `fraction` held out the way `split` cuts off its test part."""
        splits = self.split(examples, fraction, 0.0, seed)
        return splits.train, splits.test

    def fit(self, targets: list) -> "Task":
        """Learns the vocabulary from the training split's raw targets; returns self."""
        raise NotImplementedError

    def split(self, examples, test_fraction: float, val_fraction: float, seed: int):
        """Splits Examples into tfbig.data.split.Splits (train, val, test, labels)."""
        raise NotImplementedError

    def check_targets(self, targets: list, where: str) -> None:
        """Raises UserError naming `where` (a split and its file) for targets the vocabulary does not know."""

    def encode(self, targets: list) -> np.ndarray:
        """Raw targets (as the readers give them) → the (N, ...) array the model trains on."""
        raise NotImplementedError

    def split_dataset(self, split, tokenizer, batch_size: int, **kwargs):
        """The batches of one split, (features, targets): every job's training, validation and test batches
        come from here. kwargs: those of tfbig.data.pipeline.split_dataset (shuffle, seed, bucketing, ...).
        A task with other inputs (a second text, words) tokenizes them its own way."""
        from tfbig.data.pairs import is_pair_split, pair_split_dataset
        from tfbig.data.pipeline import split_dataset

        if is_pair_split(split):
            return pair_split_dataset(split, self, tokenizer, batch_size, **kwargs)
        return split_dataset(split, self, tokenizer, batch_size, **kwargs)

    def split_baseline(self, train, val, test, seed: int) -> dict | None:
        """The floor's report: `baseline` fitted on train + validation, scored on test (None without texts)."""
        if not hasattr(train, "texts"):
            return None
        from tfbig.data.pairs import is_pair_split

        if is_pair_split(train):
            from tfbig.tasks.pairs import cosine_baseline

            return cosine_baseline(self, train.texts + val.texts, self.encode(train.labels + val.labels), test.texts,
                                   self.encode(test.labels), seed)
        return self.baseline(train.texts + val.texts, self.encode(train.labels + val.labels), test.texts,
                             self.encode(test.labels), seed)

    @property
    def target_dtype(self):
        return tf.int32

    # --- model ------------------------------------------------------------------------------------------
    def build_head(self, dropout: float) -> keras.layers.Layer:
        """A layer from the backbone's outputs dict to this task's outputs."""
        raise NotImplementedError

    def head_for(self, backbone, dropout: float) -> keras.layers.Layer:
        """The head on `backbone`: `build_head(dropout)`; a head that shares the backbone's weights (a masked-LM
        decoder tied to the word embeddings) or needs its sizes builds itself here."""
        return self.build_head(dropout)

    def model_inputs(self, x, y):
        """The features the model is called with in training and evaluation: `x`; a task whose head reads
        part of the targets (the masked positions an MLM head decodes) adds it here."""
        return x

    def loss(self, y, outputs):
        """The task loss per target position: (B,) per example, or (B, T) per token. The objective is
        Σ loss·w / Σ w over the *global* batch, w = `loss_weights(y)`."""
        raise NotImplementedError

    def loss_weights(self, y):
        """The weight of each target position, from the targets alone: (B,) ones by default; a token task
        gives its (B, T) mask of labelled pieces, so every replica and micro-batch weighs its real share.
        With `class_weights` set, a (B,) target of class ids weighs each example by its class's weight."""
        if self.class_weights is not None:
            return tf.gather(tf.constant(self.class_weights, tf.float32), tf.cast(y, tf.int32))
        return tf.ones([tf.shape(y)[0]], tf.float32)

    def metrics(self) -> list:
        """Fresh keras metrics shown in fit's logs (the loss trackers are the model's)."""
        return []

    def update_metrics(self, metrics: list, y, outputs) -> None:
        for m in metrics:
            m.update_state(y, outputs)

    def tune(self, y_true: np.ndarray, outputs: np.ndarray):
        """Fits what is chosen on validation after training (a multilabel's thresholds) from the validation
        split's encoded targets and outputs; the test split is never shown to it. Needs `tunes_on_validation`."""

    # --- evaluation -------------------------------------------------------------------------------------
    def report(self, y_true: np.ndarray, outputs: np.ndarray) -> dict:
        """The test report (JSON-ready) from encoded targets and the model's outputs."""
        raise NotImplementedError

    def write_report(self, report: dict, folder: str, title: str = "test split") -> dict:
        """Writes the report's plots into `folder`; returns {caption: file name} for report.md."""
        return {}

    def summary_scalars(self, report: dict) -> dict:
        """Scalars of a report for TensorBoard's test summaries."""
        return {}

    def floor_metrics(self, report: dict) -> dict:
        """{metric: value} of a report (the model's or its baseline's) that the model must match or beat, higher
        being better; {} for a task without a floor."""
        return {}

    def report_images(self, report: dict) -> dict:
        """{name: PNG bytes} of a test report for TensorBoard."""
        return {}

    def format_report(self, report: dict) -> str:
        """A short text for the terminal."""
        return str({k: v for k, v in report.items() if isinstance(v, (int, float))})

    def markdown(self, report: dict, title: str, details: dict, images: dict) -> str:
        lines = [f"# {title}", ""] + [f"- **{k}**: {v}" for k, v in details.items()] + [""]
        lines += [f"- {k}: {v}" for k, v in report.items() if isinstance(v, (int, float))]
        lines += [f"\n![{caption}]({path})" for caption, path in images.items()]
        return "\n".join(lines) + "\n"

    def validation_images(self, model) -> dict:
        """{name: PNG bytes} for TensorBoard after a validation pass (the model's metrics hold its counts)."""
        return {}

    def baseline(self, train_texts: list, train_y: np.ndarray, test_texts: list, test_y: np.ndarray,
                 seed: int) -> dict | None:
        """A cheap model's report on the same split (the floor to beat), or None."""
        return None

    # --- serving ----------------------------------------------------------------------------------------
    def serving_outputs(self, outputs) -> dict:
        """Named tensors a server returns for a batch of outputs."""
        return {"outputs": outputs}

    def serving_module(self, model, tokenizer, asset_files: dict):
        """A tf.Module with a `signatures()` dict for the SavedModel, or None for the default one (a batch of
        texts in as `serving_default`, token ids in as `predict_ids`). A task whose requests are not one text
        each (a pair, a list of words, a masked sentence) gives its own."""
        if self.text_pair_column:
            from tfbig.tasks.pairs import PairServingModule

            return PairServingModule(model, tokenizer, self, asset_files)
        return None

    def export_metadata(self) -> dict:
        """What a SavedModel's tfbig_export.json records about the task."""
        return {"task": self.name, "labels": list(self.labels or [])}

    def restore_export_metadata(self, metadata: dict) -> "Task":
        """Takes back what `export_metadata` recorded (a loaded export's task: thresholds, target stats)."""
        return self

    def format_prediction(self, row: dict) -> str:
        """`tfbig predict`'s line for one request: `row` is {output name: that request's row} of the export's
        serving_default signature (`serving_outputs`, or the task's serving module's)."""
        return "  ".join(f"{name} {_short(value)}" for name, value in sorted(row.items()))

    def served_outputs(self, export, examples, batch_size: int) -> tuple:
        """(encoded targets, outputs for `report`) of labelled Examples through a loaded export
        (tfbig.export.loader.SavedTaskModel): its serving_default, a (text, text_pair) example as two inputs."""
        texts, pairs = list(examples.texts), None
        if texts and isinstance(texts[0], (tuple, list)):
            texts, pairs = [t[0] for t in texts], [t[1] for t in texts]
        return self.encode(examples.labels), self.outputs_from_served(export.batched(texts, pairs, batch_size))

    def outputs_from_served(self, served: dict) -> np.ndarray:
        """What `report` reads (the head's outputs, or what has their argmax/threshold) from a batch of
        serving_default outputs: how `tfbig evaluate SAVED_MODEL` scores an export the task's way."""
        return np.asarray(served["outputs"])

    # --- distillation -----------------------------------------------------------------------------------
    def soft_targets(self, teacher_outputs: list, weights: list, temperature: float):
        """The teachers' combined targets for one batch."""
        raise NotImplementedError(f"task '{self.name}' has no distillation loss")

    def distill_loss(self, student_outputs, targets, temperature: float):
        """(B,) soft loss of the student against `soft_targets`."""
        raise NotImplementedError(f"task '{self.name}' has no distillation loss")

    def get_config(self) -> dict:
        return {"labels": self.labels}


def _one_label(values, where):
    """parse() of a class label for tfbig.data.text_streams.iter_fields: a non-empty string, never a list."""
    (value,) = values
    if isinstance(value, list):
        raise UserError(f"{where}: the label is a list {value!r}; task: multilabel reads label lists")
    if not str(value).strip():
        raise UserError(f"{where}: empty label")
    return str(value).strip()


def _short(value) -> str:
    """A served value for the terminal: a number with 4 decimals, a string, or a short array."""
    value = np.asarray(value)
    if value.dtype.kind in "SO":
        flat = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in value.ravel()]
        return " ".join(flat)
    if value.ndim == 0:
        return f"{float(value):.4f}"
    return "[" + " ".join(f"{float(v):.4f}" for v in value.ravel()) + "]"
