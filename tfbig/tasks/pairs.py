"""What a task needs for sentence pairs (`data.text_pair_column`): the serving module taking `text` and
`text_pair`, and the floor of a pair task (the cosine of TF-IDF vectors, fitted to the targets)."""
import numpy as np

from tfbig._keras import tf
from tfbig.tasks.serving import ServingModule


class PairServingModule(ServingModule):
    """A SavedModel's module for pairs: `serving_default(text, text_pair)` and `predict_ids`, the task's outputs
    (ServingModule's, with a second text)."""

    pairs = True  # the warm-up requests carry text_pair too

    def __init__(self, model, tokenizer, task, asset_files: dict | None = None):
        from tfbig.data.pairs import require_pair_tokenizer

        require_pair_tokenizer(tokenizer)
        super().__init__(model, tokenizer, task, asset_files)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text"),
                                  tf.TensorSpec([None], tf.string, name="text_pair")])
    def serve_text(self, text, text_pair):
        return self._outputs(self.tokenizer(text, second=text_pair))


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
