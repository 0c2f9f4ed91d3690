"""Writes a tfbig encoder (and its masked-LM head) as a Hugging Face BERT folder, the way transformers saves a
`BertForMaskedLM`: config.json, vocab.txt, tokenizer_config.json, model.safetensors in PyTorch layout.

The names are `bert.embeddings.*`, `bert.encoder.layer.N.*`, `bert.pooler.*` and `cls.predictions.*`
(Linear weights (out, in)); the decoder is tied to the word embeddings, so, as transformers does, it is not
written. The folder is written under a temporary name beside `folder` and renamed into place: a reader never
sees half of it. `model.model_dir` accepts the result (tfbig.models.checkpoint reads it back).
"""
import json
import os
import shutil
import tempfile

import numpy as np

from tfbig.models.checkpoint import head_weight_plan, weight_plan

MLM_ARCHITECTURE = "BertForMaskedLM"


def bert_config(encoder, architecture: str = MLM_ARCHITECTURE, pad_token_id: int = 0) -> dict:
    """The config.json of `encoder` (a tfbig BertEncoder): its arguments carry BERT's names already."""
    keys = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
            "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
            "type_vocab_size", "initializer_range", "layer_norm_eps")
    config = {"architectures": [architecture], "model_type": "bert", "position_embedding_type": "absolute",
              "pad_token_id": int(pad_token_id)}
    config.update({k: getattr(encoder, k) for k in keys})
    return config


def pt_state_dict(encoder, head=None) -> dict:
    """{PyTorch name: float32 array} of the encoder (prefixed `bert.`) and, when given, the MLM head."""
    state = {}
    for var, name, _, transpose in weight_plan(encoder):
        value = np.asarray(var.numpy(), np.float32)
        state["bert." + name] = np.ascontiguousarray(value.T if transpose else value)
    if head is not None:
        for var, name, _, transpose in head_weight_plan(head):
            value = np.asarray(var.numpy(), np.float32)
            state[name] = np.ascontiguousarray(value.T if transpose else value)
    return state


def write_bert_folder(model, tokenizer, folder: str) -> str:
    """Writes `folder` (replacing an older one whole) and returns its path.

    model: a TaskModel of task mlm (backbone + MaskedLMHead), or a bare tfbig BertEncoder (no `cls.*`).
    tokenizer: BertTextTokenizer. Its vocabulary and lower-casing go to vocab.txt and tokenizer_config.json.
    """
    from safetensors.numpy import save_file

    from tfbig.models.encoder import BertEncoder

    encoder, head = (model, None) if isinstance(model, BertEncoder) else (model.backbone, model.head)
    folder = os.path.abspath(folder)
    parent = os.path.dirname(folder)
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=parent, prefix=f".tmp-{os.path.basename(folder)}-")
    try:
        config = bert_config(encoder, MLM_ARCHITECTURE if head is not None else "BertModel", tokenizer.pad_id)
        with open(os.path.join(tmp, "config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=2)
        with open(os.path.join(tmp, "vocab.txt"), "w", encoding="utf-8") as f:
            f.write("\n".join(tokenizer.vocab) + "\n")
        with open(os.path.join(tmp, "tokenizer_config.json"), "w", encoding="utf-8") as f:
            json.dump({"tokenizer_class": "BertTokenizer", "do_lower_case": bool(tokenizer.lower_case),
                       "strip_accents": None if tokenizer.strip_accents == tokenizer.lower_case
                       else bool(tokenizer.strip_accents),
                       "model_max_length": int(encoder.max_position_embeddings)}, f, indent=2)
        save_file(pt_state_dict(encoder, head), os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        old = None
        if os.path.exists(folder):  # moved aside first: the new folder appears in one rename
            old = tempfile.mkdtemp(dir=parent, prefix=f".old-{os.path.basename(folder)}-")
            os.rename(folder, os.path.join(old, "folder"))
        os.rename(tmp, folder)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
