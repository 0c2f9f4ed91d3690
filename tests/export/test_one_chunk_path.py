"""ServingModule's one-chunk fast path (a batch of at most CHUNK rows in one call) gives the chunked path's
outputs, and `_outputs` picks either without changing the numbers."""
import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.tasks.serving import CHUNK, ServingModule

BBC_LABELS = ["business", "entertainment", "politics", "sport", "tech"]


@pytest.fixture(scope="module")
def module_and_texts(tiny_run, bbc_texts):
    from tfbig.data.tokenizer import BertTextTokenizer

    cfg, model = tiny_run
    tok = BertTextTokenizer.from_model_dir(cfg.model.model_dir, cfg.data.max_length)
    # Lengths from a few tokens to the 64-token cap, so chunks and the one-chunk cut have real padding.
    texts = [t[: 20 + 37 * i] for i, t in enumerate(bbc_texts)]
    return ServingModule(model, tok, BBC_LABELS), tok, texts


def _paths(module, features):
    spec = {k: tf.TensorSpec([None, None], tf.int32) for k in features}

    @tf.function(input_signature=[spec])
    def run(f):
        return module._one_chunk(f), module._chunked(f), module._outputs(f)["probabilities"]

    return [x.numpy() for x in run(features)]


@pytest.mark.parametrize("b", [3, CHUNK, CHUNK + 5, 0])
def test_one_chunk_equals_chunked(module_and_texts, b):
    module, tok, texts = module_and_texts
    features = tok(tf.constant(texts[:b], tf.string))
    one, chunked, probs = _paths(module, features)
    assert one.shape == chunked.shape == (b, len(BBC_LABELS))
    np.testing.assert_allclose(one, chunked, atol=1e-5)
    np.testing.assert_allclose(probs, tf.nn.softmax(chunked).numpy(), atol=1e-6)
    if b:
        lengths = features["attention_mask"].numpy().sum(1)
        assert lengths.min() < lengths.max()  # the rows really differ in length
