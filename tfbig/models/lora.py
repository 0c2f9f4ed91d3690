"""LoRA on tfbig's encoder: adapters on chosen Dense layers of every block, the rest frozen; merging for
export; the adapters (and whatever else trains) saved to and loaded from a small file of their own."""
import contextlib
import json
import os

import numpy as np

from tfbig._keras import keras
from tfbig.errors import UserError
from tfbig.layers.lora import LoraDense, freeze_weights
from tfbig.names import LORA_TARGETS

ADAPTERS_FILE = "adapters.safetensors"


def _target_layer(block, target: str):
    """The Dense of `block` that `target` (one of LORA_TARGETS) names."""
    return {"query": block.attention.query, "key": block.attention.key, "value": block.attention.value,
            "attention_output": block.attention.output_dense, "intermediate": block.feed_forward.intermediate,
            "output": block.feed_forward.output_dense}[target]


def require_tfbig_encoder(backbone, what: str):
    from tfbig.models.encoder import BertEncoder

    if not isinstance(backbone, BertEncoder):
        raise UserError(f"{what} needs model.backbone tfbig (tfbig's own encoder); hf's TFBertModel builds its "
                        "Dense layers inside transformers, where tfbig cannot add adapters or recompute blocks")


def apply_lora(encoder, rank: int, alpha: float = 16.0, dropout: float = 0.0, targets=("query", "value"),
               layer_norms: bool = False) -> None:
    """Freezes the built `encoder` (a BertEncoder) and adds rank-`rank` adapters to the `targets` of each block.

    targets: names of LORA_TARGETS. layer_norms: bool. Its LayerNorms stay trainable.
    Call inside the strategy scope the model is built in; the task head (built by TaskModel) stays trainable.
    """
    require_tfbig_encoder(encoder, "model.lora")
    unknown = [t for t in targets if t not in LORA_TARGETS]
    if unknown:
        raise UserError(f"model.lora.targets '{unknown[0]}' is not one of {', '.join(LORA_TARGETS)}")
    # Keras 2 keeps trainability per layer, and a frozen parent freezes its children: instead each layer's
    # own weights move to its non-trainable list (embeddings own theirs beside a LayerNorm sublayer).
    for layer in encoder._flatten_layers(include_self=True, recursive=True):
        if layer_norms and isinstance(layer, keras.layers.LayerNormalization):
            continue
        freeze_weights(layer, list(layer._trainable_weights))
    for block in encoder.blocks:
        for target in targets:
            _target_layer(block, target).enable_lora(rank, alpha, dropout)


def lora_layers(model) -> list:
    """The LoraDense layers of `model` that carry an adapter, in a stable order."""
    return [layer for layer in model._flatten_layers(include_self=True, recursive=True)
            if isinstance(layer, LoraDense) and layer.lora_rank]


def adapter_variables_ids(model) -> set:
    return {id(v) for layer in lora_layers(model) for v in (layer.lora_a, layer.lora_b)}


@contextlib.contextmanager
def merged_lora(model):
    """Inside, each adapter's update is folded into its kernel (W + (α/r)·A·B) and the layers skip A·B, so a
    traced graph has a plain model's ops. On exit the kernels get their exact former values back."""
    layers = lora_layers(model)
    saved = [layer.kernel.numpy() for layer in layers]
    try:
        for layer in layers:
            layer.kernel.assign(layer.kernel + layer.delta())
            layer.merged = True
        yield model
    finally:
        for layer, kernel in zip(layers, saved):
            layer.kernel.assign(kernel)
            layer.merged = False


def served_variables(model) -> list:
    """The model's variables without the adapters (a merged export has no use for them)."""
    skip = adapter_variables_ids(model)
    return [v for v in model.variables if id(v) not in skip]


def trained_variables(model) -> dict:
    """{stable name: variable} of what a LoRA model trains: adapters, the head, trainable LayerNorms.

    Names follow the model's structure (`backbone.blocks.3.query.lora_a`, `head.0`), not TensorFlow's
    variable names, which depend on the scope a layer was built in.
    """
    backbone = model.backbone
    found = {}
    for i, block in enumerate(backbone.blocks):
        for target in LORA_TARGETS:
            layer = _target_layer(block, target)
            if layer.lora_rank:
                found[f"backbone.blocks.{i}.{target}.lora_a"] = layer.lora_a
                found[f"backbone.blocks.{i}.{target}.lora_b"] = layer.lora_b
    norms = [(f"backbone.embeddings.layer_norm", backbone.embeddings.layer_norm)]
    for i, block in enumerate(backbone.blocks):
        norms += [(f"backbone.blocks.{i}.attention_layer_norm", block.attention_layer_norm),
                  (f"backbone.blocks.{i}.output_layer_norm", block.output_layer_norm)]
    for name, norm in norms:
        if norm.trainable:
            found[name + ".gamma"], found[name + ".beta"] = norm.gamma, norm.beta
    for j, weight in enumerate(model.head.weights):
        found[f"head.{j}"] = weight
    return found


def save_adapters(model, path: str, settings: dict | None = None) -> int:
    """Writes `trained_variables(model)` to a safetensors file (atomically); returns its size in bytes.

    settings: dict. Stored in the file's metadata (the LoRA config), for a reader to check.
    """
    from safetensors.numpy import save_file

    tensors = {name: np.asarray(v.numpy(), np.float32) for name, v in trained_variables(model).items()}
    tmp = path + ".tmp"
    save_file(tensors, tmp, metadata={"tfbig_lora": json.dumps(settings or {})})
    os.replace(tmp, path)
    return os.path.getsize(path)


def load_adapters(model, path: str) -> None:
    """Assigns the adapters (and head, LayerNorms) of `path` to `model`, a base model with LoRA applied the
    same way. Raises UserError naming the first tensor missing, extra or of another shape."""
    from safetensors.numpy import load_file

    if not os.path.isfile(path):
        raise UserError(f"adapter file not found: {path}")
    state = load_file(path)
    wanted = trained_variables(model)
    for name, var in wanted.items():
        if name not in state:
            raise UserError(f"{path}: no tensor '{name}' (the model has LoRA on other layers or another head?)")
        if tuple(state[name].shape) != tuple(var.shape):
            raise UserError(f"{path}: tensor '{name}' has shape {tuple(state[name].shape)}, the model expects "
                            f"{tuple(var.shape)} (another model.lora.rank?)")
    extra = sorted(set(state) - set(wanted))
    if extra:
        raise UserError(f"{path}: tensor '{extra[0]}' has no place in the model ({len(extra)} extra)")
    keras.backend.batch_set_value([(var, state[name]) for name, var in wanted.items()])


def save_run_adapters(cfg, model, run_dir: str) -> dict:
    """For a LoRA run: writes <run_dir>/adapters.safetensors; returns the report's entries (else {})."""
    lora = cfg.model.lora
    if not lora.rank:
        return {}
    path = os.path.join(run_dir, ADAPTERS_FILE)
    size = save_adapters(model, path, settings={"rank": lora.rank, "alpha": lora.alpha,
                                                 "targets": list(lora.targets), "layer_norms": lora.layer_norms})
    trained = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    weights = [v for v in model.backbone.weights + model.head.weights if v.dtype.is_floating]  # not metrics, RNGs
    return {"adapters": path, "adapter_bytes": size, "trainable_params": trained,
            "trainable_share": trained / max(1, sum(int(np.prod(v.shape)) for v in weights))}
