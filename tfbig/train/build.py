"""Builds a run's TaskModel from its config: the backbone of the model folder with the task's head."""
from tfbig._keras import tf
from tfbig.train.task_model import TaskModel


def dummy_features(length: int = 8) -> dict:
    ids = tf.ones([1, length], tf.int32)
    return {"input_ids": ids, "attention_mask": ids, "token_type_ids": tf.zeros_like(ids)}


def apply_memory_options(backbone, cfg) -> None:
    """`model.lora` (adapters, frozen base) and `train.recompute` on a built backbone; UserError for hf."""
    from tfbig.models.lora import require_tfbig_encoder, apply_lora

    lora = cfg.model.lora
    if lora.rank:
        apply_lora(backbone, lora.rank, lora.alpha, lora.dropout, list(lora.targets), lora.layer_norms)
    if cfg.train.recompute == "blocks":
        require_tfbig_encoder(backbone, "train.recompute blocks")
        backbone.enable_recompute()


def build_task_model(cfg, model_dir: str, task, name: str = "task_model") -> TaskModel:
    """A built TaskModel (variables created by one dummy batch) with the pretrained backbone of `model_dir`."""
    m, t = cfg.model, cfg.train
    model = TaskModel.from_pretrained(model_dir, task, backbone=m.backbone, backbone_dropout=m.backbone_dropout,
                                      dropout=m.dropout, l2=t.l2, l1=t.l1, penalty_exclude=t.penalty_exclude,
                                      accumulation_steps=t.accumulation_steps, pooling=m.pooling, name=name)
    apply_memory_options(model.backbone, cfg)  # on the built model: adapters and recompute change no shapes
    return model


def build_classifier(cfg, model_dir: str, num_classes: int, labels: list | None = None) -> TaskModel:
    """`build_task_model` for single-label classification over `num_classes` labels."""
    from tfbig.tasks.registry import get_task

    names = list(labels) if labels is not None else [str(i) for i in range(int(num_classes))]
    return build_task_model(cfg, model_dir, get_task("classification", names), name="classifier")


def mlm_vocab_file(cfg, model_dir: str) -> str:
    """The vocabulary of a pretraining run: `mlm.vocab`, else the model folder's vocab.txt."""
    import os

    return cfg.mlm.vocab or os.path.join(model_dir, "vocab.txt")


def build_mlm_model(cfg, model_dir: str, task, vocab_size: int, name: str = "mlm_model") -> TaskModel:
    """A built TaskModel of task mlm: from scratch (`mlm.preset`: the preset's sizes, BERT's truncated-normal
    initialisation, `vocab_size` rows), or continued from the BERT folder `model_dir` (its encoder, and its
    masked-LM head when the checkpoint has one; else a fresh head, logged)."""
    from tfbig.config import check_choice
    from tfbig.errors import UserError
    from tfbig.models.checkpoint import load_mlm_head_weights, read_bert_checkpoint
    from tfbig.models.encoder import BertEncoder
    from tfbig.models.presets import PRESETS, preset

    m, t, d = cfg.model, cfg.train, cfg.data
    if m.backbone != "tfbig":
        raise UserError(f"model.backbone {m.backbone!r}: tfbig pretrain trains tfbig's own encoder (model.backbone "
                        "tfbig); its masked-LM head is tied to that encoder's word embeddings")
    dropout = ({"hidden_dropout_prob": m.backbone_dropout, "attention_probs_dropout_prob": m.backbone_dropout}
               if m.backbone_dropout >= 0 else {})
    if cfg.mlm.preset:
        check_choice(cfg.mlm.preset, PRESETS, "mlm.preset")
        kwargs = {**preset(cfg.mlm.preset), "vocab_size": int(vocab_size), **dropout}
        if d.max_length > kwargs["max_position_embeddings"]:
            raise UserError(f"data.max_length {d.max_length} is larger than mlm.preset {cfg.mlm.preset!r}'s "
                            f"max_position_embeddings {kwargs['max_position_embeddings']}")
        backbone = BertEncoder(name="backbone", **kwargs).build_weights()
    else:
        backbone = BertEncoder.from_pretrained(model_dir, name="backbone", **dropout)
        if backbone.vocab_size != vocab_size:
            raise UserError(f"mlm.vocab has {vocab_size} tokens but {model_dir}'s embeddings have "
                            f"{backbone.vocab_size} rows; leave mlm.vocab empty to continue a checkpoint")
    model = TaskModel(backbone, task, dropout=m.dropout, l2=t.l2, l1=t.l1, penalty_exclude=t.penalty_exclude,
                      accumulation_steps=t.accumulation_steps, name=name)
    model(dummy_features())  # creates the head's variables (every position decoded: no mlm_positions)
    backbone.pooler.trainable = False  # MLM never reads pooled_output: no gradient, no optimizer slots, no warning
    if not cfg.mlm.preset:
        state, path = read_bert_checkpoint(model_dir)
        load_mlm_head_weights(model.head, state, path)
    apply_memory_options(model.backbone, cfg)
    return model
