"""`tfbig predict` on each task's export: the printed values are the SavedModel's serving_default outputs."""
import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.cli import main

TEXTS = ["the club win the game", "bank shares and market growth"]


def _served(export, **inputs):
    fn = tf.saved_model.load(export).signatures["serving_default"]
    return {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in inputs.items()}).items()}


def _lines(capsys):
    return [line for line in capsys.readouterr().out.splitlines() if line.strip()]


def _numbers(field):
    """{name: value} of 'name 0.1234  name 0.5678'."""
    parts = field.split()
    return {parts[i]: float(parts[i + 1]) for i in range(0, len(parts), 2)}


def test_regression_prints_each_targets_value(task_runs, capsys):
    run = task_runs("regression")
    assert main(["predict", run["export"], *TEXTS]) == 0
    want = _served(run["export"], text=TEXTS)["predictions"]
    lines = _lines(capsys)
    assert len(lines) == 2
    for line, row, text in zip(lines, want, TEXTS):
        values, shown = line.split("\t")
        assert shown == text
        got = _numbers(values)
        assert list(got) == ["sport", "market"]
        np.testing.assert_allclose([got["sport"], got["market"]], row, atol=1e-4)


def test_multilabel_prints_the_labels_over_their_threshold(task_runs, capsys):
    run = task_runs("multilabel")
    assert main(["predict", run["export"], *TEXTS]) == 0
    served = _served(run["export"], text=TEXTS)
    labels = run["task"].labels
    for line, probs, chosen in zip(_lines(capsys), served["probabilities"], served["predicted"]):
        field = line.split("\t")[0]
        want = {labels[i]: probs[i] for i in range(len(labels)) if chosen[i]}
        got = {} if field == "(none)" else _numbers(field)
        assert set(got) == set(want)
        for name in want:
            assert got[name] == pytest.approx(want[name], abs=1e-4)
            assert want[name] >= [0.45, 0.55][labels.index(name)]


def test_tagging_prints_each_word_with_its_tag(task_runs, capsys):
    run = task_runs("tagging")
    assert main(["predict", run["export"], *TEXTS]) == 0
    served = _served(run["export"], text=TEXTS)
    for line, words, tags in zip(_lines(capsys), served["words"], served["tags"]):
        pairs = line.split("\t")[0].split()
        want = [f"{w.decode()}/{t.decode()}" for w, t in zip(words, tags) if w]
        assert pairs == want and len(pairs) == 5


def test_pairs_read_pair_arguments_and_tab_separated_lines(task_runs, capsys, tmp_path):
    run = task_runs("pairs")
    seconds = ["players win", "the market price"]
    want = _served(run["export"], text=TEXTS, text_pair=seconds)["predictions"][:, 0]
    assert main(["predict", run["export"], TEXTS[0], TEXTS[1], "--pair", seconds[0], "--pair", seconds[1]]) == 0
    got = [_numbers(line.split("\t")[0])["market"] for line in _lines(capsys)]
    np.testing.assert_allclose(got, want, atol=1e-4)
    file = tmp_path / "pairs.tsv"
    file.write_text("".join(f"{a}\t{b}\n" for a, b in zip(TEXTS, seconds)), encoding="utf-8")
    assert main(["predict", run["export"], "--file", str(file)]) == 0
    lines = _lines(capsys)
    np.testing.assert_allclose([_numbers(line.split("\t")[0])["market"] for line in lines], want, atol=1e-4)
    assert lines[0].endswith(f"{TEXTS[0]} | {seconds[0]}")


def test_a_pair_model_without_its_pair_names_text_pair(task_runs, capsys, tmp_path):
    run = task_runs("pairs")
    assert main(["predict", run["export"], TEXTS[0]]) == 2
    assert "text_pair" in capsys.readouterr().err
    file = tmp_path / "one.txt"
    file.write_text("no tab here\n", encoding="utf-8")
    assert main(["predict", run["export"], "--file", str(file)]) == 2
    err = capsys.readouterr().err
    assert "line 1" in err and "text_pair" in err
    assert main(["predict", task_runs("regression")["export"], TEXTS[0], "--pair", "x"]) == 2
    assert "--pair" in capsys.readouterr().err


def test_help_says_how_a_pair_is_given(capsys):
    with pytest.raises(SystemExit):
        main(["predict", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--pair TEXT" in text and "TEXT<TAB>PAIR" in text and "multilabel" in text
