"""Named encoder sizes: the compact BERTs of Turc et al. 2019, BERT-base and BERT-large (heads = hidden/64, FFN = 4·hidden)."""
from tfbig.errors import UserError

# name: (num_hidden_layers, hidden_size)
_SIZES = {"tiny": (2, 128), "mini": (4, 256), "small": (4, 512), "medium": (8, 512), "base": (12, 768),
          "large": (24, 1024)}


def _preset(layers: int, hidden: int) -> dict:
    return {"vocab_size": 30522, "hidden_size": hidden, "num_hidden_layers": layers,
            "num_attention_heads": hidden // 64, "intermediate_size": 4 * hidden, "max_position_embeddings": 512,
            "type_vocab_size": 2}


PRESETS = {name: _preset(*size) for name, size in _SIZES.items()}


def preset(name: str) -> dict:
    """The BertEncoder keyword arguments of preset `name` (a copy)."""
    if name not in PRESETS:
        raise UserError(f"encoder preset '{name}' is not one of {', '.join(PRESETS)}")
    return dict(PRESETS[name])
