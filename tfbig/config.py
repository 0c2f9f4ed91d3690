"""Typed run configuration: dataclasses loaded from YAML, overridable with `key=value` strings."""
import dataclasses
import difflib
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml

from tfbig.errors import UserError
from tfbig.names import (BACKBONES, CLASS_WEIGHTS, DECAYS, DOCUMENTS, EXPORT_PRECISIONS, FORMATS, LONG_SENTENCES,
                         LORA_TARGETS, MONITORS, ON_ERRORS, OPTIMIZERS, POOLINGS, PRECISION_CHOICES, RECOMPUTES,
                         STRATEGIES)

# A model folder's config.json without max_position_embeddings gets BERT's (and BertEncoder's) default.
DEFAULT_MAX_POSITIONS = 512


@dataclass
class DataConfig:
    source: str = "bbc"  # "bbc" (bundled corpus), "fortunes", "vader*", "debtags", or a path: folder per class, .csv/.tsv/.jsonl, shard dir
    format: str = "auto"  # auto | folder | csv | tsv | jsonl | tfrecord
    text_column: str = "text"
    label_column: str = "label"
    max_length: int = 128  # tokens, [CLS] and [SEP] included
    batch_size: int = 32  # the global batch, split across replicas
    val_fraction: float = 0.1  # of all examples
    test_fraction: float = 0.2
    seed: int = 0
    limit_per_class: int = 0  # 0 keeps all; >0 keeps the first N of each class (smoke runs)
    bucketing: bool = True  # batch texts of similar length together (less padding)
    static_shapes: bool = False  # pad every batch to max_length and drop the remainder (TPUs)
    on_error: str = "raise"  # raise | skip: what a malformed record does
    # Pre-split data (each a path in any format above); when train is set, source and test_fraction are unused.
    train: str = ""
    validation: str = ""  # "" holds out val_fraction of train (stratified, seeded with seed)
    test: str = ""  # required with train
    # Unlabelled corpora (pretraining, tfbig.data.corpus): how plain-text files split into documents, and packing.
    documents: str = "file"  # file: one document per file | blank_line: documents separated by blank lines
    packing: bool = True  # concatenate documents with [SEP] into full max_length rows (no padding); false: one per row
    dedup: bool = True  # drop exact-duplicate documents (a hash set: ~100 bytes a document)
    mask_rate: float = 0.15  # of the non-special tokens of each row, chosen for the MLM loss (80/10/10)
    whole_word_masking: bool = False  # all word pieces of a word (## continuations) chosen together
    # Tagging (task: tagging): CoNLL's tag column (0-based; "" the last) or JSONL's tag-list key ("" is "tags").
    tag_column: str = ""
    max_words: int = 128  # words per tagged sentence; longer ones are split or truncated (long_sentences)
    long_sentences: str = "split"  # split | truncate
    label_all_tokens: bool = False  # every word piece carries its word's tag (transformers' label_all_tokens)
    label_separator: str = "|"  # task multilabel, CSV/TSV: what separates a row's labels in its label column
    text_pair_column: str = ""  # sentence pairs: the second text's column ([CLS] a [SEP] b [SEP]); "" one text


def check_given_splits(d: DataConfig) -> None:
    """Given splits come as train + test (validation optional); one without the other is refused."""
    for key in ("validation", "test"):
        if getattr(d, key) and not d.train:
            raise UserError(f"data.{key} is {getattr(d, key)!r} but data.train is empty: given splits need a train "
                            "file (or use data.source with fractions)")
    if d.train and not d.test:
        raise UserError(f"data.train is {d.train!r} but data.test is empty: given splits need a test file too")


@dataclass
class LoraConfig:
    """LoRA adapters on the tfbig backbone (tfbig.models.lora.apply_lora takes these names)."""
    rank: int = 0  # 0: no LoRA, the whole model trains; r ≥ 1: frozen backbone + rank-r adapters
    alpha: float = 16.0  # the update A·B is scaled by alpha / rank
    dropout: float = 0.0  # on each adapter's input
    targets: list = field(default_factory=lambda: ["query", "value"])  # of LORA_TARGETS (tfbig.names)
    layer_norms: bool = False  # the backbone's LayerNorms train too (the head always does)


