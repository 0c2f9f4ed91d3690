"""TF-IDF + logistic regression on the same split: the number a transformer has to beat."""
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from tfbig.reports.classification import classification_report


def tfidf_baseline(train_texts, train_ids, test_texts, test_ids, labels, seed: int = 0) -> dict:
    model = make_pipeline(
        TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2), min_df=2),
        LogisticRegression(C=10.0, max_iter=2000, random_state=seed),
    )
    model.fit(train_texts, train_ids)
    return {"model": "TF-IDF + logistic regression",
            **classification_report(test_ids, model.predict(test_texts), labels)}
