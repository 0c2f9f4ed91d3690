"""SavedModel export in TF Serving's layout (`<root>/<version>/`), written to a temporary folder and renamed."""
import logging
import os
import shutil
import tempfile

from tfbig._keras import tf
from tfbig.errors import UserError

log = logging.getLogger(__name__)


class ServingModule(tf.Module):
    """What a server calls: raw text in, probabilities and class names out; or token ids in."""

    def __init__(self, model, tokenizer, labels: list):
        super().__init__(name="tfbig_serving")
        self.model = model
        self.tokenizer = tokenizer
        self.labels = tf.constant(list(labels))

    def _outputs(self, features):
        probs = tf.nn.softmax(tf.cast(self.model(features, training=False), tf.float32), axis=-1)
        label_id = tf.argmax(probs, axis=-1, output_type=tf.int32)
        return {"probabilities": probs, "label_id": label_id, "label": tf.gather(self.labels, label_id)}

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


def next_version(root: str) -> int:
    versions = [int(n) for n in os.listdir(root) if n.isdigit()] if os.path.isdir(root) else []
    return max(versions, default=0) + 1


def export_saved_model(model, tokenizer, labels: list, root: str, version: int | None = None,
                       assets: dict | None = None) -> str:
    """Writes `root/<version>/` atomically and returns its path; an existing version is never overwritten.

    assets: dict of {file name: text} written to `assets.extra/` (labels, the run's config).
    """
    version = next_version(root) if version is None else int(version)
    final = os.path.join(root, str(version))
    if os.path.exists(final):
        raise UserError(f"export {final} exists already; versions are never overwritten")
    os.makedirs(root, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=root, prefix=f".tmp-{version}-")
    try:
        module = ServingModule(model, tokenizer, labels)
        signatures = {"serving_default": module.serve_text, "predict_ids": module.predict_ids}
        tf.saved_model.save(module, tmp, signatures=signatures)
        extra = os.path.join(tmp, "assets.extra")
        os.makedirs(extra, exist_ok=True)
        files = {"labels.txt": "\n".join(labels) + "\n", "vocab.txt": "\n".join(tokenizer.vocab) + "\n"}
        files.update(assets or {})
        for name, text in files.items():
            with open(os.path.join(extra, name), "w", encoding="utf-8") as f:
                f.write(text)
        os.rename(tmp, final)  # atomic on one filesystem; fails if `final` appeared meanwhile
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("exported %s", final)
    return final