@dataclass
class ModelConfig:
    backbone: str = "tfbig"  # tfbig: tfbig's own encoder (tfbig.models.encoder); hf: transformers' TFBertModel
    model_dir: str = ""  # a Hugging Face BERT folder; "" is the bundled all-MiniLM-L6-v2
    dropout: float = 0.1  # before the classification head
    backbone_dropout: float = -1.0  # <0 keeps the checkpoint's hidden/attention dropout
    # What a sequence-level head reads: pooler (BERT's tanh dense on [CLS]), cls ([CLS]'s last hidden state) or
    # mean (the mean of the last hidden states over the real tokens: how sentence-transformers models, the
    # bundled all-MiniLM-L6-v2 among them, were trained). Tagging and MLM heads read every position.
    pooling: str = "pooler"
    lora: LoraConfig = field(default_factory=LoraConfig)


@dataclass
class TrainConfig:
    optimizer: str = "adam"  # adam | adamw | adagrad | sgd
    learning_rate: float = 1e-4  # peak, after warmup; suits the bundled MiniLM (BERT-base: try 3e-5)
    weight_decay: float = 0.0  # decoupled decay, adamw only
    momentum: float = 0.0  # sgd only
    l2: float = 0.0  # λ in the loss term λ/2·Σw²
    l1: float = 0.0  # λ₁ in the loss term λ₁·Σ|w|
    penalty_exclude: list = field(default_factory=lambda: ["bias", "LayerNorm", "layer_norm"])
    warmup_fraction: float = 0.1  # of all steps, linear from 0
    decay: str = "linear"  # linear | constant, after warmup
    clip_norm: float = 1.0  # global-norm clipping; 0 disables
    # "auto": enough epochs for min_steps optimizer steps (at most max_epochs), early stopping deciding the end
    # (tfbig.train.budget); an integer N: exactly N epochs, as before.
    epochs: Any = field(default="auto", metadata={"int_or": ("auto",)})
    # epochs without val improvement; 0 disables. >0: the run ends on the best val epoch's weights (restored
    # after early stopping or after the last epoch, resumes included); 0: on the last epoch's.
    early_stopping_patience: int = 1
    monitor: str = "val_loss"  # early stopping and the best checkpoint
    precision: str = "auto"  # auto (fastest for the hardware) | float32 | mixed_bfloat16 | mixed_float16 (loss scaling)
    steps_per_execution: int = 1
    baseline: bool = True  # the floor: also fit the task's cheap baseline (TF-IDF + logistic regression) on the split
    accumulation_steps: int = 1  # k micro-batches of data.batch_size per optimizer step: effective batch k·b
    checkpoint_every_steps: int = 500  # resumable checkpoint every N steps (and at each epoch end); 0: epochs only
    resume: bool = True  # rerunning a run folder continues from its last checkpoint
    recompute: str = "none"  # none | blocks: recompute each encoder block's activations in the backward pass
    min_steps: int = 300  # epochs auto: the fewest optimizer steps planned (small data gets more epochs)
    max_epochs: int = 20  # epochs auto: the most epochs planned
    class_weights: str = "none"  # none | balanced: each example's loss weighted n / (C·count of its class)
    decay_power: float = 1.0  # train.decay polynomial: the rate after warmup is peak·(1 − progress)^decay_power
    regression_loss: str = "mse"  # task regression: mse | huber, on standardised targets
    huber_delta: float = 1.0  # task regression, huber: where the loss turns linear, in standard deviations


@dataclass
class RuntimeConfig:
    strategy: str = "auto"  # auto | default | one_device | mirrored | multi_worker | tpu (tfbig.distribute)
    tpu: str = ""  # a Cloud TPU name, grpc://host:port or "local"; "" is $TPU_NAME, else the local TPU VM
    tpu_timeout: float = 60.0  # seconds a TPU may take to answer before the run stops with an error
    num_logical_cpus: int = 0  # >1 splits the CPU into N devices, so mirrored runs without GPUs (tests)
    backup: bool = True  # BackupAndRestore: a restarted run resumes from its last backup, not from step 0
    backup_dir: str = ""  # "" is <run_dir>/backup; multi-worker: a folder every worker sees
    backup_freq: int = 0  # 0 backs up at each epoch end; N every N steps


