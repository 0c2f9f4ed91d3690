"""Training batches are a function of (seed, epoch): a resumed stream is the tail of the full one."""
import numpy as np

from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.train.epoch_data import EpochData

TEXTS = [" ".join(["the game"] * (1 + i % 7) + ["market"] * (i % 3)) + f" {i % 10}" for i in range(23)]


def _batches(ds):
    return [(x["input_ids"].numpy(), y.numpy()) for x, y in ds]


def test_stream_from_a_step_is_the_tail_of_the_full_stream(tiny_bert_dir):
    tok = BertTextTokenizer.from_model_dir(tiny_bert_dir, max_length=40)  # 2 length buckets
    data = EpochData(TEXTS, [i % 2 for i in range(23)], tok, batch_size=4, seed=3)
    steps = data.steps_per_epoch
    full = _batches(data.stream(0, epochs=3))
    assert len(full) == 3 * steps
    epoch0, epoch1 = [b[1].tolist() for b in full[:steps]], [b[1].tolist() for b in full[steps:2 * steps]]
    assert epoch0 != epoch1  # each epoch has its own order
    for start in (1, steps, steps + 2):
        tail = _batches(EpochData(TEXTS, [i % 2 for i in range(23)], tok, 4, seed=3).stream(start, epochs=3))
        assert len(tail) == len(full) - start
        for (xa, ya), (xb, yb) in zip(full[start:], tail):
            np.testing.assert_array_equal(xa, xb)
            np.testing.assert_array_equal(ya, yb)
