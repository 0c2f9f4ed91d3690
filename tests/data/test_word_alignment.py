"""Word → piece alignment: ids equal BertTokenizerFast(is_split_into_words=True), tags on first pieces."""
import pytest

from tfbig._keras import tf
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.data.word_alignment import IGNORE, align, split_with_offsets

SENTENCES = [
    ["Hello", "unbelievably", "U.S.", "", "☃", "world", "!"],  # several pieces, punctuation inside, empty, [UNK]
    ["The", "naïve", "café's", "owner", "--", "Zoë", "--", "said", "(", "again", ")", "."],
    ["Mr.", "Müller", "paid", "$", "3,000", "for", "a", "well-known", "Σίσυφος", "painting"],
]


@pytest.fixture(scope="module")
def toks(minilm_dir):
    from transformers import BertTokenizerFast

    return BertTextTokenizer.from_model_dir(minilm_dir, max_length=24), BertTokenizerFast.from_pretrained(minilm_dir)


def first_positions(word_ids, n_words):
    starts = [-1] * n_words
    for position, word in enumerate(word_ids):
        if word is not None and starts[word] == -1:
            starts[word] = position
    return starts


@pytest.mark.parametrize("label_all_tokens", [False, True])
def test_ids_starts_and_labels_equal_transformers(toks, label_all_tokens):
    tok, hf = toks
    tags = [list(range(len(s))) for s in SENTENCES]
    out = align(tok, tf.ragged.constant(SENTENCES), tf.ragged.constant(tags), label_all_tokens=label_all_tokens)
    for i, words in enumerate(SENTENCES):
        enc = hf(words, is_split_into_words=True, truncation=True, max_length=24)
        assert out["input_ids"][i].numpy().tolist() == enc["input_ids"]
        assert out["word_starts"][i].numpy().tolist() == first_positions(enc.word_ids(), len(words))
        previous, expected = None, []
        for word in enc.word_ids():  # transformers' run_ner labelling
            expected.append(IGNORE if word is None else tags[i][word] if word != previous or label_all_tokens
                            else IGNORE)
            previous = word
        assert out["labels"][i].numpy().tolist() == expected


def test_hand_checked_pieces(toks):
    tok, _ = toks
    out = align(tok, tf.ragged.constant([SENTENCES[0]]), tf.ragged.constant([[1, 2, 3, 4, 5, 6, 7]]))
    unk = tok.vocab.index("[UNK]")
    ids = out["input_ids"][0].numpy().tolist()
    assert [tok.vocab[i] for i in ids[1:7]] == ["hello", "un", "##bel", "##ie", "##va", "##bly"]
    assert ids[11] == unk  # the snowman
    # hello, unbelievably (5 pieces), U.S. (4), the empty word (no piece), ☃, world, !
    assert out["word_starts"][0].numpy().tolist() == [1, 2, 7, -1, 11, 12, 13]
    assert out["labels"][0].numpy().tolist() == [IGNORE, 1, 2] + [IGNORE] * 4 + [3] + [IGNORE] * 3 + [5, 6, 7, IGNORE]


def test_truncated_words_have_no_start(toks):
    _, hf = toks
    tok = BertTextTokenizer(toks[0].vocab, max_length=6)
    out = align(tok, tf.ragged.constant([["a", "unbelievably", "b"]]), tf.ragged.constant([[0, 1, 2]]))
    assert out["input_ids"][0].numpy().tolist() == hf(["a", "unbelievably", "b"], is_split_into_words=True,
                                                      truncation=True, max_length=6)["input_ids"]
    assert out["word_starts"][0].numpy().tolist() == [1, 2, -1]
    assert out["labels"][0].numpy().tolist() == [IGNORE, 0, 1, IGNORE, IGNORE, IGNORE]


def test_raw_text_words_offsets_and_same_ids_as_text(toks):
    tok, _ = toks
    texts = tf.constant(["Héllo, wörld!  x", "U.S. café's ☃"])
    words, begin, end = split_with_offsets(texts)
    assert words[0].numpy().tolist() == [w.encode() for w in ["Héllo", ",", "wörld", "!", "x"]]
    assert begin[0].numpy().tolist() == [0, 5, 7, 12, 15] and end[0].numpy().tolist() == [5, 6, 12, 13, 16]
    for i, text in enumerate(["Héllo, wörld!  x", "U.S. café's ☃"]):
        spans = [text[b:e] for b, e in zip(begin[i].numpy(), end[i].numpy())]
        assert spans == [w.decode() for w in words[i].numpy()]
    assert align(tok, words)["input_ids"].to_list() == tok.tokenize(texts).to_list()


def test_core_ops_tokenizer_aligns_the_same(toks, minilm_dir):
    from tfbig.data.core_tokenizer import CoreBertTokenizer

    tok, _ = toks
    core = CoreBertTokenizer.from_model_dir(minilm_dir, max_length=24)
    tags = tf.ragged.constant([list(range(len(s))) for s in SENTENCES])
    fast, slow = align(tok, tf.ragged.constant(SENTENCES), tags), align(core, tf.ragged.constant(SENTENCES), tags)
    for key in ("input_ids", "word_starts", "labels"):
        assert fast[key].to_list() == slow[key].to_list(), key
