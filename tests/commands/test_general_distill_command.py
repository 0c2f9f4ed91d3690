"""`tfbig distill --stage general` end to end on tiny folders: the run resumes, and its student encoder is a
BERT folder that a fine-tuning run loads."""
import json
import os

import numpy as np

from tfbig.cli import main
from tfbig.testing import tiny_run_overrides, write_tiny_folder_dataset


def _general_args(tmp, teacher, corpus, epochs):
    settings = {"name": "gen", "output_dir": f"{tmp}/runs", "export_dir": f"{tmp}/exports", "model.model_dir": teacher,
                "data.source": corpus, "data.max_length": 16, "data.batch_size": 4, "data.val_fraction": 0.2,
                "general.preset": "", "general.num_hidden_layers": 1, "general.hidden_size": 16,
                "general.num_attention_heads": 1, "general.intermediate_size": 32, "train.epochs": epochs,
                "train.learning_rate": 1e-3, "train.early_stopping_patience": 0}
    return ["distill", "--stage", "general"] + [a for k, v in settings.items() for a in ("--set", f"{k}={v}")]


def test_general_run_resumes_and_writes_an_encoder_that_fine_tuning_loads(tmp_path, tiny_bert_dir, capsys):
    tmp = str(tmp_path)
    corpus = write_tiny_folder_dataset(f"{tmp}/corpus", classes=3, per_class=12)
    assert main(_general_args(tmp, tiny_bert_dir, corpus, 1)) == 0
    run = f"{tmp}/runs/gen"
    with open(f"{run}/report.json") as f:
        first = json.load(f)
    steps = first["split_sizes"]["train_batches_per_epoch"]
    assert first["steps"] == steps and first["student_shape"] == "L1-H16-A1-I32"
    assert first["layer_map"] == [[2, 1]] and first["evaluated_on"] == "validation"
    # Rerun for 2 epochs: continues from the checkpoint of epoch 1 (what a killed run does), not from 0.
    assert main(_general_args(tmp, tiny_bert_dir, corpus, 2)) == 0
    with open(f"{run}/report.json") as f:
        second = json.load(f)
    assert second["resumed_from_step"] == steps and second["steps"] == 2 * steps
    encoder = second["encoder"]
    assert "model.model_dir" in capsys.readouterr().out
    for name in ("config.json", "vocab.txt", "tokenizer_config.json", "model.safetensors"):
        assert os.path.isfile(os.path.join(encoder, name)), name

    from tfbig.models.encoder import BertEncoder

    student = BertEncoder.from_pretrained(encoder)
    assert (student.num_hidden_layers, student.hidden_size) == (1, 16)
    data = write_tiny_folder_dataset(f"{tmp}/labelled", classes=2, per_class=8)
    over = tiny_run_overrides(tmp, data, encoder, "ft", **{"train.epochs": 1})
    assert main(["train"] + [a for o in over for a in ("--set", o)]) == 0
    with open(f"{tmp}/runs/ft/report.json") as f:
        assert 0 <= json.load(f)["accuracy"] <= 1
    # The fine-tuned encoder started from the distilled student's weights (same tensors, same shapes).
    from safetensors.numpy import load_file

    saved = load_file(os.path.join(encoder, "model.safetensors"))
    np.testing.assert_allclose(saved["bert.embeddings.word_embeddings.weight"],
                               student.embeddings.weights[0].numpy(), rtol=0, atol=0)


def test_general_stage_refuses_a_teacher_run_and_no_layer_term(tmp_path, tiny_bert_dir, capsys):
    assert main(["distill", "--stage", "general", "--teacher", str(tmp_path)]) == 2
    assert "model.model_dir" in capsys.readouterr().err
    assert main(["distill", "--stage", "general", "--set", f"model.model_dir={tiny_bert_dir}",
                 "--set", "data.max_length=16", "--set", "general.hidden_weight=0",
                 "--set", "general.attention_weight=0"]) == 2
    assert "hidden_weight" in capsys.readouterr().err
