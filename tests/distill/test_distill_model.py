"""DistillationModel: the teacher never changes, the loss is what the formula says, the student stands alone."""
import numpy as np
import pytest
from tfbig.testing import tiny_classifier

from tfbig._keras import keras, tf
from tfbig.distill.model import DistillationModel, default_layer_map


def _fit(model, batch, steps=3, lr=0.05):
    x, y = batch
    model.compile(optimizer=keras.optimizers.SGD(lr))
    ds = tf.data.Dataset.from_tensors((x, y)).repeat(steps)
    return model.fit(ds, epochs=1, verbose=0)


def test_teacher_weights_bit_identical_after_fit_and_student_learns(teacher_dir, student_dir, batch):
    teacher = tiny_classifier(teacher_dir, name="teacher")
    student = tiny_classifier(student_dir, name="student")
    before_t = [w.numpy().copy() for w in teacher.weights]
    before_s = [w.numpy().copy() for w in student.trainable_weights]
    model = DistillationModel(teacher, student, temperature=2.0, alpha=0.5, hidden_weight=1.0, attention_weight=1.0)
    history = _fit(model, batch)
    assert len(before_t) == len(teacher.weights) > 0
    for b, w in zip(before_t, teacher.weights):
        np.testing.assert_array_equal(b, w.numpy())
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before_s, student.trainable_weights))
    assert {"loss", "ce", "kd", "hidden_mse", "attention_kl", "accuracy"} <= set(history.history)
    assert all(np.isfinite(v[-1]) for v in history.history.values())


def test_alpha_one_is_plain_cross_entropy(teacher_dir, student_dir, batch):
    teacher = tiny_classifier(teacher_dir, name="teacher")
    student = tiny_classifier(student_dir, name="student")
    x, y = batch
    model = DistillationModel(teacher, student, temperature=3.0, alpha=1.0)
    terms = model.compute_objective(x, y, training=False)
    plain = student.compute_objective(x, y, training=False)["loss"]
    assert abs(float(terms["loss"]) - float(plain)) < 1e-7
    assert float(terms["kd"][0]) > 0  # the soft term exists, it just has weight 0


def test_loss_combines_terms_by_their_weights(teacher_dir, student_dir, batch):
    teacher = tiny_classifier(teacher_dir, name="teacher")
    student = tiny_classifier(student_dir, name="student")
    x, y = batch
    model = DistillationModel(teacher, student, temperature=2.0, alpha=0.3, hidden_weight=0.5, attention_weight=2.0)
    t = model.compute_objective(x, y, training=False)
    want = np.mean(0.3 * t["ce"] + 0.7 * t["kd"] + 0.5 * t["hidden_mse"] + 2.0 * t["attention_kl"])
    assert abs(float(t["loss"]) - want) < 1e-6
    assert model.layer_map == [(2, 1)] == default_layer_map(2, 1)


def _tfbig_twin(hf_classifier, folder, name):
    """The same classifier on tfbig's own encoder: same BERT folder, same head weights, no dropout."""
    from tfbig.train.task_model import TextClassifier
    from tfbig.models.encoder import BertEncoder

    encoder = BertEncoder.from_pretrained(folder, name="backbone", hidden_dropout_prob=0.0,
                                          attention_probs_dropout_prob=0.0)
    twin = TextClassifier(encoder, int(hf_classifier.head.num_classes), dropout=0.0, name=name)
    ids = tf.ones([1, 4], tf.int32)
    twin({"input_ids": ids, "attention_mask": ids, "token_type_ids": tf.zeros_like(ids)})
    twin.head.set_weights(hf_classifier.head.get_weights())
    return twin


