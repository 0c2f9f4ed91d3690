"""Builds the encoder a classifier sits on, by name; every backbone returns {"sequence_output", "pooled_output"}."""
from tfbig._keras import keras
from tfbig.config import check_choice
from tfbig.names import BACKBONES


class HFBertBackbone(keras.layers.Layer):
    """Adapts transformers' `TFBertModel` to the dict interface of tfbig backbones."""

    def __init__(self, bert, **kwargs):
        super().__init__(**kwargs)
        self.bert = bert

    def call(self, inputs, training=False, output_hidden_states=False, output_attentions=False):
        """Returns {"sequence_output", "pooled_output"}; when asked (distillation) also "hidden_states":
        the embeddings then every layer's output, L+1 × (B, T, H), and "attentions": L × (B, heads, T, T)."""
        out = self.bert(
            input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
            token_type_ids=inputs.get("token_type_ids"), training=training,
            output_hidden_states=output_hidden_states, output_attentions=output_attentions,
        )
        result = {"sequence_output": out.last_hidden_state, "pooled_output": out.pooler_output}
        if output_hidden_states:
            result["hidden_states"] = list(out.hidden_states)
        if output_attentions:
            result["attentions"] = list(out.attentions)
        return result

    @property
    def hidden_size(self) -> int:
        return self.bert.config.hidden_size


def build_backbone(backbone: str, model_dir: str, backbone_dropout: float = -1.0):
    """Returns a keras layer for `backbone` with the pretrained weights of `model_dir`."""
    if backbone == "tfbig":
        from tfbig.models.encoder import BertEncoder

        dropout = {"hidden_dropout_prob": backbone_dropout,
                   "attention_probs_dropout_prob": backbone_dropout} if backbone_dropout >= 0 else {}
        return BertEncoder.from_pretrained(model_dir, name="backbone", **dropout)
    if backbone == "hf":
        from tfbig.models.hf_bert import load_hf_bert

        dropout = backbone_dropout if backbone_dropout >= 0 else None
        return HFBertBackbone(load_hf_bert(model_dir, dropout=dropout), name="backbone")
    check_choice(backbone, BACKBONES, "model.backbone")  # every valid name returned above: this raises