@dataclass
class RunConfig:
    name: str = "run"
    output_dir: str = "runs"  # the run folder is output_dir/name
    export_dir: str = "saved_models"  # SavedModels go to export_dir/name/<version>
    # What the export computes in: same (as trained), auto (bfloat16 where this hardware runs it faster), float32
    # or bfloat16. Weights are stored in float32; softmax, LayerNorm and the outputs stay float32.
    export_precision: str = "same"
    seed: int = 0
    task: str = "classification"  # the problem's shape (tfbig.tasks): classification, ...
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    runtime: RuntimeConfig = field(default_factory=RuntimeConfig)

    monitors: ClassVar[tuple] = MONITORS  # what train.monitor may name: the metrics this run's model logs

    @property
    def run_dir(self) -> str:
        return os.path.join(self.output_dir, self.name)


def _fields(cls) -> dict:
    return {f.name: f for f in dataclasses.fields(cls)}


def _closest(value: str, choices) -> str:
    """"; did you mean 'x'?" for the valid name nearest `value` (case aside), or "" when none is near.

    A name that holds `value` comes first (val_acc → val_accuracy, float16 → mixed_float16: difflib alone
    would say val_ce and float32), the one starting with it and then the shortest; else difflib's closest.
    """
    wanted = str(value).lower()
    by_lower = {str(c).lower(): str(c) for c in choices}
    holding = sorted((c for c in by_lower if len(wanted) >= 2 and wanted in c),
                     key=lambda c: (not c.startswith(wanted), len(c)))
    close = holding[:1] or difflib.get_close_matches(wanted, list(by_lower), n=1)
    return f"; did you mean '{by_lower[close[0]]}'?" if close else ""


def _unknown(key: str, choices, where: str) -> UserError:
    return UserError(f"unknown config key '{where}{key}'{_closest(key, choices)}")


def check_choice(value: str, choices, key: str) -> str:
    """Returns `value` when it is one of `choices`; else raises UserError naming `key`, the choices and the
    closest of them, e.g. "runtime.strategy 'mirorred' is not one of auto, ...; did you mean 'mirrored'?"."""
    choices = tuple(choices)
    if value in choices:
        return value
    raise UserError(f"{key} '{value}' is not one of {', '.join(map(str, choices))}{_closest(value, choices)}")


def _coerce(value: Any, default: Any, key: str) -> Any:
    """Converts a YAML or --set value to the type of the field's default, or names the key."""
    try:
        if isinstance(default, bool):
            if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
                return value.lower() in ("true", "yes", "1")
            if isinstance(value, bool):
                return value
            raise ValueError
        if isinstance(default, int):
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise ValueError
            return int(float(value))
        if isinstance(default, float):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if isinstance(default, list):
            return [v for v in value.split(",") if v] if isinstance(value, str) else list(value)
        if isinstance(default, str):
            return "" if value is None else str(value)
    except (TypeError, ValueError):
        raise UserError(f"config key '{key}': expected {type(default).__name__}, got {value!r}") from None
    return value


def _int_or_word(value: Any, words: tuple, key: str):
    """An integer, or one of `words` (train.epochs: 3 or "auto"); else names the key."""
    if isinstance(value, str) and value.strip().lower() in words:
        return value.strip().lower()
    try:
        if not isinstance(value, bool) and float(value) == int(float(value)):
            return int(float(value))
    except (TypeError, ValueError):
        pass
    raise UserError(f"config key '{key}': expected an integer or {' | '.join(words)}, got {value!r}")


