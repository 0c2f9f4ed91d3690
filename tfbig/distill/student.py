"""Builds the student classifier: a named preset from scratch, or a shallower copy of the teacher's layers."""
import logging

from tfbig._keras import tf
from tfbig.errors import UserError
from tfbig.train.task_model import DEFAULT_PENALTY_EXCLUDE, TaskModel

log = logging.getLogger(__name__)

# Sizes of Turc et al. 2019 ("Well-Read Students Learn Better"), the names tfbig's own encoder uses.
PRESETS = {
    "tiny": {"num_hidden_layers": 2, "hidden_size": 128, "num_attention_heads": 2, "intermediate_size": 512},
    "mini": {"num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 4, "intermediate_size": 1024},
    "small": {"num_hidden_layers": 4, "hidden_size": 512, "num_attention_heads": 8, "intermediate_size": 2048},
    "medium": {"num_hidden_layers": 8, "hidden_size": 512, "num_attention_heads": 8, "intermediate_size": 2048},
}


def every_kth_layer(teacher_layers: int, num_layers: int) -> list:
    """0-based teacher layers kept for a `num_layers` student: every k-th counting down from the top one, so
    the last layer (which the pooler and head were trained on) stays; 6 → 2 keeps [2, 5], 12 → 6 keeps 1, 3, ..."""
    if not 1 <= num_layers <= teacher_layers:
        raise UserError(f"student num_layers {num_layers} must be between 1 and the teacher's {teacher_layers}")
    k = teacher_layers // num_layers
    return [teacher_layers - 1 - k * (num_layers - 1 - i) for i in range(num_layers)]


def _hf_bert_of(teacher):
    bert = getattr(getattr(teacher, "backbone", None), "bert", None)
    if bert is None:
        raise UserError(f"student init 'teacher' needs a teacher with an 'hf' backbone; got {type(teacher).__name__}")
    return bert


def _teacher_config(teacher) -> dict:
    """The teacher encoder's BERT config fields (a Hugging Face config, or tfbig's encoder's get_config)."""
    backbone = getattr(teacher, "backbone", None)
    if backbone is not None and hasattr(backbone, "blocks"):  # tfbig.models.encoder.BertEncoder
        return dict(backbone.get_config())
    return _hf_bert_of(teacher).config.to_dict()


def _with_dropout(config: dict, backbone_dropout: float) -> dict:
    if backbone_dropout >= 0:
        config.update(hidden_dropout_prob=backbone_dropout, attention_probs_dropout_prob=backbone_dropout)
    return config


def _from_teacher_backbone(teacher, num_layers: int, teacher_layers, backbone_dropout: float):
    """An encoder with the teacher's embeddings, pooler and the chosen encoder layers (DistilBERT's init)."""
    config = _with_dropout(_teacher_config(teacher), backbone_dropout)
    total = config["num_hidden_layers"]
    chosen = list(teacher_layers) if teacher_layers else every_kth_layer(total, num_layers)
    if not chosen or any(not 0 <= i < total for i in chosen):
        raise UserError(f"teacher_layers {chosen} must lie in 0..{total - 1}")
    config["num_hidden_layers"] = len(chosen)
    source = teacher.backbone
    if hasattr(source, "blocks"):  # tfbig.models.encoder.BertEncoder
        from tfbig.models.encoder import BertEncoder

        config["name"] = "backbone"
        encoder = BertEncoder.from_config(config).build_weights()
        src_layers, dst_layers, src, dst = source.blocks, encoder.blocks, source, encoder
        if source.final_layer_norm is not None:
            encoder.final_layer_norm.set_weights(source.final_layer_norm.get_weights())
    else:
        from tfbig.models.backbone import HFBertBackbone
        from tfbig.models.hf_bert import random_hf_bert

        bert = random_hf_bert(config)
        encoder = HFBertBackbone(bert, name="backbone")
        src, dst = _hf_bert_of(teacher).bert, bert.bert  # TFBertMainLayer: embeddings, encoder.layer[i], pooler
        src_layers, dst_layers = src.encoder.layer, dst.encoder.layer
    dst.embeddings.set_weights(src.embeddings.get_weights())
    dst.pooler.set_weights(src.pooler.get_weights())
    for j, i in enumerate(chosen):
        dst_layers[j].set_weights(src_layers[i].get_weights())
    log.info("student from teacher layers %s of %d", chosen, total)
    return encoder, chosen


def _scratch_backbone(backbone: str, preset: str, teacher, backbone_dropout: float):
    """A randomly initialised encoder of a named size, on the teacher's vocabulary (the data's tokenizer)."""
    if preset not in PRESETS:
        raise UserError(f"student preset '{preset}' is not one of {', '.join(PRESETS)}")
    sizes = {k: v for k, v in _teacher_config(teacher).items()
             if k in ("vocab_size", "max_position_embeddings", "type_vocab_size")}
    if backbone == "tfbig":  # tfbig's own encoder (tfbig.models.encoder), same preset names
        from tfbig.models.encoder import BertEncoder

        drop = {"hidden_dropout_prob": backbone_dropout,
                "attention_probs_dropout_prob": backbone_dropout} if backbone_dropout >= 0 else {}
        return BertEncoder(name="backbone", **{**PRESETS[preset], **sizes, **drop}).build_weights()
    if backbone != "hf":
        raise UserError(f"student backbone '{backbone}' is not one of hf, tfbig")
    from tfbig.models.backbone import HFBertBackbone
    from tfbig.models.hf_bert import random_hf_bert

    config = _with_dropout(_teacher_config(teacher), backbone_dropout)
    config.update(PRESETS[preset])
    return HFBertBackbone(random_hf_bert(config), name="backbone")


def _folder_backbone(model_dir: str, teacher, backbone_dropout: float):
    """tfbig's encoder with the weights of a BERT folder (a general-distillation student) on the teacher's vocabulary."""
    from tfbig.models.encoder import BertEncoder

    if not model_dir:
        raise UserError("student.init folder needs student.model_dir (e.g. runs/<general run>/encoder)")
    drop = {"hidden_dropout_prob": backbone_dropout,
            "attention_probs_dropout_prob": backbone_dropout} if backbone_dropout >= 0 else {}
    encoder = BertEncoder.from_pretrained(model_dir, name="backbone", **drop)
    theirs = _teacher_config(teacher).get("vocab_size")
    if encoder.vocab_size != theirs:
        raise UserError(f"student.model_dir {model_dir} has vocab_size {encoder.vocab_size}; the teacher's is {theirs}: "
                        "the student must read the teacher's vocabulary")
    return encoder


def build_student(teacher, task, init: str = "teacher", num_layers: int = 2, teacher_layers=None,
                  preset: str = "mini", backbone: str = "hf", dropout: float = 0.1, backbone_dropout: float = -1.0,
                  l2: float = 0.0, l1: float = 0.0, penalty_exclude=DEFAULT_PENALTY_EXCLUDE,
                  accumulation_steps: int = 1, model_dir: str = "") -> TaskModel:
    """Returns a built TaskModel student.

    task: tfbig Task (the teacher's), or a number of classes (a classification task named like the teacher's
        labels when their count matches).
    init: str. "teacher": the teacher's embeddings, pooler, head and `num_layers` of its layers (every k-th,
        or `teacher_layers`, 0-based); "scratch": the named `preset` with random weights; "folder": tfbig's
        encoder read from the BERT folder `model_dir` (a general-distillation student), a new head.
    backbone_dropout: float. <0 keeps the teacher's dropout rates.
    """
    if init == "teacher":
        encoder, _ = _from_teacher_backbone(teacher, num_layers, teacher_layers, backbone_dropout)
    elif init == "scratch":
        encoder = _scratch_backbone(backbone, preset, teacher, backbone_dropout)
    elif init == "folder":
        encoder = _folder_backbone(model_dir, teacher, backbone_dropout)
    else:
        raise UserError(f"student init '{init}' is not one of teacher, scratch, folder")
    if isinstance(task, int):
        from tfbig.tasks.registry import get_task

        names = list(getattr(getattr(teacher, "task", None), "labels", None) or [])
        task = get_task("classification", names if len(names) == task else [str(i) for i in range(task)])
    student = TaskModel(encoder, task, dropout=dropout, l2=l2, l1=l1, penalty_exclude=penalty_exclude,
                        accumulation_steps=accumulation_steps, name="student",
                        pooling=getattr(teacher, "pooling", "pooler"))  # the teacher's: its head is copied
    ids = tf.ones([1, 8], tf.int32)
    student({"input_ids": ids, "attention_mask": ids, "token_type_ids": tf.zeros_like(ids)})
    if init == "teacher" and getattr(teacher, "head", None) is not None:
        student.head.set_weights(teacher.head.get_weights())  # the copied pooler feeds it what it was trained on
    return student


def student_of(cfg, teacher, task) -> TaskModel:
    """The student a DistillRunConfig describes (`student`, `model` and `train` sections), shaped from `teacher`.

    The one place the config becomes `build_student`'s arguments: `tfbig distill` builds the student with
    it and a distilled run folder is rebuilt with it (tfbig.runs.rebuild), so both give the same model.
    task: the run's Task (or a number of classes).
    """
    from tfbig.models.lora import lora_layers
    from tfbig.train.build import apply_memory_options

    s, t, m = cfg.student, cfg.train, cfg.model
    if s.init == "teacher" and lora_layers(teacher):
        raise UserError("student.init teacher copies the teacher's layers, and this teacher has LoRA adapters; "
                        "use student.init scratch (or distil from a fully fine-tuned teacher)")
    student = build_student(teacher, task, init=s.init, num_layers=s.num_layers,
                            teacher_layers=[int(i) for i in s.teacher_layers], preset=s.preset,
                            backbone=m.backbone, dropout=m.dropout, backbone_dropout=m.backbone_dropout, l2=t.l2,
                            l1=t.l1, penalty_exclude=t.penalty_exclude, model_dir=s.model_dir)
    apply_memory_options(student.backbone, cfg)  # after the teacher's layers are copied in
    return student
