"""Task distillation's extras: seeded augmentation of the training texts, and a student read from a BERT folder."""
import numpy as np
import pytest

from tfbig.data.text_files import Examples
from tfbig.distill.augment import augment_examples
from tfbig.errors import UserError


def test_augmentation_is_seeded_keeps_originals_and_uses_only_training_words():
    train = Examples(["the club win the game", "bank shares and market growth"], ["sport", "market"])
    out = augment_examples(train, copies=3, rate=0.5, seed=7)
    assert out.texts[:2] == train.texts and len(out) == 2 + 2 * 3
    assert out.labels == ["sport", "market"] + ["sport"] * 3 + ["market"] * 3
    assert out == augment_examples(train, copies=3, rate=0.5, seed=7)
    assert out.texts != augment_examples(train, copies=3, rate=0.5, seed=8).texts
    words = {w for t in train.texts for w in t.split()}
    assert all(set(t.split()) <= words and t for t in out.texts)
    assert any(t not in train.texts for t in out.texts[2:])
    assert train.texts == ["the club win the game", "bank shares and market growth"]  # the input is not changed
    with pytest.raises(UserError, match="augment_rate"):
        augment_examples(train, copies=1, rate=0.0)


def test_student_init_folder_reads_the_general_students_weights(tmp_path, teacher_dir, tokenizer):
    from tfbig.distill.general import student_encoder
    from tfbig.distill.student import build_student
    from tfbig.models.encoder import BertEncoder
    from tfbig.models.hf_writer import write_bert_folder
    from tfbig.testing import tiny_classifier

    general = student_encoder(BertEncoder.from_pretrained(teacher_dir), "", num_hidden_layers=1, hidden_size=16,
                              num_attention_heads=1, intermediate_size=32)
    folder = write_bert_folder(general, tokenizer, str(tmp_path / "encoder"))
    teacher = tiny_classifier(teacher_dir, num_classes=2)
    student = build_student(teacher, 2, init="folder", model_dir=folder)
    assert student.backbone.hidden_size == 16 and student.backbone.num_hidden_layers == 1
    for mine, theirs in zip(student.backbone.weights, general.weights):
        np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    with pytest.raises(UserError, match="student.model_dir"):
        build_student(teacher, 2, init="folder")