def _build(cls, raw: dict, where: str = ""):
    if not isinstance(raw, dict):
        raise UserError(f"config section '{where.rstrip('.') or 'top'}' must be a mapping")
    fields = _fields(cls)
    kwargs = {}
    for key, value in raw.items():
        if key not in fields:
            raise _unknown(key, fields, where)
        f = fields[key]
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if dataclasses.is_dataclass(default):
            kwargs[key] = _build(type(default), value or {}, f"{where}{key}.")
        elif f.metadata.get("int_or"):
            kwargs[key] = _int_or_word(value, f.metadata["int_or"], where + key)
        else:
            kwargs[key] = _coerce(value, default, where + key)
    return cls(**kwargs)


def to_dict(cfg) -> dict:
    return dataclasses.asdict(cfg)


def apply_overrides(raw: dict, overrides: list[str]) -> dict:
    """Applies `a.b=value` strings to a nested dict; values are parsed as YAML scalars."""
    for item in overrides:
        if "=" not in item:
            raise UserError(f"--set expects key=value, got '{item}'")
        key, value = item.split("=", 1)
        node = raw
        parts = key.strip().split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise UserError(f"--set {key}: '{part}' is not a section")
        node[parts[-1]] = yaml.safe_load(value) if value != "" else ""
    return raw


def load_config(path: str | None = None, overrides: list[str] | None = None, cls=RunConfig,
                check_model: bool = True):
    """Reads a YAML config (or none: defaults), applies overrides, validates, returns a dataclass.

    check_model: bool. Also check the values against the model folder (`validate_against_model`); a run
        folder's saved config was checked when its run started and is read back without it.
    """
    raw: dict = {}
    if path:
        if not os.path.isfile(path):
            raise UserError(f"config file not found: {path}")
        with open(path, encoding="utf-8") as f:
            try:
                raw = yaml.safe_load(f) or {}
            except yaml.YAMLError as e:
                raise UserError(f"{path}: not valid YAML: {e}") from None
    raw = apply_overrides(raw, overrides or [])
    cfg = _build(cls, raw)
    validate(cfg)
    if check_model:
        validate_against_model(cfg)
    return cfg


def validate(cfg) -> None:
    """Refuses values no run could use: unknown names (with the closest valid one) and out-of-range numbers."""
    t, d = cfg.train, cfg.data
    check_choice(cfg.model.backbone, BACKBONES, "model.backbone")
    check_choice(cfg.model.pooling, POOLINGS, "model.pooling")
    check_choice(t.optimizer, OPTIMIZERS, "train.optimizer")
    check_choice(t.decay, DECAYS, "train.decay")
    check_choice(t.precision, PRECISION_CHOICES, "train.precision")
    check_choice(cfg.export_precision, EXPORT_PRECISIONS, "export_precision")
    # cfg.task is checked by the run skeleton against tfbig.tasks' registry (tasks may register at run time).
    if cfg.task == "classification":  # another task logs its own metrics (BestCheckpoint warns on a miss)
        check_choice(t.monitor, getattr(cfg, "monitors", MONITORS), "train.monitor")
    check_choice(cfg.runtime.strategy, STRATEGIES, "runtime.strategy")
    check_choice(d.format, FORMATS, "data.format")
    check_choice(d.on_error, ON_ERRORS, "data.on_error")
    check_choice(d.documents, DOCUMENTS, "data.documents")
    if not 0 < d.mask_rate < 1:
        raise UserError(f"data.mask_rate must be in (0, 1), got {d.mask_rate}")
    check_choice(d.long_sentences, LONG_SENTENCES, "data.long_sentences")
    check_choice(t.recompute, RECOMPUTES, "train.recompute")
    lora = cfg.model.lora
    for target in lora.targets:
        check_choice(target, LORA_TARGETS, "model.lora.targets")
    if lora.rank < 0 or lora.alpha <= 0 or not 0 <= lora.dropout < 1 or (lora.rank and not lora.targets):
        raise UserError(f"model.lora: rank must be ≥ 0, alpha > 0, dropout in [0, 1) and targets non-empty; got "
                        f"rank {lora.rank}, alpha {lora.alpha}, dropout {lora.dropout}, targets {lora.targets}")
    if t.learning_rate <= 0:
        raise UserError(f"train.learning_rate must be positive, got {t.learning_rate}")
    if t.epochs != "auto" and t.epochs < 1:
        raise UserError(f"train.epochs must be at least 1 or auto, got {t.epochs}")
    if t.min_steps < 1 or t.max_epochs < 1:
        raise UserError(f"train.min_steps and train.max_epochs must be at least 1, got {t.min_steps} and "
                        f"{t.max_epochs}")
    check_choice(t.class_weights, CLASS_WEIGHTS, "train.class_weights")
    if t.l2 < 0 or t.l1 < 0 or t.weight_decay < 0:
        raise UserError("train.l2, train.l1 and train.weight_decay must be non-negative")
    if d.batch_size < 1:
        raise UserError(f"data.batch_size must be at least 1, got {d.batch_size}")
    if d.max_length < 3:
        raise UserError(f"data.max_length must be at least 3, got {d.max_length}")
    if not 0 < d.test_fraction < 1 or not 0 <= d.val_fraction < 1 or d.test_fraction + d.val_fraction >= 1:
        raise UserError(
            f"data.test_fraction {d.test_fraction} and data.val_fraction {d.val_fraction} must be in [0, 1) "
            "and sum to less than 1"
        )
    if t.accumulation_steps < 1 or t.checkpoint_every_steps < 0:
        raise UserError(f"train.accumulation_steps must be ≥ 1 and train.checkpoint_every_steps ≥ 0, got "
                        f"{t.accumulation_steps} and {t.checkpoint_every_steps}")
    check_given_splits(d)


