"""The configuration of a distillation run: a RunConfig for the student plus `distill` and `student` sections."""
import os
from dataclasses import dataclass, field
from typing import ClassVar

import yaml

from tfbig.config import RunConfig, _build, apply_overrides, validate, validate_against_model
from tfbig.errors import UserError

# Data fields that decide which texts land in the test split: a student must see the teacher's split.
SPLIT_FIELDS = ("source", "format", "text_column", "label_column", "seed", "val_fraction", "test_fraction",
                "limit_per_class", "train", "validation", "test")
# What DistillationModel logs each epoch (hidden_mse / attention_kl only when weighted), `val_` for validation.
DISTILL_METRICS = ("loss", "ce", "kd", "hidden_mse", "attention_kl", "accuracy", "macro_f1")
DISTILL_MONITORS = tuple(f"val_{m}" for m in DISTILL_METRICS) + DISTILL_METRICS


@dataclass
class DistillConfig:
    teachers: list = field(default_factory=list)  # run folders of `tfbig train`; --teacher adds to them
    teacher_weights: list = field(default_factory=list)  # one per teacher; [] weighs them equally
    temperature: float = 2.0
    alpha: float = 0.5  # weight of the hard-label cross-entropy; 1 − alpha weights the soft term
    hidden_weight: float = 0.0  # hidden-state MSE (needs the teacher live every step)
    attention_weight: float = 0.0  # attention-distribution KL (needs the teacher live every step)
    layer_map: list = field(default_factory=list)  # "teacher:student" layer pairs, e.g. ["3:1", "6:2"]; [] even
    cache_teacher_logits: bool = True  # false when the training texts change between epochs (augmentation)
    augment_copies: int = 0  # TinyBERT-style variants of each training text (tfbig.distill.augment); 0: none
    augment_rate: float = 0.3  # share of a variant's words changed (replaced by another training word, or dropped)


@dataclass
class StudentConfig:
    init: str = "teacher"  # teacher: the teacher's embeddings and num_layers of its layers; scratch: a preset; folder
    num_layers: int = 2  # init teacher
    teacher_layers: list = field(default_factory=list)  # 0-based teacher layers to copy; [] every k-th from the top
    preset: str = "mini"  # init scratch: tiny | mini | small | medium
    model_dir: str = ""  # init folder: a BERT folder on the teacher's vocabulary (`tfbig distill --stage general`)


@dataclass
class DistillRunConfig(RunConfig):
    name: str = "student"
    distill: DistillConfig = field(default_factory=DistillConfig)
    student: StudentConfig = field(default_factory=StudentConfig)

    monitors: ClassVar[tuple] = DISTILL_MONITORS


def _read_yaml(path: str) -> dict:
    if not os.path.isfile(path):
        raise UserError(f"config file not found: {path}")
    with open(path, encoding="utf-8") as f:
        try:
            return yaml.safe_load(f) or {}
        except yaml.YAMLError as e:
            raise UserError(f"{path}: not valid YAML: {e}") from None


def load_distill_config(path: str | None, overrides: list | None = None, teachers: list | None = None):
    """Reads the student's config; its `data` section defaults to the first teacher's (the same split)."""
    raw = _read_yaml(path) if path else {}
    raw.setdefault("distill", {})
    raw["distill"]["teachers"] = list(raw["distill"].get("teachers") or []) + list(teachers or [])
    raw = apply_overrides(raw, overrides or [])
    if not raw["distill"]["teachers"]:
        raise UserError("no teacher: give --teacher RUN_DIR or distill.teachers in the config")
    first = raw["distill"]["teachers"][0]
    teacher_raw = _read_yaml(os.path.join(first, "config.yaml"))
    raw["data"] = {**(teacher_raw.get("data") or {}), **(raw.get("data") or {})}
    cfg = _build(DistillRunConfig, raw)
    validate(cfg)
    # The student reads the first teacher's folder (distill_run sets model.model_dir from it), not its own.
    validate_against_model(cfg, (teacher_raw.get("model") or {}).get("model_dir") or "")
    d = cfg.distill
    if d.temperature <= 0:
        raise UserError(f"distill.temperature must be positive, got {d.temperature}")
    if not 0 <= d.alpha <= 1:
        raise UserError(f"distill.alpha must be in [0, 1], got {d.alpha}")
    if d.teacher_weights and len(d.teacher_weights) != len(d.teachers):
        raise UserError(f"distill.teacher_weights has {len(d.teacher_weights)} values for {len(d.teachers)} teachers")
    return cfg


def check_same_split(student_data, teacher_data, teacher_dir: str) -> None:
    """A student evaluated on texts its teacher trained on would report a flattering, leaked accuracy."""
    for name in SPLIT_FIELDS:
        mine, theirs = getattr(student_data, name), getattr(teacher_data, name)
        if mine != theirs:
            raise UserError(f"data.{name} is {mine!r} but teacher {teacher_dir} was trained with {theirs!r}; "
                            "the student must use the teacher's split")


def parse_layer_map(pairs) -> list:
    """["3:1", "6:2"] or [[3, 1], [6, 2]] -> [(3, 1), (6, 2)]."""
    out = []
    for p in pairs:
        try:
            a, b = p.split(":") if isinstance(p, str) else p
            out.append((int(a), int(b)))
        except (TypeError, ValueError):
            raise UserError(f"distill.layer_map entry {p!r} is not 'teacher_layer:student_layer'") from None
    return out


GENERAL_METRICS = ("loss", "embedding_mse", "hidden_mse", "attention_kl")


@dataclass
class GeneralConfig:
    """`tfbig distill --stage general`: the student's shape and the weights of its terms (tfbig.distill.general)."""
    preset: str = "tiny"  # tfbig.models.presets name; "" takes the shape below in full
    num_hidden_layers: int = 0  # 0 keeps the preset's (so do the three below)
    hidden_size: int = 0
    num_attention_heads: int = 0
    intermediate_size: int = 0
    embedding_weight: float = 1.0  # embedding-output MSE
    hidden_weight: float = 1.0  # block-output MSE through learned projections
    attention_weight: float = 1.0  # attention-distribution KL
    layer_map: list = field(default_factory=list)  # "teacher:student" 1-based layers, e.g. ["3:1", "6:2"]; [] uniform


@dataclass
class GeneralDistillRunConfig(RunConfig):
    """Teacher = model.model_dir (a BERT folder); corpus = data.source (tfbig.data.corpora); student = `general`."""
    name: str = "general_student"
    general: GeneralConfig = field(default_factory=GeneralConfig)

    monitors: ClassVar[tuple] = tuple(f"val_{m}" for m in GENERAL_METRICS) + GENERAL_METRICS


def load_general_config(path: str | None, overrides: list | None = None):
    """The config of a general-distillation run, checked against the teacher's folder (no TensorFlow)."""
    from tfbig.model_folder import default_model_dir

    raw = apply_overrides(_read_yaml(path) if path else {}, overrides or [])
    cfg = _build(GeneralDistillRunConfig, raw)
    validate(cfg)
    validate_against_model(cfg, cfg.model.model_dir or default_model_dir())
    g = cfg.general
    if min(g.embedding_weight, g.hidden_weight, g.attention_weight) < 0 or not g.hidden_weight + g.attention_weight:
        raise UserError("general.embedding_weight, hidden_weight and attention_weight must be ≥ 0, and hidden_weight "
                        "or attention_weight positive")
    if cfg.model.backbone != "tfbig":
        raise UserError(f"model.backbone is {cfg.model.backbone!r}: general distillation trains tfbig's encoder")
    parse_layer_map(g.layer_map)
    return cfg
