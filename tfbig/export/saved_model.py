"""SavedModel export in TF Serving's layout (`<root>/<version>/`), written to a temporary folder and renamed."""
import json
import logging
import os
import shutil
import tempfile

from tfbig._keras import tf
from tfbig.errors import UserError
from tfbig.labels import labels_text

log = logging.getLogger(__name__)

# Rows per length-sorted chunk a signature runs at a time (see ServingModule._outputs): small enough that a short
# text rarely shares a chunk with a long one, large enough to keep the matmuls efficient.
CHUNK = 16
WARMUP_TEXTS = ("Shares rose after the company reported strong sales growth.",
                "The club won the game in the last minute.", "")


class ServingModule(tf.Module):
    """What a server calls: raw text in, the task's outputs (probabilities and class names, ...) out; or
    token ids in.

    model: keras model. Takes the features dict, returns the task's outputs (logits for classification).
    tokenizer: BertTextTokenizer or CoreBertTokenizer. (B,) strings -> features dict.
    task: tfbig Task, or a list of class names (classification). Turns outputs into named tensors.
    asset_files: dict of {name: path}. Files kept in the SavedModel's assets/ (labels, config, vocabulary).
    """

    def __init__(self, model, tokenizer, task, asset_files: dict | None = None):
        from tfbig.models.lora import served_variables
        from tfbig.tasks.registry import as_task

        super().__init__(name="tfbig_serving")
        # The model's variables are tracked, the Keras model is not: Keras would otherwise trace and save
        # every layer's call for revival (slow to export and load), which a server never uses.
        # LoRA adapters are left out: an export traces the model with them merged into the kernels.
        self.model_variables = served_variables(model)
        self._model = lambda features: model(features, training=False)
        self.tokenizer = tokenizer
        self._task = as_task(task)
        self.asset_files = {name: tf.saved_model.Asset(path) for name, path in (asset_files or {}).items()}

    def _forward(self, features):
        # An empty batch (B=0) or empty sequences (T=0) would break attention's shapes: pad to at least
        # (1, 1) with masked positions, then keep the first B rows.
        b, t = tf.shape(features["input_ids"])[0], tf.shape(features["input_ids"])[1]
        padding = [[0, tf.maximum(1 - b, 0)], [0, tf.maximum(1 - t, 0)]]
        return self._model({k: tf.pad(v, padding) for k, v in features.items()})[:b]

    def _outputs(self, features):
        """The task's outputs of a batch run as length-sorted chunks of CHUNK rows, each cut to its own longest
        text: a batch of short texts with one long one costs little more than its short texts, not B × longest.
        Padding is masked out of attention, so the outputs are the whole batch's (to float rounding)."""
        lengths = tf.reduce_sum(features["attention_mask"], axis=1)
        order = tf.argsort(lengths, direction="DESCENDING", stable=True)
        ordered = {k: tf.gather(v, order) for k, v in features.items()}
        longest = tf.gather(lengths, order)
        b = tf.shape(order)[0]
        chunks = tf.maximum((b + CHUNK - 1) // CHUNK, 1)
        parts = tf.TensorArray(tf.float32, size=chunks, infer_shape=False)
        for i in tf.range(chunks):
            start = i * CHUNK
            end = tf.minimum(start + CHUNK, b)
            width = tf.reduce_max(tf.concat([longest[start:end], [0]], axis=0))
            parts = parts.write(i, tf.cast(self._forward({k: v[start:end, :width] for k, v in ordered.items()}),
                                           tf.float32))
        outputs = tf.gather(parts.concat(), tf.argsort(order))  # back to the request's order
        return self._task.serving_outputs(outputs)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve_text(self, text):
        return self._outputs(self.tokenizer(text))

    @tf.function(input_signature=[
        tf.TensorSpec([None, None], tf.int32, name="input_ids"),
        tf.TensorSpec([None, None], tf.int32, name="attention_mask"),
        tf.TensorSpec([None, None], tf.int32, name="token_type_ids"),
    ])
    def predict_ids(self, input_ids, attention_mask, token_type_ids):
        return self._outputs({"input_ids": input_ids, "attention_mask": attention_mask,
                              "token_type_ids": token_type_ids})

    def signatures(self) -> dict:
        return {"serving_default": self.serve_text, "predict_ids": self.predict_ids}


def model_precision(model) -> str:
    """The Keras policy `model` computes in (float32, mixed_bfloat16, ...), as its export records it."""
    policy = getattr(model, "dtype_policy", None)
    return getattr(policy, "name", None) or "float32"


def next_version(root: str) -> int:
    versions = [int(n) for n in os.listdir(root) if n.isdigit()] if os.path.isdir(root) else []
    return max(versions, default=0) + 1


def tokenizer_kind(tokenizer) -> str:
    """"core" for CoreBertTokenizer (core TF ops only), "fast" for BertTextTokenizer (tensorflow-text ops)."""
    return "core" if hasattr(tokenizer, "vocab_asset") else "fast"


def _write_assets(folder: str, tokenizer, task, assets: dict, precision: str) -> dict:
    """Writes the asset files to `folder`; returns {name: path} for ServingModule."""
    labels = list(task.labels or [])
    metadata = {"tokenizer": tokenizer_kind(tokenizer), **task.export_metadata(), "max_length": tokenizer.max_length,
                "precision": precision}
    files = {"labels.txt": labels_text(labels), "tfbig_export.json": json.dumps(metadata, indent=2) + "\n"}
    if tokenizer_kind(tokenizer) == "fast":  # the core tokenizer tracks its own vocabulary asset
        files["vocab.txt"] = "\n".join(tokenizer.vocab) + "\n"
    files.update(assets)
    paths = {}
    for name, text in files.items():
        paths[name] = os.path.join(folder, name)
        with open(paths[name], "w", encoding="utf-8") as f:
            f.write(text)
    return paths


def export_saved_model(model, tokenizer, task, root: str, version: int | None = None,
                       assets: dict | None = None, warmup_texts=WARMUP_TEXTS) -> str:
    """Writes `root/<version>/` atomically and returns its path; an existing version is never overwritten.

    task: the run's Task (its `serving_outputs` name the signature's outputs), or a list of class names.
    assets: dict of {file name: text} kept in the SavedModel's assets/ (e.g. the run's config.yaml), beside
    labels.txt, vocab.txt and tfbig_export.json. warmup_texts: texts of the requests written to
    assets.extra/tf_serving_warmup_requests.
    """
    from tfbig.export.warmup import write_warmup_requests
    from tfbig.models.lora import merged_lora
    from tfbig.tasks.registry import as_task

    task = as_task(task)
    labels = list(task.labels or [])
    if task.name == "classification" and not labels:
        raise UserError("export: no class names")
    version = next_version(root) if version is None else int(version)
    if version < 1:
        raise UserError(f"export version must be a positive integer, got {version}")
    final = os.path.join(root, str(version))
    if os.path.exists(final):
        raise UserError(f"export {final} exists already; versions are never overwritten")
    os.makedirs(root, exist_ok=True)
    # A dot-name TF Serving ignores (it loads integer folders only); a killed export leaves only this.
    tmp = tempfile.mkdtemp(dir=root, prefix=f".tmp-{version}-")
    try:
        with tempfile.TemporaryDirectory() as staging, merged_lora(model):  # plain kernels, no adapter ops
            asset_files = _write_assets(staging, tokenizer, task, assets or {}, model_precision(model))
            module = task.serving_module(model, tokenizer, asset_files) or ServingModule(model, tokenizer, task,
                                                                                         asset_files)
            tf.saved_model.save(module, tmp, signatures=module.signatures())
        extra = os.path.join(tmp, "assets.extra")  # copies for clients that read files beside the model
        os.makedirs(extra, exist_ok=True)
        for name, text in {"labels.txt": labels_text(labels), **(assets or {})}.items():
            with open(os.path.join(extra, name), "w", encoding="utf-8") as f:
                f.write(text)
        write_warmup_requests(os.path.join(tmp, "assets.extra", "tf_serving_warmup_requests"),
                              list(warmup_texts), model_name=os.path.basename(os.path.abspath(root)),
                              pairs=getattr(module, "pairs", False))
        os.rename(tmp, final)  # atomic on one filesystem; fails if `final` appeared meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("exported %s (tokenizer %s)", final, tokenizer_kind(tokenizer))
    return final
