"""Token classification (POS, NER): a tag for every word, from a Dense layer on the sequence output.

Words are split into pieces in the graph (tfbig.data.word_alignment); a word's tag sits on its first piece,
the other pieces and the special tokens are IGNORE (-100): out of the loss (weight 0) and the metrics.
Targets are (B, T) tag ids per piece; outputs (B, T, C) logits.
"""
import logging
import random

import numpy as np

from tfbig._keras import keras, tf
from tfbig.data.word_alignment import IGNORE, align
from tfbig.tasks.base import Task
from tfbig.tasks.registry import register_task

log = logging.getLogger(__name__)


@keras.utils.register_keras_serializable("tfbig")
class TaggingHead(keras.layers.Layer):
    """Backbone outputs → dropout on `sequence_output` → Dense(num_tags): (B, T, num_tags) logits.

    num_tags: int. Number of tags.
    dropout: float. Dropout rate before the Dense layer.
    """

    def __init__(self, num_tags: int, dropout: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.num_tags = int(num_tags)
        self.rate = float(dropout)
        self.dropout = keras.layers.Dropout(self.rate)
        self.dense = keras.layers.Dense(
            self.num_tags, kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02), name="dense")

    def call(self, backbone_outputs, training=False):
        return self.dense(self.dropout(backbone_outputs["sequence_output"], training=training))

    def get_config(self):
        return {**super().get_config(), "num_tags": self.num_tags, "dropout": self.rate}


