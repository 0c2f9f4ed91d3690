"""Tagged-sentence readers: CoNLL columns, word/TAG lines, JSONL; long sentences; errors name file and line."""
import json

import pytest

from tfbig.config import DataConfig
from tfbig.data.conll import iter_conll, iter_tagged_jsonl, iter_word_tag, limit_words, read_tagged, split_word_tag
from tfbig.errors import UserError

CONLL = "-DOCSTART-\tO\n\nEU\tB-ORG\nrejects\tO\nGerman\tB-MISC\n\nPeter\tB-PER\nBlackburn\tI-PER\n\n\n"


def test_conll_tab_separated_with_docstart(tmp_path):
    path = tmp_path / "a.conll"
    path.write_text(CONLL)
    assert list(iter_conll(str(path))) == [(["EU", "rejects", "German"], ["B-ORG", "O", "B-MISC"]),
                                           (["Peter", "Blackburn"], ["B-PER", "I-PER"])]


def test_conll_four_columns_named_tag_column(tmp_path):
    path = tmp_path / "b.conll"
    path.write_text("EU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n")
    assert list(iter_conll(str(path), tag_column="1")) == [(["EU", "rejects"], ["NNP", "VBZ"]), (["Peter"], ["NNP"])]
    assert list(iter_conll(str(path)))[0][1] == ["B-ORG", "O"]  # default: the last column


def test_conll_line_without_tag_names_file_and_line(tmp_path):
    path = tmp_path / "c.conll"
    path.write_text("EU\tB-ORG\nrejects\n")
    with pytest.raises(UserError, match=r"c\.conll, line 2: no tag after the word 'rejects'"):
        list(iter_conll(str(path)))
    skipped = []
    assert list(iter_conll(str(path), on_error="skip", skipped=skipped)) == [(["EU"], ["B-ORG"])]
    assert skipped == [2]


def test_word_tag_splits_on_the_last_slash(tmp_path):
    assert split_word_tag("1/2/CD") == ("1/2", "CD")
    assert split_word_tag("and/or/CC") == ("and/or", "CC")
    assert split_word_tag("word") is None
    path = tmp_path / "d.txt"
    path.write_text("The/DT cat/NN sat/VBD ./.\n\nA/DT 1/2/CD\nbad token/NN\n")
    with pytest.raises(UserError, match=r"d\.txt, line 4: 'bad' has no tag"):
        list(iter_word_tag(str(path)))
    assert list(iter_word_tag(str(path), on_error="skip"))[:2] == [
        (["The", "cat", "sat", "."], ["DT", "NN", "VBD", "."]), (["A", "1/2"], ["DT", "CD"])]


def test_jsonl_tokens_and_tags(tmp_path):
    path = tmp_path / "e.jsonl"
    path.write_text(json.dumps({"tokens": ["New", "York"], "tags": ["B-LOC", "I-LOC"]}) + "\n"
                    + json.dumps({"tokens": ["x"], "tags": []}) + "\n")
    with pytest.raises(UserError, match=r"e\.jsonl, line 2: 1 tokens but 0 tags"):
        list(iter_tagged_jsonl(str(path)))
    assert list(iter_tagged_jsonl(str(path), on_error="skip")) == [(["New", "York"], ["B-LOC", "I-LOC"])]


def test_long_sentences_split_or_truncated_and_counted():
    sentences = [(list("abcde"), list("12345")), (["x"], ["9"])]
    stats = {}
    assert list(limit_words(sentences, 2, "split", stats)) == [
        (["a", "b"], ["1", "2"]), (["c", "d"], ["3", "4"]), (["e"], ["5"]), (["x"], ["9"])]
    assert stats == {"long_sentences": 1}
    assert list(limit_words(sentences, 2, "truncate")) == [(["a", "b"], ["1", "2"]), (["x"], ["9"])]


def test_read_tagged_cleans_and_counts(tmp_path):
    path = tmp_path / "f.conll"
    path.write_text("a\tX\nb\tY\nc\tX\n\na\tX\nb\tY\nc\tX\n\nd\tY\n")
    examples, stats = read_tagged(DataConfig(source=str(path), max_words=2))
    assert examples.words == [["a", "b"], ["c"], ["d"]]
    assert examples.texts == ["a b", "c", "d"]
    assert examples.labels == [["X", "Y"], ["X"], ["Y"]]
    assert stats["long_sentences"] == 2 and stats["duplicates"] == 2 and stats["long_sentences_action"] == "split"


def test_clean_tagged_trims_words_and_drops_empty_and_repeated_sentences():
    from tfbig.data.conll import clean_tagged

    sentences = iter([([" The", "cat "], ["DT", "NN"]), (["", " "], ["X", "X"]), (["The", "cat"], ["DT", "VB"]),
                      (["The", " cat"], ["DT", "NN"]), (["a", ""], ["DT", "X"]), (["Thecat"], ["NN"])])
    out, stats = clean_tagged(sentences)
    assert out.words == [["The", "cat"], ["a", ""], ["Thecat"]]
    assert out.texts == ["The cat", "a ", "Thecat"] and out.labels == [["DT", "NN"], ["DT", "X"], ["NN"]]
    assert stats == {"read": 6, "empty": 1, "duplicates": 2, "conflicting_labels": 1, "kept": 3}
    assert out.skipped == 0
