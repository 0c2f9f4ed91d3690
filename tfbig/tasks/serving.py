"""The SavedModel module a server calls: raw text (or token ids) in, the task's outputs out. Tasks with other
inputs (pairs, tagging) subclass it."""
from tfbig._keras import tf

# Rows per length-sorted chunk a signature runs at a time (see ServingModule._outputs): small enough that a short
# text rarely shares a chunk with a long one, large enough to keep the matmuls efficient.
CHUNK = 16


class ServingModule(tf.Module):
    """What a server calls: raw text in, the task's outputs (probabilities and class names, ...) out; or
    token ids in.

    model: keras model. Takes the features dict, returns the task's outputs (logits for classification).
    tokenizer: BertTextTokenizer or CoreBertTokenizer. (B,) strings -> features dict.
    task: tfbig Task, or a list of class names (classification). Turns outputs into named tensors.
    asset_files: dict of {name: path}. Files kept in the SavedModel's assets/ (labels, config, vocabulary).
    """

    def __init__(self, model, tokenizer, task, asset_files: dict | None = None):
        from tfbig.models.lora import served_variables
        from tfbig.tasks.registry import as_task

        super().__init__(name="tfbig_serving")
        # The model's variables are tracked, the Keras model is not: Keras would otherwise trace and save
        # every layer's call for revival (slow to export and load), which a server never uses.
        # LoRA adapters are left out: an export traces the model with them merged into the kernels.
        self.model_variables = served_variables(model)
        self._model = lambda features: model(features, training=False)
        self.tokenizer = tokenizer
        self._task = as_task(task)
        self.asset_files = {name: tf.saved_model.Asset(path) for name, path in (asset_files or {}).items()}

    def _forward(self, features):
        # An empty batch (B=0) or empty sequences (T=0) would break attention's shapes: pad to at least
        # (1, 1) with masked positions, then keep the first B rows.
        b, t = tf.shape(features["input_ids"])[0], tf.shape(features["input_ids"])[1]
        padding = [[0, tf.maximum(1 - b, 0)], [0, tf.maximum(1 - t, 0)]]
        return self._model({k: tf.pad(v, padding) for k, v in features.items()})[:b]

    def _outputs(self, features):
        """The task's outputs of a batch: one that fits in a chunk runs as it is (cut to its longest text), a
        larger one as length-sorted chunks (`_chunked`). Padding is masked out of attention, so either way the
        outputs are the whole batch's (to float rounding)."""
        b = tf.shape(features["input_ids"])[0]
        outputs = tf.cond(b <= CHUNK, lambda: self._one_chunk(features), lambda: self._chunked(features))
        return self._task.serving_outputs(outputs)

    def _one_chunk(self, features):
        """(B, ...) float32 outputs of a batch of at most CHUNK rows in one call, cut to its longest text: no
        sort, no loop (a single request's latency)."""
        width = tf.reduce_max(tf.concat([tf.reduce_sum(features["attention_mask"], axis=1), [0]], axis=0))
        return tf.cast(self._forward({k: v[:, :width] for k, v in features.items()}), tf.float32)

    def _chunked(self, features):
        """(B, ...) float32 outputs of a batch run as length-sorted chunks of CHUNK rows, each cut to its own
        longest text: a batch of short texts with one long one costs little more than its short texts, not
        B × longest."""
        lengths = tf.reduce_sum(features["attention_mask"], axis=1)
        order = tf.argsort(lengths, direction="DESCENDING", stable=True)
        ordered = {k: tf.gather(v, order) for k, v in features.items()}
        longest = tf.gather(lengths, order)
        b = tf.shape(order)[0]
        chunks = tf.maximum((b + CHUNK - 1) // CHUNK, 1)
        parts = tf.TensorArray(tf.float32, size=chunks, infer_shape=False)
        for i in tf.range(chunks):
            start = i * CHUNK
            end = tf.minimum(start + CHUNK, b)
            width = tf.reduce_max(tf.concat([longest[start:end], [0]], axis=0))
            parts = parts.write(i, tf.cast(self._forward({k: v[start:end, :width] for k, v in ordered.items()}),
                                           tf.float32))
        return tf.gather(parts.concat(), tf.argsort(order))  # back to the request's order

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve_text(self, text):
        return self._outputs(self.tokenizer(text))

    @tf.function(input_signature=[
        tf.TensorSpec([None, None], tf.int32, name="input_ids"),
        tf.TensorSpec([None, None], tf.int32, name="attention_mask"),
        tf.TensorSpec([None, None], tf.int32, name="token_type_ids"),
    ])
    def predict_ids(self, input_ids, attention_mask, token_type_ids):
        return self._outputs({"input_ids": input_ids, "attention_mask": attention_mask,
                              "token_type_ids": token_type_ids})

    def signatures(self) -> dict:
        return {"serving_default": self.serve_text, "predict_ids": self.predict_ids}
