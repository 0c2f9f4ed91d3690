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
    """(config, class names, config text, weights path) of a finished train or distill run folder."""
    from tfbig.runs import RunFolder

    run = RunFolder(run_dir)
    run.require_finished()
    return run.read_config(), run.read_labels(), run.config_text(), run.weights_path


def export_run(run_dir: str, out: str, version: int | None = None, tokenizer: str = "fast") -> str:
    """Rebuilds the run's model (trained or distilled), loads final.weights and writes `out/<version>/`; returns its path."""
    from tfbig.export.saved_model import export_saved_model, next_version
    from tfbig.runs import RunFolder
    from tfbig.runs.rebuild import run_model_dir

    if tokenizer not in TOKENIZERS:
        raise UserError(f"tokenizer '{tokenizer}' is not one of {', '.join(TOKENIZERS)}")
    cfg, labels, config_text, _ = read_run(run_dir)
    version = next_version(out) if version is None else version
    if os.path.exists(os.path.join(out, str(version))):  # before the slow model build
        raise UserError(f"export {os.path.join(out, str(version))} exists already; versions are never overwritten")
    model = RunFolder(run_dir).load_model()
    tok = build_tokenizer(tokenizer, run_model_dir(cfg), cfg.data.max_length)
    return export_saved_model(model, tok, labels, out, version, assets={"config.yaml": config_text})
