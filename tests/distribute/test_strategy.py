"""Strategy selection, TF_CONFIG reading, the hardware plan and sharding, in this process (no cluster)."""
import copy
import dataclasses
import json
import os

import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.config import RunConfig, load_config
from tfbig.distribute import backup_callbacks, make_strategy, shard_per_worker
from tfbig.distribute.cluster import is_chief, num_workers, read_tf_config, task, worker_dir
from tfbig.distribute.data import DATA, FILE, shard_policy
from tfbig.distribute.losses import average_loss
from tfbig.distribute.precision import PRECISIONS
from tfbig.distribute.strategy import HardwarePlan, auto_kind, plan_for, split_cpu
from tfbig.errors import UserError


@pytest.mark.parametrize("gpus,workers,tpu,cpus,expected", [
    (0, 0, False, 0, "default"), (1, 0, False, 0, "one_device"), (2, 0, False, 0, "mirrored"),
    (8, 0, False, 0, "mirrored"), (2, 2, False, 0, "multi_worker"), (0, 3, False, 0, "multi_worker"),
    (0, 1, False, 0, "default"), (4, 4, True, 0, "tpu"), (0, 0, False, 2, "mirrored"), (1, 0, False, 2, "one_device"),
])
def test_auto_picks(gpus, workers, tpu, cpus, expected):
    assert auto_kind(gpus, workers, tpu, cpus) == expected


def cluster(task_type="worker", index=0, chief=False, workers=2):
    spec = {"worker": [f"h{i}:2222" for i in range(workers)]}
    if chief:
        spec["chief"] = ["c:2222"]
    return {"cluster": spec, "task": {"type": task_type, "index": index}}


def test_tf_config_counts_and_names_the_chief(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster("worker", 1)))
    assert read_tf_config()["task"] == {"type": "worker", "index": 1}
    assert num_workers() == 2 and task() == ("worker", 1) and not is_chief()
    assert is_chief(cluster("worker", 0))
    assert not is_chief(cluster("worker", 0, chief=True)) and is_chief(cluster("chief", 0, chief=True))
    assert num_workers(cluster(chief=True, workers=3)) == 4
    monkeypatch.delenv("TF_CONFIG")
    assert num_workers() == 0 and is_chief()


@pytest.mark.parametrize("raw,message", [
    ("{not json", "TF_CONFIG is not valid JSON"),
    ('{"cluster": {"ps": ["a:1"], "worker": ["b:1"]}}', "parameter servers"),
    ('["worker"]', "must be an object"),
])
def test_bad_tf_config_is_a_user_error(monkeypatch, raw, message):
    monkeypatch.setenv("TF_CONFIG", raw)
    with pytest.raises(UserError, match=message):
        num_workers()


def test_runtime_section_loads_from_yaml_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("runtime:\n  strategy: mirrored\n  num_logical_cpus: 2\n")
    cfg = load_config(str(path), ["runtime.backup=false", "runtime.tpu=grpc://10.0.0.2:8470"])
    assert (cfg.runtime.strategy, cfg.runtime.num_logical_cpus, cfg.runtime.backup) == ("mirrored", 2, False)
    assert cfg.runtime.tpu == "grpc://10.0.0.2:8470"


def test_tpu_forces_static_shapes_and_the_input_has_them(tiny_bert_dir):
    from tfbig.data.pipeline import make_dataset
    from tfbig.data.tokenizer import BertTextTokenizer

    given = RunConfig()
    plan = plan_for(given, "tpu", 8)
    cfg = plan.apply(given)
    assert plan.static_shapes and cfg.data.static_shapes and not given.data.static_shapes
    assert plan.precision == cfg.train.precision == "mixed_bfloat16"  # auto on a TPU: its native type
    tok = BertTextTokenizer.from_model_dir(tiny_bert_dir, max_length=16)
    texts = ["the club win", "bank shares and market growth in the year", "a game", "the market price of shares",
             "players", "sales growth for the firm said the bank", "win", "the best players in the club"]
    ds = make_dataset(texts, [0, 1] * 4, tok, 3, shuffle=True, bucketing=True, static_shapes=cfg.data.static_shapes)
    spec = ds.element_spec[0]
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        assert spec[name].shape.as_list() == [3, 16]  # known when the graph is built: one XLA program
    batches = [x for x, _ in ds]
    assert [b["input_ids"].shape.as_list() for b in batches] == [[3, 16], [3, 16]]  # 8 = 2·3 + 2 dropped


def test_non_chief_workers_write_below_the_run_folder(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps(cluster("worker", 1)))
    given = RunConfig(name="r", output_dir="runs", export_dir="saved_models")
    cfg = plan_for(given, "multi_worker", 2).apply(given)
    assert given.run_dir == os.path.join("runs", "r")  # the given config still names the chief's folder
    assert cfg.runtime.backup_dir == os.path.join("runs", "r", "backup")  # shared: the chief's
    assert cfg.run_dir == os.path.join("runs", ".workers", "worker-1", "r")
    assert cfg.export_dir == os.path.join("saved_models", ".workers", "worker-1")
    assert worker_dir("x", cluster("worker", 0)) == "x"


