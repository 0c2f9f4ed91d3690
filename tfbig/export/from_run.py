"""Exports a finished training or distillation run (config.yaml, labels.txt, final.weights) as a SavedModel."""
import logging
import os

from tfbig.errors import UserError

log = logging.getLogger(__name__)

TOKENIZERS = ("fast", "core")  # fast: BertTextTokenizer (tensorflow-text ops); core: core TF ops only


def build_tokenizer(kind: str, model_dir: str, max_length: int):
    """The in-graph tokenizer of a model folder: "fast" (tensorflow-text ops) or "core" (plain TF ops)."""
    if kind == "fast":
        from tfbig.data.tokenizer import BertTextTokenizer

        return BertTextTokenizer.from_model_dir(model_dir, max_length)
    if kind == "core":
        from tfbig.data.core_tokenizer import CoreBertTokenizer

        return CoreBertTokenizer.from_model_dir(model_dir, max_length)
    raise UserError(f"tokenizer '{kind}' is not one of {', '.join(TOKENIZERS)}")


def read_run(run_dir: str) -> tuple:
    """(config, class names, config text, weights path) of a `tfbig train` or `tfbig distill` run folder."""
    import yaml

    from tfbig.config import RunConfig, load_config

    if not os.path.isdir(run_dir):
        raise UserError(f"run folder not found: {run_dir}")
    paths = {name: os.path.join(run_dir, name) for name in ("config.yaml", "labels.txt", "final.weights.index")}
    for name, path in paths.items():
        if not os.path.isfile(path):
            raise UserError(f"run folder {run_dir} has no {name} (is the training run finished?)")
    with open(paths["config.yaml"], encoding="utf-8") as f:
        config_text = f.read()
    cls = RunConfig
    if "distill" in (yaml.safe_load(config_text) or {}):
        from tfbig.distill.config import DistillRunConfig as cls
    cfg = load_config(paths["config.yaml"], cls=cls)
    with open(paths["labels.txt"], encoding="utf-8") as f:
        labels = [line.rstrip("\n") for line in f if line.strip()]
    if not labels:
        raise UserError(f"{paths['labels.txt']}: no class names")
    return cfg, labels, config_text, os.path.join(run_dir, "final.weights")


def build_run_model(cfg, model_dir: str, num_classes: int):
    """The classifier of a run, before its weights are loaded; a distilled student is shaped from its teacher."""
    from tfbig.train.run import build_classifier

    if not hasattr(cfg, "distill"):
        return build_classifier(cfg, model_dir, num_classes)
    from tfbig.distill.run import load_teacher
    from tfbig.distill.student import build_student

    if not cfg.distill.teachers:
        raise UserError("the distillation run's config names no teacher (distill.teachers)")
    teacher = load_teacher(cfg.distill.teachers[0])[0]  # the student copies its shapes (and layers)
    s, t, m = cfg.student, cfg.train, cfg.model
    return build_student(teacher, num_classes, init=s.init, num_layers=s.num_layers,
                         teacher_layers=[int(i) for i in s.teacher_layers], preset=s.preset, backbone=m.backbone,
                         dropout=m.dropout, backbone_dropout=m.backbone_dropout, l2=t.l2, l1=t.l1,
                         penalty_exclude=t.penalty_exclude)


def export_run(run_dir: str, out: str, version: int | None = None, tokenizer: str = "fast") -> str:
    """Rebuilds the run's classifier, loads final.weights and writes `out/<version>/`; returns its path."""
    from tfbig.export.saved_model import export_saved_model, next_version
    from tfbig.models.folder import default_model_dir

    if tokenizer not in TOKENIZERS:
        raise UserError(f"tokenizer '{tokenizer}' is not one of {', '.join(TOKENIZERS)}")
    cfg, labels, config_text, weights = read_run(run_dir)
    version = next_version(out) if version is None else version
    if os.path.exists(os.path.join(out, str(version))):  # before the slow model build
        raise UserError(f"export {os.path.join(out, str(version))} exists already; versions are never overwritten")
    model_dir = cfg.model.model_dir or default_model_dir()
    model = build_run_model(cfg, model_dir, len(labels))
    model.load_weights(weights).expect_partial()  # the optimizer's slots are in the file, not needed here
    tok = build_tokenizer(tokenizer, model_dir, cfg.data.max_length)
    return export_saved_model(model, tok, labels, out, version, assets={"config.yaml": config_text})
