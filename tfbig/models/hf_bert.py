"""The Hugging Face `TFBertModel` backbone: the only module that imports transformers.

transformers 4.57 cannot read a PyTorch-layout `model.safetensors` into a TF model
(transformers#40028, "'builtins.safe_open' object is not iterable"), so the file is read with
safetensors' numpy loader and handed to transformers' own PyTorch→TF name mapping.
"""
import logging
import os

from tfbig._keras import keras, tf
from tfbig.errors import UserError
from tfbig.logs import debug_logging
from tfbig.model_folder import check_model_folder

log = logging.getLogger(__name__)
if not debug_logging():
    # Read when transformers is first imported: its TF-deprecation banner (warning level) is noise here.
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def load_hf_bert(model_dir: str, dropout: float | None = None, name: str = "bert"):
    """Returns a `TFBertModel` with the weights of the BERT folder `model_dir` (no torch, no network).

    model_dir: str. A folder with `config.json` and `model.safetensors` (PyTorch layout) or `tf_model.h5`.
    dropout: float or None. Overrides the config's hidden and attention dropout when given.
    """
    from transformers import BertConfig, TFBertModel
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

    check_model_folder(model_dir)
    config = BertConfig.from_pretrained(model_dir)
    if dropout is not None:
        config.hidden_dropout_prob = dropout
        config.attention_probs_dropout_prob = dropout
    st_path = os.path.join(model_dir, "model.safetensors")
    h5_path = os.path.join(model_dir, "tf_model.h5")
    if os.path.exists(st_path):
        from safetensors.numpy import load_file

        model = TFBertModel(config, name=name)
        model(model.dummy_inputs, training=False)  # create the variables
        state = load_file(st_path)
        _, info = load_pytorch_state_dict_in_tf2_model(
            model, state, allow_missing_keys=True, output_loading_info=True, skip_logger_warnings=True
        )
        missing = [k for k in info["missing_keys"]]
        if missing:
            raise UserError(f"{st_path}: no tensor for {missing[:5]}")
        unexpected = [k for k in info["unexpected_keys"] if not k.endswith("position_ids")]
        if unexpected:
            log.warning("%s: ignored tensors %s", st_path, unexpected[:5])
        return model
    if os.path.exists(h5_path):
        return TFBertModel.from_pretrained(model_dir, config=config, name=name, local_files_only=True)
    raise UserError(f"{model_dir}: no model.safetensors or tf_model.h5")


def random_hf_bert(config_dict: dict, name: str = "bert"):
    """A randomly initialised `TFBertModel` from a dict of `BertConfig` fields (used by tests)."""
    from transformers import BertConfig, TFBertModel

    model = TFBertModel(BertConfig(**config_dict), name=name)
    model(model.dummy_inputs, training=False)
    return model


def assert_keras2(model) -> None:
    """transformers' TF classes subclass tf-keras; a Keras 3 model around them would not train them."""
    if not isinstance(model, keras.Model):
        raise TypeError(f"{type(model).__name__} is not a tf-keras model; set TF_USE_LEGACY_KERAS=1")


__all__ = ["load_hf_bert", "random_hf_bert", "assert_keras2", "tf"]
