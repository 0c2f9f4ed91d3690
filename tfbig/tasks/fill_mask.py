"""The fill-mask SavedModel signature of an MLM run: raw text with `[MASK]` in, the top-k pieces per mask out.

`[MASK]` is cut out of the text before normalisation (BERT's basic tokenizer would split it into `[`, `mask`,
`]`): each text is split on it, the pieces between are word-pieced, and the mask id is put back between them.
"""
from tfbig._keras import tf
from tfbig.errors import UserError

MASK_TOKEN = "[MASK]"
TOP_K = 10  # fills per mask an export returns (tfbig predict --top-k shows the first k)


def mask_id_of(vocab: list, where: str = "the vocabulary") -> int:
    """The id of [MASK]; UserError naming `where` when the vocabulary has none."""
    if MASK_TOKEN not in vocab:
        raise UserError(f"{where}: vocabulary has no {MASK_TOKEN} (masked-language modelling masks with it)")
    return list(vocab).index(MASK_TOKEN)


def masked_features(tokenizer, texts, mask_id: int) -> dict:
    """(B,) strings with `[MASK]` → the features dict plus "mlm_positions" (B, M) and "mlm_weights" (B, M):
    M is the most masks of a row; rows with fewer have weight-0 slots (position 0)."""
    from tfbig.data.tokenizer import features_from_ids

    segments = tf.strings.split(texts, MASK_TOKEN)  # (B, S): S-1 masks in a row of S segments
    pieces = tokenizer.wordpieces(segments.flat_values)  # (N, L)
    mask = tf.RaggedTensor.from_tensor(tf.fill(tf.stack([pieces.nrows(out_type=tf.int32), 1]), mask_id))
    joined = tf.RaggedTensor.from_row_splits(tf.concat([pieces, tf.cast(mask, pieces.dtype)], axis=1),
                                             tf.cast(segments.row_splits, tf.int64))  # (B, S, L+1)
    ids = joined.merge_dims(1, 2)[:, :-1]  # every segment followed by a mask, but the last
    ids = ids[:, : tokenizer.max_length - 2]
    n = ids.nrows(out_type=tf.int32)
    cls = tf.fill(tf.stack([n, 1]), tokenizer.cls_id)
    sep = tf.fill(tf.stack([n, 1]), tokenizer.sep_id)
    ids = tf.concat([tf.cast(cls, ids.dtype), ids, tf.cast(sep, ids.dtype)], axis=1)
    features = features_from_ids(ids.to_tensor(tokenizer.pad_id), tokenizer.pad_id)
    is_mask = tf.equal(features["input_ids"], mask_id)
    t = tf.shape(is_mask)[1]
    positions = tf.ragged.boolean_mask(tf.broadcast_to(tf.range(t), tf.shape(is_mask)), is_mask)
    features["mlm_positions"] = positions.to_tensor(0)
    features["mlm_weights"] = tf.ones_like(positions, tf.float32).to_tensor(0.0)
    return features


class FillMaskModule(tf.Module):
    """`serving_default`: text (B,) → "tokens" (B, M, k) strings, "token_ids" (B, M, k), "scores" (B, M, k)
    softmax probabilities, "mask_weights" (B, M): 1 where the row has an M-th mask.

    model: a TaskModel of task mlm (features with "mlm_positions" → (B, M, V) logits).
    tokenizer: BertTextTokenizer. top_k: int. Fills per mask.
    """

    def __init__(self, model, tokenizer, asset_files: dict | None = None, top_k: int = TOP_K):
        from tfbig.models.lora import served_variables

        super().__init__(name="tfbig_fill_mask")
        if not hasattr(tokenizer, "wordpieces"):
            raise UserError("the fill-mask signature needs the tensorflow-text tokenizer (--tokenizer fast)")
        self.model_variables = served_variables(model)  # tracked; the Keras model is not (see ServingModule)
        self._model = lambda features: model(features, training=False)
        self.tokenizer = tokenizer
        self.mask_id = mask_id_of(tokenizer.vocab)
        self.top_k = min(int(top_k), len(tokenizer.vocab))
        self._vocab = tf.constant(list(tokenizer.vocab))
        self.asset_files = {name: tf.saved_model.Asset(path) for name, path in (asset_files or {}).items()}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def fill_mask(self, text):
        features = masked_features(self.tokenizer, text, self.mask_id)
        weights = features.pop("mlm_weights")
        probs = tf.nn.softmax(tf.cast(self._model(features), tf.float32), axis=-1)  # (B, M, V)
        top = tf.math.top_k(probs, k=self.top_k)
        return {"tokens": tf.gather(self._vocab, top.indices), "token_ids": top.indices, "scores": top.values,
                "mask_weights": weights}

    def signatures(self) -> dict:
        return {"serving_default": self.fill_mask}
