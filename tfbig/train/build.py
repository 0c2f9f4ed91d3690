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
                                      accumulation_steps=t.accumulation_steps, name=name)
    apply_memory_options(model.backbone, cfg)  # on the built model: adapters and recompute change no shapes
    return model


def build_classifier(cfg, model_dir: str, num_classes: int, labels: list | None = None) -> TaskModel:
    """`build_task_model` for single-label classification over `num_classes` labels."""
    from tfbig.tasks.registry import get_task

    names = list(labels) if labels is not None else [str(i) for i in range(int(num_classes))]
    return build_task_model(cfg, model_dir, get_task("classification", names), name="classifier")
