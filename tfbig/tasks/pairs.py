"""What a task needs for sentence pairs (`data.text_pair_column`): the serving module taking `text` and
`text_pair`, and the floor of a pair task (the cosine of TF-IDF vectors, fitted to the targets)."""
import numpy as np

from tfbig._keras import tf


class PairServingModule(tf.Module):
    """A SavedModel's module for pairs: `serving_default(text, text_pair)` and `predict_ids`, the task's outputs.

    Tracks the model's variables, not the Keras model (as tfbig.export.saved_model.ServingModule does).
    """

    pairs = True  # the warm-up requests carry text_pair too

    def __init__(self, model, tokenizer, task, asset_files: dict | None = None):
        from tfbig.data.pairs import require_pair_tokenizer
        from tfbig.models.lora import served_variables

        super().__init__(name="tfbig_pair_serving")
        require_pair_tokenizer(tokenizer)
        self.model_variables = served_variables(model)
        self._model = lambda features: model(features, training=False)
        self.tokenizer = tokenizer
        self._task = task
        self.asset_files = {name: tf.saved_model.Asset(path) for name, path in (asset_files or {}).items()}

    def _outputs(self, features):
        # An empty batch or empty sequences would break attention's shapes: pad to (1, 1), keep the first B rows.
        b, t = tf.shape(features["input_ids"])[0], tf.shape(features["input_ids"])[1]
        padding = [[0, tf.maximum(1 - b, 0)], [0, tf.maximum(1 - t, 0)]]
        outputs = self._model({k: tf.pad(v, padding) for k, v in features.items()})[:b]
        return self._task.serving_outputs(tf.cast(outputs, tf.float32))

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text"),
                                  tf.TensorSpec([None], tf.string, name="text_pair")])
    def serve_pairs(self, text, text_pair):
        return self._outputs(self.tokenizer(text, second=text_pair))

    @tf.function(input_signature=[
        tf.TensorSpec([None, None], tf.int32, name="input_ids"),
        tf.TensorSpec([None, None], tf.int32, name="attention_mask"),
        tf.TensorSpec([None, None], tf.int32, name="token_type_ids"),
    ])
    def predict_ids(self, input_ids, attention_mask, token_type_ids):
        return self._outputs({"input_ids": input_ids, "attention_mask": attention_mask,
                              "token_type_ids": token_type_ids})

    def signatures(self) -> dict:
        return {"serving_default": self.serve_pairs, "predict_ids": self.predict_ids}


def tfidf_cosines(train_pairs, pairs_to_score) -> np.ndarray:
    """(N,) cosine of the TF-IDF vectors (fitted on both sides of the training pairs) of each pair's two texts."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(sublinear_tf=True).fit([t for p in train_pairs for t in p])
    a = vectorizer.transform([p[0] for p in pairs_to_score])
    b = vectorizer.transform([p[1] for p in pairs_to_score])
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()  # rows are L2-normalised: the dot is the cosine


def cosine_baseline(task, train_pairs, train_y, test_pairs, test_y, seed: int = 0) -> dict:
    """The pair floor: TF-IDF cosine as the one feature of a linear model fitted on train (ridge for a
    regression, logistic regression for classes), reported the task's way."""
    from sklearn.linear_model import LogisticRegression, Ridge

    x_train = tfidf_cosines(train_pairs, train_pairs)[:, None]
    x_test = tfidf_cosines(train_pairs, test_pairs)[:, None]
    if task.target_dtype == tf.float32 and task.name == "regression":
        model = Ridge(alpha=1e-3).fit(x_train, np.asarray(train_y, np.float64))
        predicted = np.asarray(model.predict(x_test)).reshape(len(test_pairs), -1)
        report = task.report(np.asarray(test_y), predicted)
        report.pop("points", None)
        return {"model": "TF-IDF cosine + ridge", **report}
    model = LogisticRegression(random_state=seed).fit(x_train, np.asarray(train_y))
    logits = np.log(np.clip(model.predict_proba(x_test), 1e-9, 1))  # argmax of log-probabilities: the class
    full = np.full((len(test_pairs), len(task.labels)), -1e9)
    full[:, model.classes_] = logits
    return {"model": "TF-IDF cosine + logistic regression", **task.report(np.asarray(test_y), full)}
