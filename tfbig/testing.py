"""Tiny random BERT folders for tests and examples: Hugging Face layout, no network."""
import json
import os

import numpy as np

WORDS = ("the a of to and in is was for on that with as by at it from be has he said his but are have will "
         "not new year game film music government people world market company election party minister "
         "phone mobile technology players win club bank shares growth sales best labour firm users software "
         "price data ##s ##ed ##ing ##ly ##er . , ' \" - ! ? ( ) : ; £ $ % 0 1 2 3 4 5 6 7 8 9").split()
SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def tiny_vocab() -> list:
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    vocab = SPECIAL + letters + ["##" + c for c in letters]
    return vocab + [w for w in WORDS if w not in vocab]


def tiny_bert_config(vocab_size: int, hidden_size: int = 32, num_hidden_layers: int = 2, num_attention_heads: int = 2,
                     intermediate_size: int = 64, max_position_embeddings: int = 64) -> dict:
    return {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": vocab_size,
        "hidden_size": hidden_size, "num_hidden_layers": num_hidden_layers,
        "num_attention_heads": num_attention_heads, "intermediate_size": intermediate_size,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": max_position_embeddings, "type_vocab_size": 2, "initializer_range": 0.02,
        "layer_norm_eps": 1e-12, "pad_token_id": 0,
    }


def random_pt_state_dict(config: dict, seed: int = 0) -> dict:
    """Random tensors named and shaped as PyTorch's BertModel saves them (Linear weights are (out, in))."""
    rng = np.random.default_rng(seed)
    h, i, v = config["hidden_size"], config["intermediate_size"], config["vocab_size"]

    def t(*shape, scale=0.02):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    sd = {
        "embeddings.word_embeddings.weight": t(v, h),
        "embeddings.position_embeddings.weight": t(config["max_position_embeddings"], h),
        "embeddings.token_type_embeddings.weight": t(config["type_vocab_size"], h),
        "embeddings.LayerNorm.weight": 1 + t(h), "embeddings.LayerNorm.bias": t(h),
        "pooler.dense.weight": t(h, h), "pooler.dense.bias": t(h),
    }
    for layer in range(config["num_hidden_layers"]):
        p = f"encoder.layer.{layer}."
        for name in ("query", "key", "value"):
            sd[p + f"attention.self.{name}.weight"] = t(h, h)
            sd[p + f"attention.self.{name}.bias"] = t(h)
        sd[p + "attention.output.dense.weight"] = t(h, h)
        sd[p + "attention.output.dense.bias"] = t(h)
        sd[p + "attention.output.LayerNorm.weight"] = 1 + t(h)
        sd[p + "attention.output.LayerNorm.bias"] = t(h)
        sd[p + "intermediate.dense.weight"] = t(i, h)
        sd[p + "intermediate.dense.bias"] = t(i)
        sd[p + "output.dense.weight"] = t(h, i)
        sd[p + "output.dense.bias"] = t(h)
        sd[p + "output.LayerNorm.weight"] = 1 + t(h)
        sd[p + "output.LayerNorm.bias"] = t(h)
    return sd


