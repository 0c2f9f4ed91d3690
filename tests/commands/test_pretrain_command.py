"""`tfbig pretrain`: the job on the run skeleton (stand-in corpus batches: tfbig.testing.TinyMlmEpochData),
its outputs (report, Hugging Face encoder folder, fill-mask SavedModel, `tfbig predict`), its user errors;
and, once tfbig.data.mlm_batches is there, the whole command on a real text folder with kill-and-resume."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from tfbig.cli import main
from tfbig.config import PretrainRunConfig, load_config
from tfbig.jobs.pretrain_job import PretrainJob, pretrain_run
from tfbig.testing import TinyMlmEpochData

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = ["the club won the game", "shares fell at the bank", "the market price of shares", "players win a game",
        "sales growth for the firm", "the bank said shares fell", "the best players in the club",
        "a new phone from the company", "music and film for people", "the minister said the party will win"]


class StandInJob(PretrainJob):
    """PretrainJob with the stand-in corpus: 8 training documents, 2 held out."""

    def documents(self, cfg):
        return (lambda: iter(DOCS[:8])), (lambda: iter(DOCS[8:]))

    def corpus_batches(self, cfg, documents, tokenizer, batch_size):
        return TinyMlmEpochData(list(documents()), tokenizer, batch_size, seed=cfg.seed)


class LabelledStandInJob(PretrainJob):
    """PretrainJob's own documents (mlm.labelled_splits), the stand-in batches."""

    def corpus_batches(self, cfg, documents, tokenizer, batch_size):
        return TinyMlmEpochData(list(documents()), tokenizer, batch_size, seed=cfg.seed)


def _sets(tmp, model_dir, name, **extra):
    settings = {"name": name, "output_dir": os.path.join(tmp, "runs"), "export_dir": os.path.join(tmp, "exports"),
                "model.model_dir": model_dir, "data.max_length": 16, "data.batch_size": 4, "train.epochs": 2,
                "train.learning_rate": 1e-3, "train.optimizer": "lamb", "train.decay": "polynomial",
                "train.precision": "float32", "train.checkpoint_every_steps": 2, "train.early_stopping_patience": 0}
    settings.update(extra)
    return [f"{k}={v}" for k, v in settings.items()]


@pytest.fixture(scope="module")
def scratch_run(tmp_path_factory, tiny_bert_dir):
    """mlm.preset tiny from scratch, the tiny folder's vocabulary."""
    tmp = str(tmp_path_factory.mktemp("pretrain"))
    cfg = load_config(None, _sets(tmp, tiny_bert_dir, "scratch", **{"mlm.preset": "tiny"}), cls=PretrainRunConfig,
                      check_model=False)
    return cfg, pretrain_run(cfg, job=StandInJob())


