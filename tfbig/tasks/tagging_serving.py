"""The tagging task's SavedModel signatures: raw text → words, tags, probabilities and character offsets;
pre-split words → tags; token ids → per-piece tags.

It lives with the task (the export layer sits above tasks and calls `Task.serving_module`); it uses only
TensorFlow, the tokenizer and the alignment of tfbig.data.
"""
from tfbig._keras import tf
from tfbig.data.word_alignment import align, split_with_offsets


class TaggingServingModule(tf.Module):
    """What a server calls for a tagger.

    model: keras model. Features dict → (B, T, C) logits.
    tokenizer: BertTextTokenizer. Its WordPiece and normalisation split the words.
    task: TaggingTask. Its tag names.
    asset_files: dict of {name: path}. Files kept in the SavedModel's assets/.

    Words with no piece (empty, or cut by max_length) get tag "", tag_id -1 and zero probabilities; padding
    words are "" with offsets -1.
    """

    def __init__(self, model, tokenizer, task, asset_files: dict | None = None):
        from tfbig.models.lora import served_variables

        super().__init__(name="tfbig_tagging_serving")
        # As in ServingModule: the variables are tracked, the Keras model is not (no revival traces).
        self.model_variables = served_variables(model)
        self._model = lambda features: model(features, training=False)
        self.tokenizer = tokenizer
        self._task = task
        self.tags = tf.constant(list(task.labels))
        self.asset_files = {name: tf.saved_model.Asset(path) for name, path in (asset_files or {}).items()}

    def _forward(self, features):
        # B = 0 or T = 0 would break attention's shapes: pad to at least (1, 1), keep the first B rows.
        b, t = tf.shape(features["input_ids"])[0], tf.shape(features["input_ids"])[1]
        padding = [[0, tf.maximum(1 - b, 0)], [0, tf.maximum(1 - t, 0)]]
        return tf.cast(self._model({k: tf.pad(v, padding) for k, v in features.items()})[:b], tf.float32)

    def _tag_words(self, words):
        """ragged (B, W) words → dense (B, W) tags and tag ids, (B, W, C) probabilities, (B, W) valid."""
        from tfbig.data.tokenizer import features_from_ids

        pieces = align(self.tokenizer, words)
        probs = tf.nn.softmax(self._forward(features_from_ids(pieces["input_ids"].to_tensor(self.tokenizer.pad_id),
                                                               self.tokenizer.pad_id)), axis=-1)  # (B, T, C)
        starts = tf.cast(pieces["word_starts"].to_tensor(-1), tf.int32)  # (B, W)
        valid = starts >= 0
        word_probs = tf.gather(probs, tf.maximum(starts, 0), batch_dims=1)  # (B, W, C)
        word_probs = tf.where(valid[:, :, None], word_probs, 0.0)
        tag_id = tf.where(valid, tf.argmax(word_probs, axis=-1, output_type=tf.int32), -1)
        tag = tf.where(valid, tf.gather(self.tags, tf.maximum(tag_id, 0)), "")
        return {"tags": tag, "tag_ids": tag_id, "probabilities": word_probs}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve_text(self, text):
        words, begin, end = split_with_offsets(text)
        out = self._tag_words(words)
        out.update({"words": words.to_tensor(""), "start": tf.cast(begin.to_tensor(-1), tf.int32),
                    "end": tf.cast(end.to_tensor(-1), tf.int32)})
        return out

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="words")])
    def predict_words(self, words):
        """(B, W) words, "" after a sentence's last word → (B, W) tags (and ids, probabilities)."""
        out = self._tag_words(tf.RaggedTensor.from_tensor(words, padding=""))
        shape = tf.shape(words)
        width = shape[1] - tf.shape(out["tags"])[1]  # trailing "" columns the ragged form dropped
        return {"tags": tf.pad(out["tags"], [[0, 0], [0, width]], constant_values=""),
                "tag_ids": tf.pad(out["tag_ids"], [[0, 0], [0, width]], constant_values=-1),
                "probabilities": tf.pad(out["probabilities"], [[0, 0], [0, width], [0, 0]])}

    @tf.function(input_signature=[
        tf.TensorSpec([None, None], tf.int32, name="input_ids"),
        tf.TensorSpec([None, None], tf.int32, name="attention_mask"),
        tf.TensorSpec([None, None], tf.int32, name="token_type_ids"),
    ])
    def predict_ids(self, input_ids, attention_mask, token_type_ids):
        """Per piece: (B, T, C) probabilities, (B, T) tag ids and tags."""
        return self._task.serving_outputs(self._forward({"input_ids": input_ids, "attention_mask": attention_mask,
                                                         "token_type_ids": token_type_ids}))

    def signatures(self) -> dict:
        return {"serving_default": self.serve_text, "predict_words": self.predict_words,
                "predict_ids": self.predict_ids}
