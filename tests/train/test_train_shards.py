"""The trainer on a shard folder: pre-split shards streamed as they are, flat shards split as usual."""
import json

import numpy as np
import pytest

from tfbig.config import load_config
from tfbig.data.pipeline import split_dataset
from tfbig.data.shard_reader import ShardErrors
from tfbig.data.shard_splits import ShardSplit
from tfbig.data.shard_writer import write_shards
from tfbig.errors import UserError
from tfbig.jobs.train_job import train_run
from tfbig.train.build import build_classifier
from tfbig.train.data import load_run_data
from tfbig.train.evaluation import evaluate_split


@pytest.fixture
def texts_jsonl(tmp_path, tiny_texts):
    texts, labels = tiny_texts
    rows = [{"text": f"{t} {k}", "label": ["sports", "market"][y]} for k in range(4) for t, y in zip(texts, labels)]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return str(path)


def _cfg(tmp_path, source, tiny_bert_dir, *extra):
    return load_config(None, [f"data.source={source}", f"model.model_dir={tiny_bert_dir}", "data.max_length=16",
                              "data.batch_size=4", "train.epochs=1", f"output_dir={tmp_path}/runs",
                              f"export_dir={tmp_path}/sm", "train.learning_rate=1e-3", *extra])


def test_presplit_shards_fit_and_evaluate(tmp_path, texts_jsonl, tiny_bert_dir):
    out = str(tmp_path / "shards")
    summary = write_shards(texts_jsonl, out, 2, val_fraction=0.2, test_fraction=0.25, progress=False)
    cfg = _cfg(tmp_path, out, tiny_bert_dir)
    prep = load_run_data(cfg)
    assert isinstance(prep.splits.train, ShardSplit) and prep.splits.labels == ["market", "sports"]
    assert len(prep.splits.train) == summary["records"]["train"]
    model = build_classifier(cfg, prep.model_dir, 2)
    model.compile(optimizer="adam")
    train_ds = split_dataset(prep.splits.train, prep.splits.labels, prep.tokenizer, 4, shuffle=True)
    history = model.fit(train_ds, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    report = evaluate_split(model, prep.splits.test, prep.splits.labels, prep.tokenizer, 4)
    assert sum(c["support"] for c in report["per_class"].values()) == summary["records"]["test"]


@pytest.mark.slow
def test_presplit_shards_train_run_end_to_end(tmp_path, texts_jsonl, tiny_bert_dir):
    out = str(tmp_path / "shards")
    summary = write_shards(texts_jsonl, out, 2, val_fraction=0.2, test_fraction=0.25, progress=False)
    report = train_run(_cfg(tmp_path, out, tiny_bert_dir))
    assert report["split_sizes"] == {s: summary["records"].get(s, 0) for s in ("train", "val", "test")}
    assert sum(c["support"] for c in report["per_class"].values()) == summary["records"]["test"]
    assert report["export"]


def test_flat_shards_are_read_and_split_as_usual(tmp_path, texts_jsonl, tiny_bert_dir):
    out = str(tmp_path / "flat")
    write_shards(texts_jsonl, out, 3, progress=False)
    prep = load_run_data(_cfg(tmp_path, out, tiny_bert_dir, "data.val_fraction=0.25", "data.test_fraction=0.25"))
    assert (len(prep.splits.train), len(prep.splits.val), len(prep.splits.test)) == (16, 8, 8)


def test_a_bad_shard_stops_with_one_line_naming_it(tmp_path, texts_jsonl, tiny_bert_dir):
    out = str(tmp_path / "bad")
    write_shards(texts_jsonl, out, 1, val_fraction=0.2, test_fraction=0.2, progress=False)
    (tmp_path / "bad" / "labels.txt").write_text("market\nother\n")  # "sports" records no longer match
    prep = load_run_data(_cfg(tmp_path, out, tiny_bert_dir))
    ds = split_dataset(prep.splits.train, prep.splits.labels, prep.tokenizer, 4)
    with pytest.raises(UserError, match=r"part-00000-of-00001.tfrecord: record \d+ .*labels.txt: sports"):
        with ShardErrors():  # as train_run wraps fit and evaluation
            list(ds)
