"""Task `tagging` end to end on the run skeleton: a tiny CoNLL file trains, reports, exports and serves."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfbig.config import load_config
from tfbig.jobs.train_job import train_run
from tfbig.testing import tiny_run_overrides

LEXICON = {"the": "DT", "a": "DT", "club": "NN", "game": "NN", "bank": "NN", "market": "NN", "players": "NNS",
           "shares": "NNS", "win": "VB", "said": "VBD", "best": "JJ", "new": "JJ", ".": ".", ",": ","}


def write_conll(path: str, n: int = 40, seed: int = 0) -> str:
    rng = np.random.default_rng(seed)
    words = list(LEXICON)
    with open(path, "w", encoding="utf-8") as f:
        f.write("-DOCSTART-\tO\n\n")
        for i in range(n):
            sentence = list(rng.choice(words, size=int(rng.integers(3, 9)))) + [str(i % 10)]
            for w in sentence:
                f.write(f"{w}\t{LEXICON.get(w, 'CD')}\n")
            f.write("\n")
    return path


@pytest.fixture(scope="module")
def tagging_run(tmp_path_factory, tiny_bert_dir):
    tmp = str(tmp_path_factory.mktemp("tagging"))
    data = write_conll(os.path.join(tmp, "train.conll"))
    sets = tiny_run_overrides(tmp, data, tiny_bert_dir, "tagger") + [
        "task=tagging", "train.epochs=1", "train.monitor=val_token_accuracy", "data.test_fraction=0.25",
        "data.val_fraction=0.25", "train.learning_rate=3e-3", "data.max_words=6", "train.baseline=true"]
    return tmp, train_run(load_config(None, sets))


def test_trains_reports_and_beats_nothing_silly(tagging_run):
    tmp, report = tagging_run
    assert report["task"] == "tagging"
    assert report["cleaning"]["long_sentences"] > 0 and report["cleaning"]["long_sentences_action"] == "split"
    n = sum(report["split_sizes"].values())
    assert report["split_sizes"]["test"] == round(n * 0.25)
    assert 0 <= report["token_accuracy"] <= 1 and report["num_tokens"] > 0
    assert set(report["per_tag"]) == set(LEXICON.values()) | {"CD"}
    assert "entities" not in report  # POS tags are no BIO set
    assert report["baseline"]["name"] == "most_frequent_tag" and report["baseline"]["token_accuracy"] > 0.8
    run = os.path.join(tmp, "runs", "tagger")
    assert os.path.isfile(os.path.join(run, "confusion_matrix.png"))
    md = open(os.path.join(run, "report.md"), encoding="utf-8").read()
    assert "token accuracy" in md and "| NN |" in md


def test_fresh_process_serves_the_in_memory_tags(tagging_run):
    tmp, report = tagging_run
    from tfbig.runs.folder import RunFolder
    from tfbig.train.data import load_run_data
    from tfbig.train.evaluation import split_outputs

    run = os.path.join(tmp, "runs", "tagger")
    cfg = load_config(os.path.join(run, "config.yaml"))
    data = load_run_data(cfg)
    model = RunFolder(run).load_model()
    test = data.splits.test
    y, outputs = split_outputs(model, test, data.task, data.tokenizer, 4)
    predicted = outputs.argmax(-1)
    want = [[data.task.labels[p] for p, t in zip(ps, ts) if t != -100] for ps, ts in zip(predicted, y)]
    top2 = np.sort(outputs, axis=-1)[..., -2:]
    # a word whose two best logits are within float rounding of each other (the export's fused products
    # round differently) may go either way: every other word must get the in-memory tag
    clear = [[m > 1e-3 for m, t in zip(ms, ts) if t != -100] for ms, ts in zip(top2[..., 1] - top2[..., 0], y)]
    assert sum(map(sum, clear)) >= 0.9 * sum(map(len, clear))
    texts = [" ".join(w) for w in test.words]
    script = (
        "import json, sys\nimport tensorflow as tf, tensorflow_text\n"
        "m = tf.saved_model.load(sys.argv[1])\nreq = json.loads(sys.argv[2])\n"
        "def s(t): return [[x.decode() for x in row] for row in t.numpy().tolist()]\n"
        "width = max(len(w) for w in req['words'])\n"
        "padded = [w + [''] * (width - len(w)) for w in req['words']]\n"
        "words = s(m.signatures['predict_words'](words=tf.constant(padded))['tags'])\n"
        "text = m.signatures['serving_default'](text=tf.constant(req['texts']))\n"
        "print(json.dumps({'words': words, 'text_tags': s(text['tags']),\n"
        "  'text_words': s(text['words']), 'start': text['start'].numpy().tolist(),\n"
        "  'end': text['end'].numpy().tolist()}))\n")
    done = subprocess.run([sys.executable, "-c", script, report["export"],
                           json.dumps({"words": test.words, "texts": texts})],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert [[g for g, c in zip(row, cs) if c] for row, cs in zip(got["words"], clear)] == \
        [[t for t, c in zip(w, cs) if c] for w, cs in zip(want, clear)]
    assert [len(row[:len(w)]) for row, w in zip(got["words"], want)] == [len(w) for w in want]
    for i, text in enumerate(texts):  # the tiny lexicon has no punctuation inside words: the same words
        n = len(test.words[i])
        assert got["text_tags"][i][:n] == got["words"][i][:n]
        assert [text[b:e] for b, e in zip(got["start"][i][:n], got["end"][i][:n])] == test.words[i]


def test_warmup_requests_run_on_the_export(tagging_run):
    _, report = tagging_run
    import tensorflow_text  # noqa: F401

    from tfbig._keras import tf
    from tfbig.export.warmup import read_warmup_requests

    served = tf.saved_model.load(report["export"])
    requests = read_warmup_requests(os.path.join(report["export"], "assets.extra", "tf_serving_warmup_requests"))
    assert {name for name, _ in requests} >= {"serving_default"}
    for name, inputs in requests:
        served.signatures[name](**{k: tf.constant(v) for k, v in inputs.items()})


def test_a_one_layer_student_distils_from_the_tagger(tagging_run, tiny_bert_dir):
    """distill on the tagger: the teachers run live (per-token outputs are not cached), the student reports."""
    tmp, teacher_report = tagging_run
    from tfbig.distill.config import DistillRunConfig
    from tfbig.jobs.distill_job import distill_run

    sets = tiny_run_overrides(tmp, os.path.join(tmp, "train.conll"), tiny_bert_dir, "student") + [
        "train.epochs=1", "train.monitor=val_loss", "data.test_fraction=0.25", "data.val_fraction=0.25",
        "data.max_words=6", "student.num_layers=1", f"distill.teachers=[{os.path.join(tmp, 'runs', 'tagger')}]"]
    report = distill_run(load_config(None, sets, cls=DistillRunConfig))
    assert report["task"] == "tagging" and report["job"] == "distill"
    assert report["teacher_logits_seconds"] is None  # live teacher
    assert report["teacher_report"]["token_accuracy"] == pytest.approx(teacher_report["token_accuracy"])
    assert report["student_params"] < report["teacher_params"] and 0 <= report["token_accuracy"] <= 1
