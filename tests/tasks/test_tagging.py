"""Task `tagging` in pieces: masked per-token loss by hand, seqeval strict on a hand-checked case, the
most-frequent-tag baseline, the sentence split, and global-batch averaging on 2 replicas."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.data.text_files import Examples
from tfbig.data.tokenizer import BertTextTokenizer
from tfbig.data.word_alignment import IGNORE
from tfbig.reports.tagging import entity_scheme, most_frequent_tag_baseline, tagging_report
from tfbig.tasks.registry import get_task

HERE = os.path.dirname(os.path.abspath(__file__))
SENTENCES = [(["the", "club", "win", "the", "game", "."], ["DT", "NN", "VB", "DT", "NN", "."]),
             (["shares"], ["NNS"])]


def tiny_tagger(folder, tags, seed=0):
    """A built tagger on tfbig's encoder (the default backbone; transformers' TFBertModel takes ~3x longer to
    build, and the 2-replica script would import transformers for it), without dropout."""
    from tfbig.train.task_model import TaskModel

    keras.utils.set_random_seed(seed)
    model = TaskModel.from_pretrained(folder, get_task("tagging", tags), backbone="tfbig", backbone_dropout=0.0,
                                      dropout=0.0)
    ids = tf.ones([1, 4], tf.int32)
    model({"input_ids": ids, "attention_mask": ids, "token_type_ids": tf.zeros_like(ids)})
    return model


def examples(sentences):
    out = Examples()
    for words, tags in sentences:
        out.add_words(words, tags)
    return out


def log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def test_train_step_loss_is_the_masked_mean_ce_over_labelled_pieces(tiny_bert_dir):
    task_tags = sorted({t for _, tags in SENTENCES for t in tags})
    model = tiny_tagger(tiny_bert_dir, task_tags)
    tok = BertTextTokenizer.from_model_dir(tiny_bert_dir, max_length=16)
    x, y = next(iter(model.task.split_dataset(examples(SENTENCES), tok, 2, bucketing=False)))
    y = y.numpy()
    assert (y != IGNORE).sum() == 7  # one label per word, none on [CLS]/[SEP]/extra pieces/padding
    logits = model(x).numpy()
    labelled = y != IGNORE
    want = -np.mean(np.take_along_axis(log_softmax(logits), np.maximum(y, 0)[..., None], -1)[..., 0][labelled])
    # The 1-word sentence weighs 1/7, not 1/2: a per-example mean would give another number.
    per_sentence = [np.mean(-np.take_along_axis(log_softmax(logits[i]), np.maximum(y[i], 0)[:, None], -1)[:, 0]
                            [labelled[i]]) for i in range(2)]
    assert abs(np.mean(per_sentence) - want) > 1e-4
    model.compile(optimizer=keras.optimizers.SGD(0.0))
    history = model.fit(tf.data.Dataset.from_tensors((x, tf.constant(y))), epochs=1, verbose=0)
    assert history.history["ce"][-1] == pytest.approx(want, rel=1e-5)
    accuracy = float(np.mean(logits.argmax(-1)[labelled] == y[labelled]))
    assert history.history["token_accuracy"][-1] == pytest.approx(accuracy)


def one_hot_logits(ids, width, classes):
    out = np.zeros((len(ids), width, classes), np.float32)
    for i, row in enumerate(ids):
        for j, c in enumerate(row):
            out[i, j, c] = 5.0
    return out


def test_seqeval_strict_on_a_hand_checked_case():
    tags = ["B-LOC", "B-ORG", "B-PER", "I-ORG", "I-PER", "O"]
    assert entity_scheme(tags) == "IOB2" and entity_scheme(["NN", "DT"]) is None
    assert entity_scheme(["B-X", "E-X", "S-X", "I-X", "O"]) == "IOBES"
    ix = {t: i for i, t in enumerate(tags)}
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["I-ORG", "I-ORG"]]
    # Positions 0 and 5 are [CLS]/[SEP]-like IGNOREs: they must not count.
    y = np.full((2, 6), IGNORE)
    p = np.zeros((2, 6), np.int64)
    for i, (g, q) in enumerate(zip(gold, pred)):
        y[i, 1:1 + len(g)] = [ix[t] for t in g]
        p[i, 1:1 + len(q)] = [ix[t] for t in q]
    report = tagging_report(y, one_hot_logits(p, 6, len(tags)), tags)
    e = report["entities"]
    # Gold: PER, LOC, ORG. Predicted (strict): PER, ORG where LOC is; "I-ORG I-ORG" has no B-: no entity.
    assert e["precision"] == pytest.approx(1 / 2) and e["recall"] == pytest.approx(1 / 3)
    assert e["f1"] == pytest.approx(0.4)
    assert e["per_type"]["PER"]["f1"] == 1.0 and e["per_type"]["LOC"]["recall"] == 0.0
    assert e["per_type"]["ORG"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert report["token_accuracy"] == pytest.approx(4 / 6) and report["num_tokens"] == 6
    assert report["worst_sentences"][0]["index"] == 0 or report["worst_sentences"][0]["errors"] == 1
    from seqeval.metrics import f1_score
    from seqeval.scheme import IOB2

    assert f1_score(gold, pred, mode="strict", scheme=IOB2) == pytest.approx(e["f1"])


def test_most_frequent_tag_baseline_by_hand():
    train_words = [["the", "can", "can"], ["a", "can"]]
    train_tags = [["DT", "MD", "NN"], ["DT", "NN"]]
    out = most_frequent_tag_baseline(train_words, train_tags, [["the", "can", "zebra"]], [["DT", "NN", "NN"]])
    # can → NN (2 of 3), zebra unknown → DT (the most frequent overall, 2 DT vs 2 NN: the first seen)
    assert out["token_accuracy"] == pytest.approx(2 / 3) and out["unknown_word_share"] == pytest.approx(1 / 3)


def test_split_by_sentence_is_seeded_and_disjoint():
    sentences = [([f"w{i}", "x"], ["A", "B"]) for i in range(20)]
    task = get_task("tagging")
    a = task.split(examples(sentences), 0.2, 0.1, seed=3)
    b = task.split(examples(sentences), 0.2, 0.1, seed=3)
    c = task.split(examples(sentences), 0.2, 0.1, seed=4)
    assert (len(a.train), len(a.val), len(a.test)) == (14, 2, 4)
    assert a.test.words == b.test.words and a.test.words != c.test.words
    seen = [tuple(w) for part in (a.train, a.val, a.test) for w in part.words]
    assert len(set(seen)) == 20 and a.train.texts[0] == " ".join(a.train.words[0])


def test_global_batch_average_on_two_replicas(tiny_bert_dir):
    """A 1-word and a 6-word sentence, one per replica: the mirrored step equals one device's."""
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(HERE)))
    done = subprocess.run([sys.executable, os.path.join(HERE, "_tagging_mirrored.py"), tiny_bert_dir],
                          capture_output=True, text=True, timeout=400, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["replicas"] == 2
    assert out["moved"] > 1e-4 and out["diff"] <= 1e-6
    assert out["mirrored_ce"] == pytest.approx(out["one_ce"], abs=1e-6)
    assert out["one_ce"] == pytest.approx(out["hand_ce"], rel=1e-5)


def test_distillation_kl_per_token_at_labelled_positions(tiny_bert_dir):
    """α = 0: the objective is T²·KL per labelled piece, averaged over the labelled pieces; 0 for a copy."""
    from tfbig.distill.model import DistillationModel

    tags = sorted({t for _, ts in SENTENCES for t in ts})
    teacher, student = tiny_tagger(tiny_bert_dir, tags, seed=0), tiny_tagger(tiny_bert_dir, tags, seed=1)
    tok = BertTextTokenizer.from_model_dir(tiny_bert_dir, max_length=16)
    x, y = next(iter(student.task.split_dataset(examples(SENTENCES), tok, 2, bucketing=False)))
    model = DistillationModel(teacher, student, temperature=2.0, alpha=0.0)
    got = float(model.compute_objective(x, y, training=False)["loss"])
    t, s = teacher(x).numpy() / 2.0, student(x).numpy() / 2.0
    kl = (np.exp(log_softmax(t)) * (log_softmax(t) - log_softmax(s))).sum(-1) * 4.0  # (B, T)
    labelled = y.numpy() != IGNORE
    assert got == pytest.approx(float(kl[labelled].mean()), rel=1e-4)  # float32 KL of near distributions
    assert abs(kl[labelled].mean() - kl[x["attention_mask"].numpy() == 1].mean()) > 1e-6  # the mask matters
    same = DistillationModel(teacher, teacher, temperature=2.0, alpha=0.0)
    assert float(same.compute_objective(x, y, training=False)["loss"]) == pytest.approx(0.0, abs=1e-6)
    two = student.task.soft_targets([teacher(x), teacher(x)], [0.5, 0.5], 2.0)
    np.testing.assert_allclose(two.numpy(), log_softmax(t), atol=1e-5)


def test_serving_module_edges_in_memory(tiny_bert_dir):
    """Empty texts and batches, empty words and trailing padding words: shapes hold, no-piece words get ""."""
    from tfbig.tasks.tagging_serving import TaggingServingModule

    model = tiny_tagger(tiny_bert_dir, ["DT", "NN", "VB"])
    module = TaggingServingModule(model, BertTextTokenizer.from_model_dir(tiny_bert_dir, max_length=16), model.task)
    out = module.serve_text(tf.constant(["the  club", "", "☃ ,"]))
    assert out["words"].numpy().tolist() == [[b"the", b"club"], [b"", b""], ["☃".encode(), b","]]
    assert out["start"].numpy().tolist() == [[0, 5], [-1, -1], [0, 2]]
    assert out["end"].numpy().tolist() == [[3, 9], [-1, -1], [1, 3]]
    assert out["probabilities"].shape == (3, 2, 3) and out["tag_ids"].numpy()[1].tolist() == [-1, -1]
    assert module.serve_text(tf.constant([], tf.string))["tags"].shape == (0, 0)
    words = module.predict_words(tf.constant([["the", "", "club", ""], ["game", "", "", ""]]))
    assert words["tags"].shape == (2, 4) and words["tag_ids"].numpy()[:, 1].tolist() == [-1, -1]
    assert words["tags"].numpy()[1, 1:].tolist() == [b"", b"", b""]
    # The same words tag the same, whether sent as text or as words.
    np.testing.assert_array_equal(module.serve_text(tf.constant(["the club"]))["tag_ids"].numpy()[0],
                                  words["tag_ids"].numpy()[0, [0, 2]])