def validate_against_model(cfg, model_dir: str | None = None) -> None:
    """Refuses what the model folder contradicts, reading only its config.json (no TensorFlow).

    model_dir: the folder whose weights and tokenizer the run will use; None is `cfg.model.model_dir`, and ""
    there the bundled all-MiniLM-L6-v2. A distillation passes its teacher's folder, which the student reads.
    Checks: the folder exists with config.json (a JSON object) and vocab.txt; `data.max_length` fits the
    position table (`max_position_embeddings`), else the first longer batch fails deep in the step.
    """
    # model_folder is plain json/os (TensorFlow-free); imported here as it sits above config in the layers.
    from tfbig.model_folder import default_model_dir, read_model_config

    if model_dir is None:
        model_dir = cfg.model.model_dir
    model_dir = model_dir or default_model_dir()
    config = read_model_config(model_dir)
    where = os.path.join(model_dir, "config.json")
    if not isinstance(config, dict):
        raise UserError(f"{where}: expected a JSON object, got {type(config).__name__}")
    positions = config.get("max_position_embeddings", DEFAULT_MAX_POSITIONS)
    if isinstance(positions, bool) or not isinstance(positions, int) or positions < 1:
        raise UserError(f"{where}: max_position_embeddings must be a positive integer, got {positions!r}")
    if cfg.data.max_length > positions:
        raise UserError(f"data.max_length {cfg.data.max_length} is larger than the model's "
                        f"max_position_embeddings {positions} ({where}); set data.max_length to at most {positions}")


def save_config(cfg, path: str) -> None:
    from tfbig.io_utils import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(to_dict(cfg), sort_keys=False))


@dataclass
class MlmConfig:
    """`tfbig pretrain`'s masked-language-model settings (the masking itself is data.mask_rate & co.)."""
    preset: str = ""  # "": continue model.model_dir's pretraining; tiny | mini | small | medium | base | large: from scratch
    vocab: str = ""  # from scratch: a vocab.txt; "" takes model.model_dir's (the bundled MiniLM's by default)
    # data.source is a labelled corpus: pretrain on its train split's texts as `tfbig train` splits it (same
    # data.seed, test_fraction, val_fraction), validate on its validation split's; the test texts are never read
    labelled_splits: bool = False


@dataclass
class PretrainRunConfig(RunConfig):
    """A `tfbig pretrain` run: RunConfig with task mlm and an `mlm` section."""
    task: str = "mlm"
    mlm: MlmConfig = field(default_factory=MlmConfig)
