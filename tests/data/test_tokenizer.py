"""The in-graph tokenizer gives Hugging Face BertTokenizerFast's ids on edge cases, single texts and pairs."""
import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.data.tokenizer import BertTextTokenizer, pair_lengths

EDGE_CASES = [
    "", " ", "Hello World", "HELLO, World!!!", "café Café CAFÉ naïve résumé", "Straße ΟΔΟΣ ΣΑΣ İstanbul",
    "zxqwvbnm unfathomablyweird", "a" * 100, "a" * 101, "é" * 100, "é" * 101, "x" * 99 + ",y" + "z" * 120,
    "ring\x07ring\x00bell\x1f", "back_\x08space", "zero\u200bwidth soft\u00adhyphen \ufeffbom \ufffd",
    "nbsp\u00a0here\u2003em\u3000ideo\u2028line", "tab\there\nnew\r\nline\x0bvt\x0cff\x85nel",
    "中文字符和English混合", "𫠠𫤀 𫠟 𪜀", "emoji 😀👍🏽 ok", "price: £5, $3.50 & 10% off (really?)",
    "don't \"quote\" `tick` ~tilde~ a|b <tag> {x} [y] @h #t ^c", "ﬁne ﬂow ①②", "Ελληνικά кириллица العربية हिन्दी",
]


@pytest.fixture(scope="module")
def hf_fast(minilm_dir):
    transformers = pytest.importorskip("transformers")
    return transformers.BertTokenizerFast.from_pretrained(minilm_dir, local_files_only=True)


@pytest.mark.parametrize("max_length", [8, 128])
def test_edge_cases_match_hugging_face(minilm_dir, hf_fast, max_length):
    tok = BertTextTokenizer.from_model_dir(minilm_dir, max_length=max_length)
    ours = [list(ids) for ids in tok.tokenize(tf.constant(EDGE_CASES)).to_list()]
    ref = hf_fast(EDGE_CASES, truncation=True, max_length=max_length)["input_ids"]
    for text, a, b in zip(EDGE_CASES, ours, ref):
        assert a == b, f"{text!r}: {hf_fast.convert_ids_to_tokens(a)} != {hf_fast.convert_ids_to_tokens(b)}"


def test_known_pieces(minilm_dir, hf_fast):
    tok = BertTextTokenizer.from_model_dir(minilm_dir, max_length=32)
    ids = tok.tokenize(tf.constant(["Café!", "a" * 101]))
    assert hf_fast.convert_ids_to_tokens(ids[0].numpy()) == ["[CLS]", "cafe", "!", "[SEP]"]
    assert hf_fast.convert_ids_to_tokens(ids[1].numpy()) == ["[CLS]", "[UNK]", "[SEP]"]


@pytest.mark.parametrize("max_length", [3, 4, 7, 16, 17])
def test_pairs_match_hugging_face_longest_first(minilm_dir, hf_fast, max_length):
    first = ["short one", "a much longer first text with many words in it", "equal size", "", "x y z w"]
    second = ["a much longer second text with many words in it", "short two", "equal len", "only second", ""]
    tok = BertTextTokenizer.from_model_dir(minilm_dir, max_length=max_length)
    ids, segments = tok.tokenize_pairs(tf.constant(first), tf.constant(second))
    ref = hf_fast(first, second, truncation="longest_first", max_length=max_length)
    assert [list(r) for r in ids.to_list()] == ref["input_ids"]
    assert [list(r) for r in segments.to_list()] == ref["token_type_ids"]


def test_pair_features_are_padded_with_segments(minilm_dir, hf_fast):
    tok = BertTextTokenizer.from_model_dir(minilm_dir, max_length=12)
    features = tok(tf.constant(["first text"]), pad_to=12, second=tf.constant(["second"]))
    ref = hf_fast(["first text"], ["second"], padding="max_length", max_length=12)
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        np.testing.assert_array_equal(features[key].numpy(), np.array(ref[key]))


def test_pair_lengths_by_hand():
    # budget 5: (2, 9) keeps the short whole; (4, 9) halves, the longer gets the odd piece; ties favour the second.
    a, b = pair_lengths(tf.constant([2, 4, 9, 6, 1]), tf.constant([9, 9, 4, 6, 1]), 5)
    assert a.numpy().tolist() == [2, 2, 3, 2, 1]
    assert b.numpy().tolist() == [3, 3, 2, 3, 1]


def test_tiny_vocab_without_lower_casing(tiny_bert_dir):
    from tfbig.data.tokenizer import read_vocab
    import os

    vocab = read_vocab(os.path.join(tiny_bert_dir, "vocab.txt"))
    tok = BertTextTokenizer(vocab, lower_case=False, max_length=16)
    pieces = [vocab[i] for i in tok.tokenize(tf.constant(["the Game"]))[0].numpy()]
    assert pieces == ["[CLS]", "the", "[UNK]", "[SEP]"]  # "G" is not in the lower-case vocabulary