def test_intermediate_terms_with_tfbig_backbones_equal_hf_ones(teacher_dir, student_dir, batch):
    x, y = batch
    values = []
    for tfbig_backbone in (False, True):
        teacher = tiny_classifier(teacher_dir, name="teacher")
        student = tiny_classifier(student_dir, name="student")
        if tfbig_backbone:
            teacher, student = _tfbig_twin(teacher, teacher_dir, "teacher"), _tfbig_twin(student, student_dir, "student")
        model = DistillationModel(teacher, student, temperature=2.0, alpha=0.3, hidden_weight=0.5,
                                  attention_weight=2.0, layer_map=[(0, 0), (2, 1)])
        if values:  # the projections are random: give the second model the first's
            for p, w in zip(model.projections, values[0]["projections"]):
                p.set_weights(w)
        t = model.compute_objective(x, y, training=False)
        values.append({k: t[k].numpy() for k in ("ce", "kd", "hidden_mse", "attention_kl", "loss")})
        values[-1]["projections"] = [p.get_weights() for p in model.projections]
    hf, ours = values
    assert hf["hidden_mse"].mean() > 1e-3 and hf["attention_kl"].mean() > 1e-6  # tiny random models attend near-uniformly
    for k in ("ce", "kd", "hidden_mse", "attention_kl", "loss"):
        np.testing.assert_allclose(ours[k], hf[k], rtol=1e-4, atol=1e-6, err_msg=k)


def test_several_teachers_weighted_soft_targets(teacher_dir, student_dir, batch):
    t1 = tiny_classifier(teacher_dir, name="t1", seed=1)
    t2 = tiny_classifier(student_dir, name="t2", seed=2)
    student = tiny_classifier(student_dir, name="student")
    x, _ = batch
    model = DistillationModel([t1, t2], student, temperature=2.0, teacher_weights=[3.0, 1.0])
    got = np.exp(model.teacher_outputs(x)["targets"].numpy())
    want = 0.75 * tf.nn.softmax(t1(x) / 2.0).numpy() + 0.25 * tf.nn.softmax(t2(x) / 2.0).numpy()
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_small_teacher_distils_into_larger_student(teacher_dir, student_dir, batch):
    teacher = tiny_classifier(student_dir, name="teacher")  # 1 × 16
    student = tiny_classifier(teacher_dir, name="student")  # 2 × 32
    kernel, bias = teacher.head.get_weights()
    teacher.head.set_weights([kernel * 300.0, bias])  # a confident teacher: soft targets far from uniform
    x, y = batch
    model = DistillationModel(teacher, student, temperature=2.0, alpha=0.0, hidden_weight=1.0)
    kd_before = float(np.mean(model.compute_objective(x, y, training=False)["kd"]))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(tf.data.Dataset.from_tensors((x, y)).repeat(20), epochs=1, verbose=0)
    kd_after = float(np.mean(model.compute_objective(x, y, training=False)["kd"]))
    assert kd_after < 0.5 * kd_before


def test_evaluate_and_predict_use_the_student_alone(teacher_dir, student_dir, batch):
    teacher = tiny_classifier(teacher_dir, name="teacher")
    student = tiny_classifier(student_dir, name="student")
    x, y = batch
    model = DistillationModel(teacher, student)
    model.compile(optimizer="sgd")
    np.testing.assert_allclose(model.predict(x, verbose=0), student(x).numpy(), atol=1e-6)
    result = model.evaluate(x, y, verbose=0, return_dict=True)
    want = keras.losses.sparse_categorical_crossentropy(y, student(x), from_logits=True).numpy().mean()
    assert abs(result["loss"] - want) < 1e-5
    # (the student exports on its own: tests/commands/test_distill_command.py reloads the CLI's export)


def test_bad_arguments_name_the_value(teacher_dir, student_dir):
    teacher = tiny_classifier(teacher_dir, name="teacher")
    student = tiny_classifier(student_dir, name="student")
    with pytest.raises(ValueError, match="alpha"):
        DistillationModel(teacher, student, alpha=1.5)
    with pytest.raises(ValueError, match=r"\(5, 1\)"):
        DistillationModel(teacher, student, hidden_weight=1.0, layer_map=[(5, 1)])
