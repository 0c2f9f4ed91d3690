"""`tfbig train` on a 2-worker cluster (strategy auto, TF_CONFIG): slow, run with TFBIG_SLOW=1."""
import csv
import os
import random

import numpy as np
import pytest
from _distribute_procs import free_ports, spawn, tail, tf_config, wait_all

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(os.environ.get("TFBIG_SLOW") != "1", reason="slow: set TFBIG_SLOW=1")]


def write_csv(path):
    rng = random.Random(0)
    sports, market = "the club win the game players best".split(), "bank shares market growth price sales".split()
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for _ in range(20):
            w.writerow([" ".join(rng.choices(sports, k=5)), "sport"])
            w.writerow([" ".join(rng.choices(market, k=5)), "business"])


def test_train_command_on_two_workers(tiny_bert_dir, tmp_path):
    from tfbig._keras import tf

    write_csv(tmp_path / "data.csv")
    ports, procs = free_ports(2), []
    for i in range(2):
        args = ["-m", "tfbig", "train", "--set", f"data.source={tmp_path}/data.csv", "--set",
                f"model.model_dir={tiny_bert_dir}", "--set", "data.max_length=16", "--set", "data.batch_size=4",
                "--set", "train.epochs=2", "--set", f"output_dir={tmp_path}/runs", "--set", f"export_dir={tmp_path}/sm"]
        procs.append(spawn(args, f"{tmp_path}/w{i}.log", TF_CONFIG=tf_config(ports, i)))
    codes = wait_all(procs, timeout=900)
    assert codes == [0, 0], "\n".join(tail(f"{tmp_path}/w{i}.log") for i in range(2))
    assert "strategy multi_worker" in tail(f"{tmp_path}/w0.log", 100000)
    chief, other = tmp_path / "runs" / "run", tmp_path / "runs" / ".workers" / "worker-1" / "run"
    assert (chief / "report.json").exists() and (tmp_path / "sm" / "run" / "1" / "saved_model.pb").exists()
    assert (other / "report.json").exists()  # the other worker's files stay out of the chief's way
    a, b = tf.train.load_checkpoint(str(chief / "final.weights")), tf.train.load_checkpoint(str(other / "final.weights"))
    names = [n for n in a.get_variable_to_shape_map() if "/.ATTRIBUTES/VARIABLE_VALUE" in n and "optimizer" not in n]
    assert len(names) > 10
    for n in names:
        np.testing.assert_array_equal(a.get_tensor(n), b.get_tensor(n))