@keras.utils.register_keras_serializable("tfbig")
class TokenAccuracy(keras.metrics.Metric):
    """The share of labelled pieces (targets ≠ IGNORE) whose argmax is their tag."""

    def __init__(self, name="token_accuracy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.right = self.add_weight(name="right", initializer="zeros", dtype=tf.float64)
        self.total = self.add_weight(name="total", initializer="zeros", dtype=tf.float64)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = tf.cast(y_true, tf.int32)
        labelled = tf.not_equal(y_true, IGNORE)
        hit = tf.equal(tf.argmax(y_pred, axis=-1, output_type=tf.int32), y_true) & labelled
        self.right.assign_add(tf.reduce_sum(tf.cast(hit, tf.float64)))
        self.total.assign_add(tf.reduce_sum(tf.cast(labelled, tf.float64)))

    def result(self):
        return tf.math.divide_no_nan(self.right, self.total)

    def reset_state(self):
        self.right.assign(0.0)
        self.total.assign(0.0)


def _cut_padded(ids, labels, n):
    return ids[:n], labels[:n]


@register_task
class TaggingTask(Task):
    """A tag per word. Raw targets are tag lists (one per word of `Examples.words`); encoded, tag-id arrays."""

    name = "tagging"
    loss_name = "ce"
    monitor_default = "val_token_accuracy"
    cacheable_outputs = False  # (B, T, C) per piece: the teachers run live in distillation

    def __init__(self, labels: list | None = None, label_all_tokens: bool = False):
        super().__init__(labels)
        self.label_all_tokens = bool(label_all_tokens)
        self._all_tags: set = set()  # every tag the data holds (see `fit`)
        self._eval_words = None  # the words of the last split batched in order (named in the report)

    # --- data -------------------------------------------------------------------------------------------
    def read_examples(self, data_cfg):
        from tfbig.data.conll import read_tagged

        self.label_all_tokens = bool(data_cfg.label_all_tokens)
        return read_tagged(data_cfg)

    def read_given(self, data_cfg):
        """Given files (Task.read_given), each read by `read_examples` (CoNLL, word/TAG or JSONL, by its name or
        data.format), leaks judged on the sentence's words; without a validation file a seeded random part of
        train's sentences is held out (`split`). A tag that validation or test holds and train never does is
        refused, naming it and the file: unlike a random split, where `fit` keeps such a tag so that it is scored
        as a miss, a given train file is all the model can learn from, so such a tag is most often another tag
        scheme or a typo (PER for B-PER), and a score over it would be capped without saying so."""
        self._all_tags = set()
        return super().read_given(data_cfg)

    def split(self, examples, test_fraction, val_fraction, seed):
        """A seeded random split by sentence (a sentence's words stay together), order kept within each part."""
        from tfbig.data.split import Splits
        from tfbig.data.text_files import Examples
        from tfbig.errors import UserError

        n = len(examples)
        n_test, n_val = int(round(n * test_fraction)), int(round(n * val_fraction))
        if n - n_test - n_val < 1:
            raise UserError(f"{n} sentences leave none for training with test_fraction {test_fraction} and "
                            f"val_fraction {val_fraction}")
        order = list(range(n))
        random.Random(seed).shuffle(order)
        parts = (order[n_test + n_val:], order[n_test:n_test + n_val], order[:n_test])

        def take(index):
            out = Examples()
            for i in sorted(index):
                out.add_words(examples.words[i], examples.labels[i])
            return out

        self._all_tags = {t for tags in examples.labels for t in tags}
        return Splits(*(take(p) for p in parts), labels=sorted(self._all_tags))

    def fit(self, targets):
        """The sorted tags of the training sentences, and those only validation or test hold (a rare tag the
        random split left out of training must still be scored as a miss, not dropped)."""
        self.labels = sorted({t for tags in targets for t in tags} | self._all_tags)
        return self

    def check_targets(self, targets, where):
        from tfbig.errors import UserError

        unknown = sorted({t for tags in targets for t in tags} - set(self.labels))
        if unknown:
            raise UserError(f"{where}: tags {unknown} are not among the training tags {self.labels}")

    def encode(self, targets):
        index = {name: i for i, name in enumerate(self.labels)}
        out = np.empty(len(targets), dtype=object)
        for i, tags in enumerate(targets):
            out[i] = np.asarray([index.get(t, IGNORE) for t in tags], np.int32)
        return out

    def split_dataset(self, split, tokenizer, batch_size, shuffle=False, seed=0, bucketing=True,
                      static_shapes=False, extra_targets=None, tokenize_batch: int = 256, **kwargs):
        """(features, (B, T) tag ids with IGNORE) batches of a split's sentences, tokenized word by word."""
        from tfbig.data.pipeline import bucket_boundaries
        from tfbig.data.tokenizer import features_from_ids

        if extra_targets:
            raise ValueError("task 'tagging' has no cached teacher outputs")
        if not hasattr(split, "words"):
            raise ValueError("task 'tagging' reads tagged sentences (Examples with words), not shards")
        if not shuffle:
            self._eval_words = split.words
        words = tf.ragged.constant(split.words, dtype=tf.string, ragged_rank=1) if len(split) else \
            tf.RaggedTensor.from_row_lengths(tf.constant([], tf.string), tf.constant([], tf.int64))
        tags = tf.RaggedTensor.from_row_lengths(
            tf.constant(np.concatenate(list(self.encode(split.labels)) or [np.zeros(0, np.int32)]), tf.int32),
            words.row_lengths())
        pad = tokenizer.pad_id

        def tokenize(w, t):
            out = align(tokenizer, w, t, self.label_all_tokens)
            return (out["input_ids"].to_tensor(pad), out["labels"].to_tensor(IGNORE),
                    tf.cast(out["input_ids"].row_lengths(), tf.int32))

        ds = tf.data.Dataset.from_tensor_slices((words, tags)).ragged_batch(tokenize_batch)
        ds = ds.map(tokenize, num_parallel_calls=tf.data.AUTOTUNE).unbatch().map(_cut_padded).cache()
        if shuffle:
            ds = ds.shuffle(max(len(split), 1), seed=seed, reshuffle_each_iteration=True)
        padding = (pad, IGNORE)
        length = tokenizer.max_length
        if static_shapes:
            ds = ds.padded_batch(batch_size, padded_shapes=([length], [length]), padding_values=padding,
                                 drop_remainder=True)
        elif bucketing and bucket_boundaries(length):
            bounds = bucket_boundaries(length)
            ds = ds.bucket_by_sequence_length(lambda ids, y: tf.shape(ids)[0], bucket_boundaries=bounds,
                                              bucket_batch_sizes=[batch_size] * (len(bounds) + 1),
                                              padding_values=padding)
        else:
            ds = ds.padded_batch(batch_size, padding_values=padding)
        return ds.map(lambda ids, y: (features_from_ids(ids, pad), y),
                      num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    def split_baseline(self, train, val, test, seed):
        from tfbig.reports.tagging import most_frequent_tag_baseline

        return most_frequent_tag_baseline(train.words + val.words, train.labels + val.labels, test.words,
                                          test.labels)

    # --- model ------------------------------------------------------------------------------------------
    def build_head(self, dropout):
        return TaggingHead(len(self.labels), dropout=dropout, name="head")

    def loss(self, y, outputs):
        """(B, T) cross-entropy per piece; IGNORE positions get a dummy target (weight 0 drops them)."""
        y = tf.cast(y, tf.int32)
        return keras.losses.sparse_categorical_crossentropy(tf.where(y == IGNORE, 0, y), outputs, from_logits=True)

    def loss_weights(self, y):
        return tf.cast(tf.not_equal(tf.cast(y, tf.int32), IGNORE), tf.float32)

    def metrics(self):
        return [TokenAccuracy()]

    # --- evaluation -------------------------------------------------------------------------------------
    def report(self, y_true, outputs):
        from tfbig.reports.tagging import tagging_report

        return tagging_report(y_true, outputs, self.labels, self._eval_words)

    def write_report(self, report, folder, title="test split"):
        """The tag confusion matrix PNG and report.md (scores, per-tag table, the worst sentences)."""
        import os

        from tfbig.io_utils import atomic_write_bytes, atomic_write_text
        from tfbig.reports.plots import confusion_matrix_png

        atomic_write_bytes(os.path.join(folder, "confusion_matrix.png"),
                           confusion_matrix_png(report["confusion_matrix"], self.labels,
                                                f"Tag confusion matrix, {title}"))
        images = {"tag confusion matrix": "confusion_matrix.png"}
        details = {k: report[k] for k in ("task", "job", "split_sizes", "train_seconds") if k in report}
        atomic_write_text(os.path.join(folder, "report.md"), self.markdown(report, f"Tagging, {title}", details,
                                                                           images))
        return images

    def summary_scalars(self, report):
        out = {"token_accuracy": report["token_accuracy"], "macro_f1": report["macro"]["f1"]}
        if "entities" in report:
            out["entity_f1"] = report["entities"]["f1"]
        return out

    def format_report(self, report):
        from tfbig.reports.tagging import format_tagging_report

        return format_tagging_report(report)

    def markdown(self, report, title, details, images):
        from tfbig.reports.tagging import tagging_markdown

        return tagging_markdown(report, title, details, images)

    def floor_metrics(self, report):
        """Token accuracy: the one metric the most-frequent-tag floor has."""
        return {"token_accuracy": report["token_accuracy"]}

    # --- serving ----------------------------------------------------------------------------------------
    def serving_outputs(self, outputs):
        probs = tf.nn.softmax(tf.cast(outputs, tf.float32), axis=-1)  # (B, T, C)
        tag_id = tf.argmax(probs, axis=-1, output_type=tf.int32)
        return {"probabilities": probs, "tag_id": tag_id, "tag": tf.gather(tf.constant(self.labels), tag_id)}

    def serving_module(self, model, tokenizer, asset_files):
        from tfbig.tasks.tagging_serving import TaggingServingModule

        return TaggingServingModule(model, tokenizer, self, asset_files)

    # --- distillation -----------------------------------------------------------------------------------
    def soft_targets(self, teacher_outputs, weights, temperature):
        """(B, T, C) log of the teachers' weighted softened tag distributions, at every piece."""
        logs = [tf.nn.log_softmax(tf.cast(t, tf.float32) / temperature, axis=-1) for t in teacher_outputs]
        if len(logs) == 1:
            return logs[0]
        log_w = tf.reshape(tf.math.log(tf.constant(weights, tf.float32)), [-1, 1, 1, 1])  # (K, 1, 1, 1)
        return tf.reduce_logsumexp(tf.stack(logs) + log_w, axis=0)

    def distill_loss(self, student_outputs, targets, temperature):
        """(B, T) T²·KL per piece; `loss_weights` keeps the labelled ones (the objective's global mean)."""
        from tfbig.tasks.soft_targets import kd_per_example

        return kd_per_example(student_outputs, targets, temperature)

    def restore_export_metadata(self, metadata):
        self.label_all_tokens = bool(metadata.get("label_all_tokens", self.label_all_tokens))
        return self

    def served_outputs(self, export, examples, batch_size):
        """(N, W) tag ids per word (IGNORE after the last word, and for a word the export could not tag: cut by
        max_length) and (N, W, C) log-probabilities per word, from the export's predict_words signature."""
        width = max([len(w) for w in examples.words] + [1])
        words = np.array([list(w) + [""] * (width - len(w)) for w in examples.words], dtype=object)
        parts = [export.call("predict_words", words=words[i:i + batch_size].astype(bytes))["probabilities"]
                 for i in range(0, len(words), batch_size)]
        probs = np.concatenate(parts) if parts else np.zeros((0, width, len(self.labels)), np.float32)
        y = np.full(words.shape, IGNORE, np.int32)
        for row, ids in enumerate(self.encode(examples.labels)):
            y[row, :len(ids)] = ids
        y[probs.sum(-1) <= 0] = IGNORE
        self._eval_words = examples.words
        return y, np.log(np.maximum(probs, 1e-30))

    def format_prediction(self, row):
        """word/TAG for each word of the text (padding words left out)."""
        words = [w.decode("utf-8") if isinstance(w, bytes) else str(w) for w in row["words"]]
        tags = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in row["tags"]]
        return " ".join(f"{w}/{t or '?'}" for w, t, start in zip(words, tags, row["start"]) if start >= 0)

    def export_metadata(self):
        return {**super().export_metadata(), "label_all_tokens": self.label_all_tokens}

    def get_config(self):
        return {**super().get_config(), "label_all_tokens": self.label_all_tokens}
