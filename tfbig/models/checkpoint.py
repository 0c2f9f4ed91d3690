"""Reads a Hugging Face BERT folder (config.json + model.safetensors or tf_model.h5) into a BertEncoder.

Neither transformers nor torch is imported: safetensors is read with its numpy loader, tf_model.h5 with
h5py. Both are first brought to PyTorch's naming and shapes (Linear weights (out, in)), then every tensor
is checked against what the encoder expects and mapped onto its variables.
"""
import logging
import os
import re

import numpy as np

from tfbig._keras import keras
from tfbig.errors import UserError
from tfbig.layers.feed_forward import HIDDEN_ACTS
from tfbig.model_folder import read_model_config

log = logging.getLogger(__name__)

ENCODER_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
                "type_vocab_size", "layer_norm_eps", "initializer_range")
HEAD_PREFIXES = ("cls.", "classifier.", "qa_outputs.")  # task heads of BertFor* checkpoints: not the encoder
IGNORED = ("embeddings.position_ids",)  # a buffer, not a weight


def encoder_kwargs(model_dir: str) -> dict:
    """BertEncoder arguments from the folder's config.json (same names)."""
    config = read_model_config(model_dir)
    where = os.path.join(model_dir, "config.json")
    if config.get("model_type", "bert") != "bert":
        raise UserError(f"{where}: model_type '{config['model_type']}' is not bert")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise UserError(f"{where}: position_embedding_type '{config['position_embedding_type']}' is not supported")
    if config.get("hidden_act", "gelu") not in HIDDEN_ACTS:
        raise UserError(f"{where}: hidden_act '{config['hidden_act']}' is not one of {', '.join(HIDDEN_ACTS)}")
    if "vocab_size" not in config:
        raise UserError(f"{where}: no vocab_size")
    return {k: config[k] for k in ENCODER_KEYS if k in config}


def _pt_name(name: str) -> str:
    name = name[len("bert."):] if name.startswith("bert.") else name
    return name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")


def _h5_to_pt(name: str, value: np.ndarray):
    """'bert/bert/encoder/layer_._0/output/dense/kernel:0' -> ('encoder.layer.0.output.dense.weight', kernelᵀ)."""
    parts = name.split(":")[0].split("/")
    anchors = [i for i, p in enumerate(parts) if p in ("embeddings", "encoder", "pooler")]
    if "predictions" in parts:  # the masked-LM head of TFBertForMaskedLM / TFBertForPreTraining
        anchors = [parts.index("predictions")]
        parts[anchors[0]] = "cls.predictions"
    if not anchors:
        return None, value  # outside the encoder (a task head)
    parts = parts[anchors[0]:]
    last = parts[-1]
    if last == "kernel":
        parts[-1], value = "weight", value.T
    elif last in ("gamma", "embeddings"):
        parts[-1] = "weight"
    elif last == "beta":
        parts[-1] = "bias"
    return re.sub(r"layer_\._(\d+)", r"layer.\1", ".".join(parts)), value


def read_bert_checkpoint(model_dir: str):
    """Returns ({PyTorch-style name: array}, path read) from model.safetensors, else tf_model.h5."""
    st_path = os.path.join(model_dir, "model.safetensors")
    h5_path = os.path.join(model_dir, "tf_model.h5")
    state = {}
    if os.path.isfile(st_path):
        from safetensors.numpy import load_file

        try:
            raw = load_file(st_path)
        except Exception as e:  # a truncated or foreign file
            raise UserError(f"{st_path}: cannot read safetensors: {e}") from None
        for name, value in raw.items():
            state[_pt_name(name)] = value
        return state, st_path
    if os.path.isfile(h5_path):
        import h5py

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                pt, value = _h5_to_pt(name, np.asarray(obj))
                if pt is not None:
                    state[pt] = value
        with h5py.File(h5_path, "r") as f:
            f.visititems(visit)
        return state, h5_path
    raise UserError(f"{model_dir}: no model.safetensors or tf_model.h5")


