import json
import os
import subprocess
import sys

import pytest

from tfbig.config import RunConfig, check_choice, load_config, save_config
from tfbig.errors import UserError
from tfbig.names import CLASSIFIER_METRICS, MONITORS, OPTIMIZERS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_defaults_and_overrides_coerce_types():
    cfg = load_config(None, ["train.epochs=2", "train.learning_rate=1e-4", "data.bucketing=false",
                             "train.penalty_exclude=bias,norm", "name=x"])
    assert cfg.train.epochs == 2 and isinstance(cfg.train.epochs, int)
    assert cfg.train.learning_rate == pytest.approx(1e-4)
    assert cfg.data.bucketing is False
    assert cfg.train.penalty_exclude == ["bias", "norm"]
    assert cfg.run_dir.endswith("x")


def test_unknown_key_suggests_the_closest(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  learnig_rate: 0.1\n")
    with pytest.raises(UserError, match=r"unknown config key 'train.learnig_rate'; did you mean 'learning_rate'"):
        load_config(str(path))


@pytest.mark.parametrize("value", ["0", "-1e-5"])
def test_non_positive_learning_rate_is_refused(value):
    with pytest.raises(UserError, match="learning_rate must be positive"):
        load_config(None, [f"train.learning_rate={value}"])


def test_wrong_type_names_the_key():
    with pytest.raises(UserError, match="data.batch_size"):
        load_config(None, ["data.batch_size=many"])


def test_saved_config_loads_back_equal(tmp_path):
    cfg = load_config(None, ["train.l2=0.01", "data.max_length=64"])
    save_config(cfg, str(tmp_path / "config.yaml"))
    assert load_config(str(tmp_path / "config.yaml")) == cfg
    assert load_config(None) == RunConfig()


@pytest.mark.parametrize("override,message", [
    ("model.backbone=tfbgi", "model.backbone 'tfbgi' is not one of tfbig, hf; did you mean 'tfbig'?"),
    ("model.backbone=HF", "model.backbone 'HF' is not one of tfbig, hf; did you mean 'hf'?"),
    ("train.decay=linaer", "train.decay 'linaer' is not one of linear, constant, polynomial; did you mean 'linear'?"),
    ("train.precision=float16", "train.precision 'float16' is not one of auto, float32, mixed_bfloat16, "
                                "mixed_float16; did you mean 'mixed_float16'?"),
    ("runtime.strategy=mirorred", "runtime.strategy 'mirorred' is not one of auto, default, one_device, mirrored, "
                                  "multi_worker, tpu; did you mean 'mirrored'?"),
    ("train.optimizer=adamW", "train.optimizer 'adamW' is not one of adam, adamw, adagrad, sgd, lamb; did you mean 'adamw'?"),
    ("data.format=jsonn", "data.format 'jsonn' is not one of auto, folder, csv, tsv, jsonl, tfrecord, conll, "
                          "word_tag; did you mean 'jsonl'?"),
    ("data.on_error=skp", "data.on_error 'skp' is not one of raise, skip; did you mean 'skip'?"),
    ("data.documents=blank", "data.documents 'blank' is not one of file, blank_line; did you mean 'blank_line'?"),
    ("data.mask_rate=0", "data.mask_rate must be in (0, 1), got 0.0"),
    ("train.monitor=val_acc", "did you mean 'val_accuracy'?"),
    ("train.monitor=val_f1", "did you mean 'val_macro_f1'?"),
    ("train.monitor=accuray", "did you mean 'accuracy'?"),
])
def test_bad_names_are_refused_with_the_closest(override, message):
    with pytest.raises(UserError) as e:
        load_config(None, [override])
    assert message in str(e.value)


def test_corpus_fields_coerce_from_overrides():
    cfg = load_config(None, ["data.documents=blank_line", "data.packing=false", "data.dedup=no",
                             "data.mask_rate=0.2", "data.whole_word_masking=true"])
    d = cfg.data
    assert (d.documents, d.packing, d.dedup, d.mask_rate, d.whole_word_masking) == ("blank_line", False, False, 0.2, True)
    assert (RunConfig().data.documents, RunConfig().data.packing, RunConfig().data.mask_rate) == ("file", True, 0.15)


def test_check_choice_message_and_no_hint_when_nothing_is_near():
    assert check_choice("sgd", OPTIMIZERS, "train.optimizer") == "sgd"
    with pytest.raises(UserError) as e:
        check_choice("lion", OPTIMIZERS, "train.optimizer")
    assert str(e.value) == "train.optimizer 'lion' is not one of adam, adamw, adagrad, sgd, lamb"


def test_every_monitor_name_is_a_metric_the_classifier_logs(tiny_bert_dir):
    from tfbig.models.backbone import build_backbone
    from tfbig.train.task_model import TextClassifier

    model = TextClassifier(build_backbone("tfbig", tiny_bert_dir), 2)
    assert [m.name for m in model.metrics] == list(CLASSIFIER_METRICS)
    assert set(MONITORS) == set(CLASSIFIER_METRICS) | {f"val_{m}" for m in CLASSIFIER_METRICS}


def test_max_length_beyond_the_position_table_is_refused_at_load(tiny_bert_dir):
    assert json.load(open(os.path.join(tiny_bert_dir, "config.json")))["max_position_embeddings"] == 64
    assert load_config(None, [f"model.model_dir={tiny_bert_dir}", "data.max_length=64"]).data.max_length == 64
    with pytest.raises(UserError) as e:
        load_config(None, [f"model.model_dir={tiny_bert_dir}", "data.max_length=1024"])
    assert str(e.value) == (f"data.max_length 1024 is larger than the model's max_position_embeddings 64 "
                            f"({tiny_bert_dir}/config.json); set data.max_length to at most 64")


def test_the_bundled_model_is_checked_when_model_dir_is_empty(minilm_dir):
    load_config(None, ["data.max_length=512"])
    with pytest.raises(UserError, match=r"data.max_length 1024 is larger than the model's max_position_embeddings "
                                        rf"512 \({minilm_dir}/config.json\)"):
        load_config(None, ["data.max_length=1024"])


def test_model_folder_problems_are_refused_at_load(tmp_path):
    with pytest.raises(UserError, match=f"model folder not found: {tmp_path}/nope"):
        load_config(None, [f"model.model_dir={tmp_path}/nope"])
    (tmp_path / "vocab.txt").write_text("[PAD]\n")
    with pytest.raises(UserError, match="has no config.json"):
        load_config(None, [f"model.model_dir={tmp_path}"])
    for text, message in (("{", "not valid JSON"), ("[]", "expected a JSON object, got list"),
                          ('{"max_position_embeddings": "many"}', "max_position_embeddings must be a positive")):
        (tmp_path / "config.json").write_text(text)
        with pytest.raises(UserError, match=message):
            load_config(None, [f"model.model_dir={tmp_path}"])
    (tmp_path / "config.json").write_text("{}")  # BERT's default table: 512 positions
    assert load_config(None, [f"model.model_dir={tmp_path}", "data.max_length=512"]).data.max_length == 512
    with pytest.raises(UserError, match="max_position_embeddings 512"):
        load_config(None, [f"model.model_dir={tmp_path}", "data.max_length=513"])


def test_cli_refuses_max_length_at_load_exit_2_and_writes_no_run_folder(tmp_path, tiny_bert_dir):
    proc = subprocess.run([sys.executable, "-m", "tfbig", "train", "--set", f"model.model_dir={tiny_bert_dir}",
                           "--set", "data.max_length=1024", "--set", f"output_dir={tmp_path}/runs",
                           "--set", f"export_dir={tmp_path}/sm"],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].endswith(
        f"data.max_length 1024 is larger than the model's max_position_embeddings 64 ({tiny_bert_dir}/config.json); "
        "set data.max_length to at most 64")
    assert not os.path.exists(tmp_path / "runs") and not os.path.exists(tmp_path / "sm")


def test_loading_a_config_imports_no_tensorflow(tiny_bert_dir):
    code = ("import sys; from tfbig.config import load_config; "
            f"load_config(None, ['model.model_dir={tiny_bert_dir}', 'data.max_length=16']); "
            "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras', 'keras')], 'TF'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": ROOT})
    assert proc.returncode == 0, proc.stderr