def write_tiny_bert_folder(path: str, seed: int = 0, **config_overrides) -> str:
    """Writes config.json, vocab.txt, tokenizer_config.json and a PyTorch-layout model.safetensors."""
    from safetensors.numpy import save_file

    os.makedirs(path, exist_ok=True)
    vocab = tiny_vocab()
    config = tiny_bert_config(len(vocab), **config_overrides)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(path, "vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(path, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True, "tokenizer_class": "BertTokenizer"}, f)
    save_file(random_pt_state_dict(config, seed), os.path.join(path, "model.safetensors"))
    return path


def write_tiny_folder_dataset(root: str, classes: int = 3, per_class: int = 12, seed: int = 0) -> str:
    """Writes `root/c<k>/<i>.txt`: texts of 3–24 words, each class drawing from its own slice of WORDS."""
    import random

    rng = random.Random(seed)
    words = [w for w in WORDS if w.isalpha()]
    for c in range(classes):
        own = words[c::classes]
        os.makedirs(os.path.join(root, f"c{c}"), exist_ok=True)
        for i in range(per_class):
            with open(os.path.join(root, f"c{c}", f"{i}.txt"), "w", encoding="utf-8") as f:
                f.write(" ".join(rng.choice(own) for _ in range(rng.randint(3, 24))))
    return root


def tiny_run_overrides(tmp: str, data: str, model_dir: str, name: str, **extra) -> list:
    """`--set` strings for a 2-epoch run on `write_tiny_folder_dataset` data: 21 train examples, 6 steps an epoch."""
    settings = {"name": name, "output_dir": os.path.join(tmp, "runs"), "export_dir": os.path.join(tmp, "exports"),
                "data.source": data, "data.max_length": 32, "data.batch_size": 4, "data.val_fraction": 0.2,
                "model.model_dir": model_dir, "model.dropout": 0.2, "train.epochs": 2, "train.learning_rate": 1e-3,
                "train.checkpoint_every_steps": 2, "train.early_stopping_patience": 0, "train.warmup_fraction": 0.2}
    settings.update(extra)
    return [f"{key}={value}" for key, value in settings.items()]


def tiny_classifier(folder: str, num_classes: int = 2, name: str = "classifier", seed: int = 0):
    """A built TextClassifier on the BERT folder, without dropout (so steps are deterministic)."""
    from tfbig._keras import keras, tf
    from tfbig.models.backbone import HFBertBackbone
    from tfbig.models.hf_bert import load_hf_bert
    from tfbig.train.task_model import TextClassifier

    keras.utils.set_random_seed(seed)
    model = TextClassifier(HFBertBackbone(load_hf_bert(folder, dropout=0.0), name="backbone"), num_classes,
                           dropout=0.0, name=name)
    ids = tf.ones([1, 4], tf.int32)
    model({"input_ids": ids, "attention_mask": ids, "token_type_ids": tf.zeros_like(ids)})
    return model


def tiny_mlm_batches(tokenizer, texts: list, batch_size: int, mask_rate: float = 0.15, seed: int = 0):
    """A stand-in for tfbig.data.mlm_batches in tests: (features, targets) batches of its exact shape.

    Each text is one sequence padded to `tokenizer.max_length`; P = ceil(mask_rate·max_length) slots per row;
    up to P non-special pieces of a row are replaced by [MASK] (no 80/10/10, no packing), the rest of the slots
    have weight 0. Targets: {"mlm_positions" (B, P) int32, "mlm_ids" (B, P) int32, "mlm_weights" (B, P) float32}.
    """
    import math

    from tfbig._keras import tf

    t = tokenizer.max_length
    p = int(math.ceil(mask_rate * t))
    features = {k: v.numpy() for k, v in tokenizer(tf.constant(list(texts)), pad_to=t).items()}
    ids = features["input_ids"].copy()
    rng = np.random.default_rng(seed)
    special = {tokenizer.cls_id, tokenizer.sep_id, tokenizer.pad_id}
    positions = np.zeros((len(texts), p), np.int32)
    targets = np.zeros((len(texts), p), np.int32)
    weights = np.zeros((len(texts), p), np.float32)
    mask_id = tokenizer.vocab.index("[MASK]")
    for row in range(len(texts)):
        candidates = [i for i in range(t) if ids[row, i] not in special]
        n = min(p, max(1, int(round(mask_rate * len(candidates))))) if candidates else 0
        chosen = sorted(rng.choice(candidates, size=n, replace=False)) if n else []
        positions[row, :n], targets[row, :n], weights[row, :n] = chosen, ids[row, chosen], 1.0
        ids[row, chosen] = mask_id
    features["input_ids"] = ids
    ds = tf.data.Dataset.from_tensor_slices(
        (features, {"mlm_positions": positions, "mlm_ids": targets, "mlm_weights": weights}))
    return ds.batch(batch_size)


class TinyMlmEpochData:
    """A stand-in for tfbig.data.mlm_batches.CorpusEpochData in tests: EpochData's interface over
    `tiny_mlm_batches` of `texts` (one document a sequence), masks drawn anew each epoch from (seed, epoch);
    `validation()`: the same texts with masks fixed by the seed."""

    def __init__(self, texts: list, tokenizer, batch_size: int, seed: int = 0, mask_rate: float = 0.15):
        self.texts, self.tokenizer = list(texts), tokenizer
        self.batch_size, self.seed, self.mask_rate = int(batch_size), int(seed), float(mask_rate)

    def epoch(self, epoch: int):
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.texts))
        return tiny_mlm_batches(self.tokenizer, [self.texts[i] for i in order], self.batch_size, self.mask_rate,
                                seed=self.seed * 1000 + epoch + 1)

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.texts) // self.batch_size)

    def stream(self, start_step: int, epochs: int):
        first, skip = divmod(int(start_step), self.steps_per_epoch)
        parts = [self.epoch(e) for e in range(first, epochs)] or [self.epoch(epochs - 1).take(0)]
        ds = parts[0].skip(skip)
        for part in parts[1:]:
            ds = ds.concatenate(part)
        return ds

    def validation(self):
        return tiny_mlm_batches(self.tokenizer, self.texts, self.batch_size, self.mask_rate, seed=self.seed)