def weight_plan(encoder) -> list:
    """[(variable, PyTorch name, PyTorch shape, transpose)] covering every encoder variable once."""
    if encoder.final_layer_norm is not None:
        raise UserError("a pre-LayerNorm encoder (norm_first) has no Hugging Face BERT layout to load")
    h, i = encoder.hidden_size, encoder.intermediate_size
    emb = encoder.embeddings
    plan = [
        (emb.word_embeddings, "embeddings.word_embeddings.weight", (encoder.vocab_size, h), False),
        (emb.position_embeddings, "embeddings.position_embeddings.weight", (encoder.max_position_embeddings, h),
         False),
        (emb.token_type_embeddings, "embeddings.token_type_embeddings.weight", (encoder.type_vocab_size, h), False),
    ]

    def dense(layer, prefix, n_out, n_in):  # PyTorch Linear: weight (out, in); Keras Dense: kernel (in, out)
        plan.append((layer.kernel, prefix + ".weight", (n_out, n_in), True))
        plan.append((layer.bias, prefix + ".bias", (n_out,), False))

    def norm(layer, prefix):
        plan.append((layer.gamma, prefix + ".weight", (h,), False))
        plan.append((layer.beta, prefix + ".bias", (h,), False))

    norm(emb.layer_norm, "embeddings.LayerNorm")
    for n, block in enumerate(encoder.blocks):
        p = f"encoder.layer.{n}."
        for x in ("query", "key", "value"):
            dense(getattr(block.attention, x), p + f"attention.self.{x}", h, h)
        dense(block.attention.output_dense, p + "attention.output.dense", h, h)
        norm(block.attention_layer_norm, p + "attention.output.LayerNorm")
        dense(block.feed_forward.intermediate, p + "intermediate.dense", i, h)
        dense(block.feed_forward.output_dense, p + "output.dense", h, i)
        norm(block.output_layer_norm, p + "output.LayerNorm")
    dense(encoder.pooler.dense, "pooler.dense", h, h)
    return plan


def head_weight_plan(head) -> list:
    """[(variable, PyTorch name, PyTorch shape, transpose)] of a MaskedLMHead, as BertForMaskedLM names them
    (the decoder is tied to the word embeddings: no tensor of its own)."""
    h, v = head.hidden_size, head.vocab_size
    return [(head.dense.kernel, "cls.predictions.transform.dense.weight", (h, h), True),
            (head.dense.bias, "cls.predictions.transform.dense.bias", (h,), False),
            (head.layer_norm.gamma, "cls.predictions.transform.LayerNorm.weight", (h,), False),
            (head.layer_norm.beta, "cls.predictions.transform.LayerNorm.bias", (h,), False),
            (head.bias, "cls.predictions.bias", (v,), False)]


def load_mlm_head_weights(head, state: dict, path: str) -> bool:
    """Assigns a checkpoint's `cls.predictions.*` to a built MaskedLMHead; False (and a log line) when the
    checkpoint has none, so the head keeps its fresh initialisation. UserError on a partial or misshapen head."""
    plan = head_weight_plan(head)
    present = [name for _, name, _, _ in plan if name in state]
    if not present:
        log.info("%s has no masked-LM head (cls.predictions.*): a fresh head is initialised", path)
        return False
    for _, name, shape, _ in plan:
        if name not in state:
            raise UserError(f"{path}: the masked-LM head has {present[0]} but no '{name}'")
        if tuple(state[name].shape) != tuple(shape):
            raise UserError(f"{path}: tensor '{name}' has shape {tuple(state[name].shape)}, the head expects "
                            f"{tuple(shape)}")
    keras.backend.batch_set_value([
        (var, np.asarray(state[name], np.float32).T if transpose else np.asarray(state[name], np.float32))
        for var, name, _, transpose in plan])
    log.info("%s: masked-LM head loaded (cls.predictions.*)", path)
    return True


def load_bert_weights(encoder, state: dict, path: str) -> None:
    """Assigns `state` (PyTorch names) to the encoder's variables; UserError on any mismatch."""
    plan = weight_plan(encoder)
    expected = {name: shape for _, name, shape, _ in plan}
    missing = [n for n in expected if n not in state]
    if missing:
        raise UserError(f"{path}: no tensor '{missing[0]}' (the encoder expects shape {expected[missing[0]]})"
                        + (f" and {len(missing) - 1} more missing" if len(missing) > 1 else ""))
    unexpected = [n for n in state if n not in expected and n not in IGNORED and not n.startswith(HEAD_PREFIXES)]
    if unexpected:
        n = unexpected[0]
        raise UserError(f"{path}: unexpected tensor '{n}' of shape {tuple(state[n].shape)}; the encoder has no "
                        "place for it" + (f" ({len(unexpected) - 1} more)" if len(unexpected) > 1 else ""))
    for name, shape in expected.items():
        if tuple(state[name].shape) != tuple(shape):
            raise UserError(f"{path}: tensor '{name}' has shape {tuple(state[name].shape)}, "
                            f"the encoder expects {tuple(shape)}")
    heads = [n for n in state if n.startswith(HEAD_PREFIXES)]
    if heads:
        log.info("%s: %d task-head tensors not used by the encoder (%s, ...)", path, len(heads), heads[0])
    keras.backend.batch_set_value([
        (var, np.asarray(state[name], np.float32).T if transpose else np.asarray(state[name], np.float32))
        for var, name, _, transpose in plan])
