"""`tfbig distill` end to end on a tiny teacher run: run folder, report, and a student SavedModel that stands alone."""
import json
import os

import numpy as np
import pytest

from tfbig.cli import main

SPORT = ["the club win the game", "players win a game", "the best players in the club", "a game to win",
         "the club players win", "win the game for the club", "a best game", "players in the game",
         "the game of the year", "the club said players win"]
MARKET = ["bank shares and market growth", "the market price of shares", "sales growth for the firm",
          "the bank said shares fell", "shares in the bank", "market growth for sales", "the firm price",
          "price of the market", "bank sales growth", "the firm and the bank shares"]


@pytest.fixture
def tiny_csv(tmp_path):
    path = tmp_path / "data.csv"
    rows = ["text,label"] + [f"{t},sport" for t in SPORT] + [f"{t},market" for t in MARKET]
    path.write_text("\n".join(rows) + "\n")
    return str(path)


def _teacher_run(folder, tiny_csv, model_dir) -> str:
    """What `tfbig train` leaves behind (config.yaml, labels.txt, final.weights), without paying for training."""
    from tfbig.config import load_config, save_config
    from tfbig.train.build import build_classifier

    cfg = load_config(None, [f"data.source={tiny_csv}", "data.max_length=16", "data.batch_size=4",
                             f"model.model_dir={model_dir}"])
    os.makedirs(folder)
    save_config(cfg, os.path.join(folder, "config.yaml"))
    with open(os.path.join(folder, "labels.txt"), "w") as f:
        f.write("market\nsport\n")
    build_classifier(cfg, model_dir, 2).save_weights(os.path.join(folder, "final.weights"))
    return folder


def test_distill_cli_writes_run_folder_report_and_student_export(tmp_path, tiny_csv, tiny_bert_dir, capsys):
    teacher_run = _teacher_run(str(tmp_path / "teacher"), tiny_csv, tiny_bert_dir)
    assert main(["distill", "--teacher", teacher_run, "--config", "configs/bbc_student.yaml",
                 "--set", "name=student", "--set", "distill.temperature=3", "--set", f"output_dir={tmp_path}/runs",
                 "--set", f"export_dir={tmp_path}/exports", "--set", "train.epochs=1"]) == 0
    out = capsys.readouterr().out
    assert "teacher logits cached" in out and "exported:" in out

    run = f"{tmp_path}/runs/student"
    for name in ("config.yaml", "labels.txt", "report.json", "final.weights.index", "confusion_matrix.png"):
        assert os.path.isfile(os.path.join(run, name)), name
    assert os.listdir(os.path.join(run, "logs"))
    with open(os.path.join(run, "report.json")) as f:
        report = json.load(f)
    assert report["split_sizes"] == {"train": 14, "val": 2, "test": 4}  # the teacher's split (data from its config)
    assert report["student_params"] < report["teacher_params"]
    assert abs(report["share_of_teacher_accuracy"] - report["accuracy"] / report["teacher_accuracy"]) < 1e-9

    import tensorflow as tf

    texts = tf.constant(SPORT[:2] + MARKET[:2])
    served = tf.saved_model.load(report["export"]).signatures["serving_default"](text=texts)
    probs = served["probabilities"].numpy()
    assert probs.shape == (4, 2)
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-5)


def test_distill_cli_names_what_a_teacher_run_lacks(tmp_path, capsys):
    run = tmp_path / "teacher"
    run.mkdir()
    (run / "config.yaml").write_text("data:\n  seed: 0\n")
    assert main(["distill", "--teacher", str(run)]) == 2
    assert f"teacher run folder {run} has no labels.txt" in capsys.readouterr().err


def test_student_must_use_the_teacher_split():
    from tfbig.config import DataConfig
    from tfbig.distill.config import check_same_split
    from tfbig.errors import UserError

    check_same_split(DataConfig(max_length=64), DataConfig(), "t")  # max_length may differ
    with pytest.raises(UserError, match="data.seed is 1 but teacher t was trained with 0"):
        check_same_split(DataConfig(seed=1), DataConfig(), "t")


@pytest.mark.parametrize("path, temperature, alpha, epochs", [("configs/bbc_student.yaml", 2.0, 0.5, 5),
                                                              ("configs/fortunes_student.yaml", 4.0, 0.3, 10)])
def test_shipped_student_configs_load_and_take_the_teachers_data(tmp_path, path, temperature, alpha, epochs):
    from tfbig.config import load_config, save_config
    from tfbig.distill.config import load_distill_config

    teacher = tmp_path / "teacher"
    teacher.mkdir()
    save_config(load_config(None, ["data.source=fortunes", "data.max_length=64"]), str(teacher / "config.yaml"))
    cfg = load_distill_config(path, [], teachers=[str(teacher)])
    assert (cfg.distill.temperature, cfg.distill.alpha, cfg.train.epochs) == (temperature, alpha, epochs)
    assert (cfg.student.num_layers, cfg.student.teacher_layers) == (1, [0])
    assert (cfg.data.source, cfg.data.max_length) == ("fortunes", 64)