def test_report_and_outputs_of_a_run_from_scratch(scratch_run, capsys):
    cfg, report = scratch_run
    assert report["task"] == "mlm" and report["job"] == "pretrain" and report["steps"] == 4  # 2 batches × 2 epochs
    assert report["evaluated_on"] == "validation" and 0 <= report["masked_accuracy"] <= 1
    assert report["perplexity"] == pytest.approx(np.exp(report["mlm_loss"]), rel=1e-6)
    with open(os.path.join(report["encoder"], "config.json")) as f:
        config = json.load(f)
    assert (config["hidden_size"], config["num_hidden_layers"]) == (128, 2)  # the tiny preset, not the folder's 32
    assert main(["predict", cfg.run_dir, "the [MASK] won the game", "no mask", "--top-k", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "the [MASK] won the game" and lines[1].startswith("  [MASK] 1: ")
    assert len(lines[1].split("  ")[1:]) == 3 and lines[3] == "  (no [MASK] in the text)"
    logs = os.listdir(os.path.join(cfg.run_dir, "logs", "steps"))
    assert logs  # per-step mlm_loss, masked_accuracy, perplexity, tokens/s


def test_the_run_folder_rebuilds_and_fine_tuning_reads_the_encoder(scratch_run):
    from tfbig._keras import tf
    from tfbig.models.encoder import BertEncoder
    from tfbig.runs.folder import RunFolder

    cfg, report = scratch_run
    model = RunFolder(cfg.run_dir).load_model()  # rebuilt from config.yaml (PretrainRunConfig) + final.weights
    enc = BertEncoder.from_pretrained(report["encoder"])  # what model.model_dir does
    ids = tf.constant([[2, 10, 4, 11, 3]])
    x = {"input_ids": ids, "attention_mask": tf.ones_like(ids), "token_type_ids": tf.zeros_like(ids)}
    np.testing.assert_allclose(enc(x)["sequence_output"].numpy(), model.backbone(x)["sequence_output"].numpy(),
                               atol=1e-5)


def test_labelled_splits_are_the_train_runs_texts_without_its_test_texts(tmp_path, tiny_bert_dir):
    from tfbig.jobs.pretrain_job import labelled_split_texts
    from tfbig.testing import write_tiny_folder_dataset
    from tfbig.train.data import load_run_data

    data = write_tiny_folder_dataset(str(tmp_path / "data"))
    sets = _sets(str(tmp_path), tiny_bert_dir, "x", **{"data.source": data, "mlm.labelled_splits": True})
    train_fn, val_fn = labelled_split_texts(load_config(None, sets, cls=PretrainRunConfig, check_model=False))
    run = load_run_data(load_config(None, [s for s in sets if not s.startswith("mlm.")]))
    assert list(train_fn()) == run.splits.train.texts and list(val_fn()) == run.splits.val.texts
    assert not set(train_fn()) & set(run.splits.test.texts)


def test_continued_pretraining_loads_the_checkpoint(tmp_path, tiny_bert_dir):
    from tfbig.models.checkpoint import read_bert_checkpoint
    from tfbig.testing import write_tiny_folder_dataset

    data = write_tiny_folder_dataset(str(tmp_path / "data"), per_class=6)  # 18 texts: 10 train, 4 val, 4 test
    cfg = load_config(None, _sets(str(tmp_path), tiny_bert_dir, "continued",
                                  **{"train.epochs": 1, "train.precision": "mixed_bfloat16", "data.source": data,
                                     "data.val_fraction": 0.2, "mlm.labelled_splits": True}),
                      cls=PretrainRunConfig, check_model=False)
    report = pretrain_run(cfg, job=LabelledStandInJob())
    assert report["evaluated_on"] == "validation" and report["steps"] == 3  # 10 training texts in batches of 4
    state, _ = read_bert_checkpoint(report["encoder"])
    before, _ = read_bert_checkpoint(tiny_bert_dir)
    assert state["embeddings.word_embeddings.weight"].shape == before["embeddings.word_embeddings.weight"].shape
    assert "cls.predictions.bias" in state
    assert not np.allclose(state["encoder.layer.0.output.dense.weight"], before["encoder.layer.0.output.dense.weight"])


def test_vocabulary_without_mask_exits_2_naming_the_file(tmp_path, tiny_bert_dir, capsys):
    folder = str(tmp_path / "nomask")
    shutil.copytree(tiny_bert_dir, folder)
    vocab = open(os.path.join(folder, "vocab.txt")).read().replace("[MASK]\n", "[unused0]\n")
    open(os.path.join(folder, "vocab.txt"), "w").write(vocab)
    args = ["pretrain"] + [a for s in _sets(str(tmp_path), folder, "nomask") for a in ("--set", s)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"{folder}/vocab.txt: vocabulary has no [MASK]" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("extra,expected", [
    ({"data.max_length": 100}, "data.max_length 100 is larger than the model's max_position_embeddings 64"),
    ({"data.max_length": 600, "mlm.preset": "tiny"},
     "data.max_length 600 is larger than mlm.preset 'tiny''s max_position_embeddings 512"),
    ({"mlm.preset": "huge"}, "mlm.preset 'huge' is not one of"),
])
def test_bad_sizes_exit_2_naming_the_field(tmp_path, tiny_bert_dir, capsys, extra, expected):
    args = ["pretrain"] + [a for s in _sets(str(tmp_path), tiny_bert_dir, "bad", **extra) for a in ("--set", s)]
    assert main(args) == 2
    assert expected in capsys.readouterr().err


def _final_weights(run_dir):
    from tfbig._keras import tf

    prefix = os.path.join(run_dir, "final.weights")
    reader = tf.train.load_checkpoint(prefix)
    return {n: reader.get_tensor(n) for n, _ in tf.train.list_variables(prefix)
            if n.split("/")[0] in ("backbone", "head", "optimizer")}


# --- the whole command: needs tfbig.data.corpora / tfbig.data.mlm_batches (the data half of issue 15) --------
DRIVER = ("import sys, tensorflow as tf; tf.config.experimental.enable_op_determinism(); "
          "from tfbig.cli import main; sys.exit(main(sys.argv[1:]))")


def _start_pretrain(tmp, corpus, model_dir, name, env=None):
    """`tfbig pretrain` in a subprocess, started: `_finish` waits for it."""
    args = ["pretrain"] + [a for s in _sets(tmp, model_dir, name, **{"data.source": corpus, "data.val_fraction": 0.2,
                                                                     "train.checkpoint_every_steps": 1})
                           for a in ("--set", s)]
    output = tempfile.TemporaryFile("w+", encoding="utf-8")  # not a pipe: a run left going never blocks on it
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *args], stdout=output, stderr=subprocess.STDOUT,
                            text=True, env={**os.environ, "PYTHONPATH": ROOT, "TFBIG_PROGRESS": "0", **(env or {})})
    proc.output = output
    return proc


def _finish(proc):
    """(exit status, output) of a `_start_pretrain` process."""
    proc.wait(timeout=900)
    proc.output.seek(0)
    return proc.returncode, proc.output.read()


def test_sigkilled_pretrain_rerun_equals_an_uninterrupted_one(tmp_path, tiny_bert_dir):
    from tfbig.train.callbacks import KILL_AT_STEP_ENV

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, text in enumerate(DOCS * 3):
        (corpus / f"{i:02d}.txt").write_text(text + f" {i}\n")
    tmp = str(tmp_path)
    # The uninterrupted run is another run folder: it runs beside the killed run and its rerun.
    whole = _start_pretrain(tmp, str(corpus), tiny_bert_dir, "whole")
    procs = [whole]
    try:
        procs.append(_start_pretrain(tmp, str(corpus), tiny_bert_dir, "killed", {KILL_AT_STEP_ENV: "3"}))
        code, out = _finish(procs[-1])
        assert code == -9, out
        procs.append(_start_pretrain(tmp, str(corpus), tiny_bert_dir, "killed"))
        code, out = _finish(procs[-1])
        assert code == 0, out
        code, out = _finish(whole)
        assert code == 0, out
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    report = json.load(open(os.path.join(tmp, "runs", "killed", "report.json")))
    assert report["resumed_from_step"] > 0

    a, b = _final_weights(os.path.join(tmp, "runs", "whole")), _final_weights(os.path.join(tmp, "runs", "killed"))
    assert sorted(a) == sorted(b) and len(a) > 20
    for n in a:
        np.testing.assert_allclose(a[n], b[n], atol=1e-6, rtol=0, err_msg=n)
