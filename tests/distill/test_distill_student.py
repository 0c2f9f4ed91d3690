"""build_student: DistilBERT-style layers taken from the teacher, or a preset from scratch."""
import numpy as np
from tfbig.testing import tiny_classifier

from tfbig.distill.student import PRESETS, build_student, every_kth_layer


def test_every_kth_layer_keeps_the_top_layer():
    assert every_kth_layer(6, 2) == [2, 5]
    assert every_kth_layer(6, 3) == [1, 3, 5]
    assert every_kth_layer(12, 6) == [1, 3, 5, 7, 9, 11]
    assert every_kth_layer(2, 2) == [0, 1]


def test_student_with_all_teacher_layers_computes_the_teacher(teacher_dir, batch):
    teacher = tiny_classifier(teacher_dir, name="teacher")
    student = build_student(teacher, 2, init="teacher", num_layers=2, dropout=0.0)
    x, _ = batch
    np.testing.assert_allclose(student(x).numpy(), teacher(x).numpy(), atol=1e-6)


def test_student_takes_the_chosen_teacher_layer(teacher_dir):
    teacher = tiny_classifier(teacher_dir, name="teacher")
    student = build_student(teacher, 2, init="teacher", num_layers=1)
    assert student.backbone.bert.config.num_hidden_layers == 1
    got = student.backbone.bert.bert.encoder.layer[0].get_weights()
    want = teacher.backbone.bert.bert.encoder.layer[1].get_weights()  # the top one of 2
    assert len(got) == len(want) > 0
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    for g, w in zip(student.head.get_weights(), teacher.head.get_weights()):
        np.testing.assert_array_equal(g, w)


def test_student_from_scratch_preset_uses_the_teacher_vocabulary(teacher_dir, batch):
    teacher = tiny_classifier(teacher_dir, name="teacher")
    student = build_student(teacher, 3, init="scratch", preset="tiny")
    config = student.backbone.bert.config
    assert (config.num_hidden_layers, config.hidden_size) == (2, 128) == (PRESETS["tiny"]["num_hidden_layers"],
                                                                           PRESETS["tiny"]["hidden_size"])
    assert config.vocab_size == teacher.backbone.bert.config.vocab_size
    assert student(batch[0]).shape == (8, 3)