def test_make_strategy_in_this_process(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    for name, cls in (("auto", "_DefaultDistributionStrategy"), ("default", "_DefaultDistributionStrategy"),
                      ("one_device", "OneDeviceStrategy"), ("mirrored", "MirroredStrategy")):
        cfg = RunConfig()
        cfg.runtime.strategy = name
        strategy, plan = make_strategy(cfg)
        assert type(strategy).__name__.endswith(cls) and strategy.num_replicas_in_sync == 1, name
        assert plan.kind == ("default" if name == "auto" else name) and plan.num_replicas == 1
    cfg.runtime.strategy = "mirorred"
    with pytest.raises(UserError, match="runtime.strategy 'mirorred' is not one of auto, default, one_device, "
                                        "mirrored, multi_worker, tpu; did you mean 'mirrored'"):
        make_strategy(cfg)


def test_make_strategy_leaves_the_config_and_the_copy_carries_the_decision(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("TPU_NAME", raising=False)
    given = RunConfig(name="r", output_dir="runs")
    before = copy.deepcopy(given)
    strategy, plan = make_strategy(given)
    assert given == before  # auto precision, empty backup_dir: as the user wrote them
    assert isinstance(plan, HardwarePlan) and plan.precision in PRECISIONS
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.precision = "float32"
    cfg = plan.apply(given)
    assert given == before and cfg is not given and cfg.runtime is not given.runtime
    assert cfg.train.precision == plan.precision != "auto"
    assert cfg.runtime.backup_dir == plan.backup_dir == os.path.join("runs", "r", "backup")
    assert (cfg.output_dir, cfg.export_dir, cfg.data.static_shapes) == ("runs", "saved_models", False)
    # Everything the plan does not decide is the given config's.
    assert dataclasses.replace(cfg, train=given.train, runtime=given.runtime) == given
    assert dataclasses.replace(cfg.train, precision="auto") == given.train


def test_plan_keeps_explicit_choices_and_no_backup_means_no_folder():
    given = RunConfig()
    given.train.precision, given.runtime.backup, given.data.static_shapes = "mixed_float16", False, True
    plan = plan_for(given, "default")
    assert (plan.kind, plan.num_replicas, plan.precision, plan.static_shapes, plan.backup_dir) == (
        "default", 1, "mixed_float16", True, "")
    given.runtime.backup, given.runtime.backup_dir = True, "/shared/backup"
    assert plan_for(given, "mirrored", 2).backup_dir == "/shared/backup"
    hf = RunConfig()
    hf.model.backbone = "hf"
    assert plan_for(hf, "tpu").precision == "float32"  # transformers' TFBertModel is never switched


def test_logical_cpus_after_start_is_a_user_error():
    tf.constant(1.0) + 1.0  # TensorFlow has started
    have = len(tf.config.list_logical_devices("CPU"))
    with pytest.raises(UserError, match=f"num_logical_cpus {have + 1}: TensorFlow already runs"):
        split_cpu(have + 1)


def test_shard_policy_and_options():
    assert shard_policy(0, 2) == DATA and shard_policy(1, 2) == DATA and shard_policy(4, 2) == FILE
    ds = shard_per_worker(tf.data.Dataset.range(4))
    assert ds.options().experimental_distribute.auto_shard_policy == DATA
    assert shard_per_worker(None) is None


def test_backup_callbacks_follow_the_config():
    cfg = plan_for(RunConfig(), "default").apply(RunConfig())
    (cb,) = backup_callbacks(cfg.runtime)
    assert isinstance(cb, keras.callbacks.BackupAndRestore) and cb.save_freq == "epoch"
    assert cb.backup_dir == os.path.join(cfg.run_dir, "backup")
    cfg.runtime.backup_freq = 50
    assert backup_callbacks(cfg.runtime)[0].save_freq == 50
    cfg.runtime.backup = False
    assert backup_callbacks(cfg.runtime) == []


def test_average_loss_on_one_replica_is_the_mean():
    per_example = tf.constant([0.5, 1.0, 2.5])
    assert float(average_loss(per_example)) == pytest.approx(np.mean([0.5, 1.0, 2.5]))
    assert float(average_loss(tf.zeros([0]))) == 0.0  # an empty share adds nothing, not NaN


def test_auto_goes_on_without_a_tpu_that_does_not_answer(monkeypatch, caplog):
    import socket

    monkeypatch.delenv("TF_CONFIG", raising=False)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there: the connect probe fails before TensorFlow is touched
    cfg = RunConfig()
    cfg.runtime.tpu = f"grpc://127.0.0.1:{port}"
    strategy, plan = make_strategy(cfg)
    assert strategy.num_replicas_in_sync == 1 and plan.kind != "tpu" and not plan.static_shapes
    assert "no TPU was found" in caplog.text and "going on without a TPU" in caplog.text
