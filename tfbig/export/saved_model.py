"""SavedModel export in TF Serving's layout (`<root>/<version>/`), written to a temporary folder and renamed."""
import json
import logging
import os
import shutil
import tempfile

from tfbig._keras import tf
from tfbig.errors import UserError
from tfbig.labels import labels_text

from tfbig.tasks.serving import CHUNK, ServingModule  # noqa: F401 (CHUNK: re-exported)

log = logging.getLogger(__name__)

WARMUP_TEXTS = ("Shares rose after the company reported strong sales growth.",
                "The club won the game in the last minute.", "")


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
                       assets: dict | None = None, warmup_texts=WARMUP_TEXTS, int8: bool = False) -> str:
    """Writes `root/<version>/` atomically and returns its path; an existing version is never overwritten.

    task: the run's Task (its `serving_outputs` name the signature's outputs), or a list of class names.
    assets: dict of {file name: text} kept in the SavedModel's assets/ (e.g. the run's config.yaml), beside
    labels.txt, vocab.txt and tfbig_export.json. warmup_texts: texts of the requests written to
    assets.extra/tf_serving_warmup_requests. int8: the encoder's Dense layers compute in int8
    (tfbig.export.int8; a float32 model with tfbig's encoder); tfbig_export.json then records precision int8.
    Otherwise tfbig's encoder computes each attention's query, key and value in one product, its kernels
    stored in the compute dtype (tfbig.export.fused), the export saving these instead of the ones they replace.
    Either way a model that reads only the [CLS] state computes its last block at that position only.
    """
    from tfbig.export.fused import first_token_only, served_products
    from tfbig.export.int8 import INT8, int8_dense
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
        # Plain kernels, no adapter ops; then the merged kernels quantized (int8) or fused (tfbig.export.fused).
        # A model reading only the [CLS] state gets its last block at that position only (any precision).
        with tempfile.TemporaryDirectory() as staging, merged_lora(model), first_token_only(model), \
                (int8_dense(model) if int8 else served_products(model)) as (served, replaced):
            precision = INT8 if int8 else model_precision(model)
            asset_files = _write_assets(staging, tokenizer, task, assets or {}, precision)
            module = task.serving_module(model, tokenizer, asset_files) or ServingModule(model, tokenizer, task,
                                                                                         asset_files)
            # the int8 (or fused) kernels are saved instead of the ones they replace
            skip = {id(v) for v in replaced}
            module.model_variables = [v for v in module.model_variables if id(v) not in skip] + served
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