def _teacher_folder(root, model_dir: str) -> str:
    """A teacher run folder as far as loading the student's config reads it: its config.yaml."""
    teacher = root / "teacher"
    teacher.mkdir()
    save_config(load_config(None, [f"model.model_dir={model_dir}", "data.max_length=16"]),
                str(teacher / "config.yaml"))
    return str(teacher)


def test_distill_config_checks_the_teachers_folder_and_its_own_monitors(tmp_path, tiny_bert_dir):
    from tfbig.distill.config import load_distill_config

    teacher = _teacher_folder(tmp_path, tiny_bert_dir)
    cfg = load_distill_config(None, ["train.monitor=val_kd"], teachers=[teacher])
    assert cfg.data.max_length == 16 and cfg.train.monitor == "val_kd"
    # The student's own model_dir ("": the bundled 512-position model) is not the folder it will read.
    with pytest.raises(UserError, match=f"max_position_embeddings 64 \\({tiny_bert_dir}/config.json\\)"):
        load_distill_config(None, ["data.max_length=128"], teachers=[teacher])
    with pytest.raises(UserError, match="train.monitor 'val_kd' is not one of"):
        load_config(None, ["train.monitor=val_kd", f"model.model_dir={tiny_bert_dir}", "data.max_length=16"])


def test_epochs_auto_by_default_or_an_integer_and_the_budget_fields():
    cfg = load_config(None)
    assert cfg.train.epochs == "auto" and cfg.train.min_steps == 300 and cfg.train.max_epochs == 20
    assert load_config(None, ["train.epochs=4"]).train.epochs == 4
    assert load_config(None, ["train.epochs=AUTO"]).train.epochs == "auto"
    with pytest.raises(UserError, match="train.epochs': expected an integer or auto, got 'many'"):
        load_config(None, ["train.epochs=many"])
    with pytest.raises(UserError, match="train.epochs must be at least 1 or auto, got 0"):
        load_config(None, ["train.epochs=0"])
    with pytest.raises(UserError, match="train.min_steps and train.max_epochs must be at least 1"):
        load_config(None, ["train.max_epochs=0"])
