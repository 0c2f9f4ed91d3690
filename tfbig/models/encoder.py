"""tfbig's BERT-compatible Transformer encoder, built from tfbig.layers; loads Hugging Face BERT folders."""
from tfbig._keras import keras, tf
from tfbig.layers import BertEmbeddings, Pooler, TransformerEncoderBlock, bert_initializer
from tfbig.layers.attention import additive_mask
from tfbig.layers.feed_forward import HIDDEN_ACTS
from tfbig.layers.initializers import serialize_initializer
from tfbig.layers.recompute import recomputed_call
from tfbig.layers.unpad import Unpadding, in_xla_context



@keras.utils.register_keras_serializable("tfbig")
class BertEncoder(keras.Model):
    """Embeddings → `num_hidden_layers` encoder blocks → pooler; returns {"sequence_output", "pooled_output"}.

    The arguments carry the names of a Hugging Face BERT `config.json`, so a folder's config feeds it as is.
    vocab_size: int. Token ids.
    hidden_size: int. Width of the residual stream.
    num_hidden_layers: int. Encoder blocks.
    num_attention_heads: int. Heads per block.
    intermediate_size: int. Feed-forward inner width.
    hidden_act: str. "gelu" (exact, BERT), "gelu_new"/"gelu_pytorch_tanh" (tanh approximation) or "relu".
    hidden_dropout_prob: float. Dropout on embeddings and sublayer outputs.
    attention_probs_dropout_prob: float. Dropout on attention probabilities.
    max_position_embeddings: int. Longest sequence.
    type_vocab_size: int. Segment ids.
    layer_norm_eps: float. LayerNorm epsilon.
    initializer_range: float. Std of the truncated-normal initialiser (used when kernel_initializer is None).
    norm_first: bool. Pre-LayerNorm blocks plus a final LayerNorm (not BERT; for models trained from scratch).
    kernel_initializer: initializer or None. Overrides the truncated normal.

    >>> enc = BertEncoder(**preset("tiny"))
    >>> out = enc({"input_ids": ids, "attention_mask": mask})  # (B, T, 128) and (B, 128)
    >>> enc = BertEncoder.from_pretrained(folder)  # Hugging Face weights, no transformers import
    """

    def __init__(self, vocab_size: int, hidden_size: int = 768, num_hidden_layers: int = 12,
                 num_attention_heads: int = 12, intermediate_size: int = 3072, hidden_act: str = "gelu",
                 hidden_dropout_prob: float = 0.1, attention_probs_dropout_prob: float = 0.1,
                 max_position_embeddings: int = 512, type_vocab_size: int = 2, layer_norm_eps: float = 1e-12,
                 initializer_range: float = 0.02, norm_first: bool = False, kernel_initializer=None, **kwargs):
        super().__init__(**kwargs)
        if hidden_act not in HIDDEN_ACTS:
            raise ValueError(f"hidden_act '{hidden_act}' is not one of {', '.join(HIDDEN_ACTS)}")
        self.vocab_size = int(vocab_size)
        self.hidden_size = int(hidden_size)
        self.num_hidden_layers = int(num_hidden_layers)
        self.num_attention_heads = int(num_attention_heads)
        self.intermediate_size = int(intermediate_size)
        self.hidden_act = hidden_act
        self.hidden_dropout_prob = float(hidden_dropout_prob)
        self.attention_probs_dropout_prob = float(attention_probs_dropout_prob)
        self.max_position_embeddings = int(max_position_embeddings)
        self.type_vocab_size = int(type_vocab_size)
        self.layer_norm_eps = float(layer_norm_eps)
        self.initializer_range = float(initializer_range)
        self.norm_first = bool(norm_first)
        self.kernel_initializer = kernel_initializer
        init = serialize_initializer(kernel_initializer or bert_initializer(initializer_range))
        self.embeddings = BertEmbeddings(
            vocab_size, hidden_size, max_position_embeddings, type_vocab_size, dropout=hidden_dropout_prob,
            layer_norm_epsilon=layer_norm_eps, kernel_initializer=init, name="embeddings")
        self.blocks = [
            TransformerEncoderBlock(
                hidden_size, num_attention_heads, intermediate_size, dropout=hidden_dropout_prob,
                attention_dropout=attention_probs_dropout_prob, activation=HIDDEN_ACTS[hidden_act],
                layer_norm_epsilon=layer_norm_eps, norm_first=norm_first, kernel_initializer=init,
                name=f"block_{i}")
            for i in range(num_hidden_layers)
        ]
        self.final_layer_norm = keras.layers.LayerNormalization(
            epsilon=layer_norm_eps, dtype="float32", name="final_layer_norm") if norm_first else None
        self.pooler = Pooler(hidden_size, kernel_initializer=init, name="pooler")
        self.recompute = False  # True after enable_recompute()
        # True while an export traces a model that reads only the [CLS] state (tfbig.export.fused): at inference
        # the last block then computes its first position only, and "sequence_output" is (B, 1, H).
        self.first_token_only = False
        # Training runs the blocks on the real tokens' rows only (tfbig.layers.unpad) when the batch has an
        # attention mask and the step is not compiled by XLA; False computes every padded position as well.
        self.unpad = True

    def enable_recompute(self) -> None:
        """Training recomputes each block's activations in the backward pass (train.recompute: blocks)."""
        self.recompute = True

    def call(self, inputs, training=False, output_hidden_states=False, output_attentions=False):
        """{"sequence_output" (B, T, H), "pooled_output" (B, H)}; when asked (distillation) also
        "hidden_states": the embedding output then every block's output, L+1 × (B, T, H), and "attentions":
        every block's probabilities, L × (B, heads, T, T), as Hugging Face's TFBertModel returns them."""
        input_ids = inputs["input_ids"]
        given = inputs.get("attention_mask")
        mask = additive_mask(given if given is not None else tf.ones_like(input_ids))  # (B, 1, 1, T)
        x = self.embeddings({"input_ids": input_ids, "token_type_ids": inputs.get("token_type_ids")},
                            training=training)
        states = [tf.cast(x, tf.float32)] if output_hidden_states else []  # no extra op unless asked
        attentions = []
        unpadding = None
        if self.unpad and training and given is not None and not in_xla_context():
            unpadding = Unpadding(given)
            x = unpadding.gather(tf.cast(x, tf.float32))  # (n, H): the real tokens
        recompute = self.recompute and bool(training)
        first_only = self.first_token_only and not training and not output_hidden_states and not output_attentions
        for i, block in enumerate(self.blocks):
            if recompute:  # probabilities only when asked: an output of a recomputed block is kept
                out = recomputed_call(block, x, mask, training, return_attention_scores=output_attentions,
                                      unpadding=unpadding)
                x, probs = out if output_attentions else (out, None)
            elif first_only and i == len(self.blocks) - 1:
                x, probs = block(x, attention_mask=mask, training=training, return_attention_scores=True,
                                 first_token_only=True)
            else:
                x, probs = block(x, attention_mask=mask, training=training, return_attention_scores=True,
                                 unpadding=unpadding)
            if output_hidden_states:
                states.append(x if unpadding is None else unpadding.padded(x))
            attentions.append(probs)
        if unpadding is not None:
            x = unpadding.padded(x)  # (B, T, H), zeros at the padded positions
        if self.final_layer_norm is not None:
            x = self.final_layer_norm(x)
        out = {"sequence_output": x, "pooled_output": self.pooler(x)}
        if output_hidden_states:
            out["hidden_states"] = states
        if output_attentions:
            out["attentions"] = attentions
        return out

    def build_weights(self, length: int = 2):
        """Creates the variables by calling the encoder once on a (1, length) input."""
        ids = tf.zeros([1, length], tf.int32)
        self({"input_ids": ids, "attention_mask": tf.ones_like(ids), "token_type_ids": ids})
        return self

    def build_from_config(self, config):
        """Deserialisation builds with int token ids (Keras' default would feed floats)."""
        self.build_weights()

    def get_config(self):
        return {
            "vocab_size": self.vocab_size, "hidden_size": self.hidden_size,
            "num_hidden_layers": self.num_hidden_layers, "num_attention_heads": self.num_attention_heads,
            "intermediate_size": self.intermediate_size, "hidden_act": self.hidden_act,
            "hidden_dropout_prob": self.hidden_dropout_prob,
            "attention_probs_dropout_prob": self.attention_probs_dropout_prob,
            "max_position_embeddings": self.max_position_embeddings, "type_vocab_size": self.type_vocab_size,
            "layer_norm_eps": self.layer_norm_eps, "initializer_range": self.initializer_range,
            "norm_first": self.norm_first,
            "kernel_initializer": serialize_initializer(self.kernel_initializer) if self.kernel_initializer else None,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    @classmethod
    def from_pretrained(cls, model_dir: str, name: str = "bert", **overrides):
        """An encoder with the config and weights of the Hugging Face BERT folder `model_dir`.

        overrides: BertEncoder arguments replacing the folder's (e.g. hidden_dropout_prob=0.0).
        Raises UserError naming the tensor when one is missing, unexpected or of another shape.
        """
        from tfbig.models.checkpoint import encoder_kwargs, load_bert_weights, read_bert_checkpoint

        kwargs = {**encoder_kwargs(model_dir), **overrides}
        encoder = cls(name=name, **kwargs).build_weights()
        state, path = read_bert_checkpoint(model_dir)
        load_bert_weights(encoder, state, path)
        return encoder
