"""MacroF1 accumulated over batches equals scikit-learn's macro F1 on all of them."""
import numpy as np
import pytest
from sklearn.metrics import f1_score

from tfbig.tasks.metrics import MacroF1


def test_macro_f1_matches_sklearn_over_batches():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, size=50)
    y[y == 3] = 2  # class 3 never occurs: its F1 counts as 0, as with zero_division=0
    logits = rng.normal(size=(50, 4)).astype(np.float32)
    metric = MacroF1(4)
    for start in range(0, 50, 16):
        metric.update_state(y[start:start + 16], logits[start:start + 16])
    expected = f1_score(y, logits.argmax(-1), labels=range(4), average="macro", zero_division=0)
    assert float(metric.result()) == pytest.approx(expected, abs=1e-6)
    np.testing.assert_array_equal(metric.matrix.numpy().sum(1)[:3], np.bincount(y, minlength=4)[:3])
    metric.reset_state()
    assert float(metric.result()) == 0.0
