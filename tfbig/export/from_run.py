"""Exports a finished training or distillation run (config.yaml, labels.txt, final.weights) as a SavedModel."""
import logging
import os

from tfbig.config import check_choice
from tfbig.errors import UserError
from tfbig.names import EXPORT_PRECISIONS

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
    """(config, class names, config text, weights path) of a finished `tfbig train` or `tfbig distill` run."""
    from tfbig.runs.folder import RunFolder

    if not os.path.isdir(run_dir):
        raise UserError(f"run folder not found: {run_dir}")
    folder = RunFolder(run_dir)
    folder.require_finished()
    return folder.read_config(), folder.read_labels(), folder.config_text(), os.path.join(run_dir, "final.weights")


def export_run(run_dir: str, out: str, version: int | None = None, tokenizer: str = "fast",
               precision: str = "same") -> str:
    """Rebuilds the run's model (trained or distilled), loads final.weights and writes `out/<version>/`.

    precision: same (the policy the run trained in), auto, float32, bfloat16 or int8 (float32 with the encoder's
    Dense layers in int8, tfbig.export.int8) (tfbig.names.EXPORT_PRECISIONS).
    """
    from tfbig.distribute.precision import export_policy, policy_scope
    from tfbig.export.saved_model import export_saved_model, next_version
    from tfbig.model_folder import default_model_dir
    from tfbig.runs.folder import RunFolder
    from tfbig.tasks.registry import get_task

    check_choice(precision, EXPORT_PRECISIONS, "export precision")
    if tokenizer not in TOKENIZERS:
        raise UserError(f"tokenizer '{tokenizer}' is not one of {', '.join(TOKENIZERS)}")
    cfg, labels, config_text, _ = read_run(run_dir)
    version = next_version(out) if version is None else version
    if os.path.exists(os.path.join(out, str(version))):  # before the slow model build
        raise UserError(f"export {os.path.join(out, str(version))} exists already; versions are never overwritten")
    policy = export_policy(precision, cfg.train.precision, cfg.model.backbone)
    with policy_scope(policy):  # layers built here compute in the export's policy; weights stay float32
        model = RunFolder(run_dir).load_model()  # the optimizer's slots are in the file, not needed here
    tok = build_tokenizer(tokenizer, cfg.model.model_dir or default_model_dir(), cfg.data.max_length)
    task = get_task(getattr(cfg, "task", "classification"), labels)
    if getattr(getattr(model, "task", None), "name", None) == task.name:
        task = model.task  # the task whose head the weights were loaded into (tuned thresholds, target stats)
    return export_saved_model(model, tok, task, out, version, assets={"config.yaml": config_text},
                              int8=precision == "int8")
