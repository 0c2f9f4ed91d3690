"""Cached teacher logits: same numbers as the live teacher, each example keeps its own label and logits."""
import numpy as np
from tfbig.testing import tiny_classifier

from tfbig._keras import tf
from tfbig.distill.cache import compute_teacher_logits, with_teacher_logits
from tfbig.distill.model import DistillationModel


def test_cached_logits_follow_their_examples_and_give_the_live_loss(teacher_dir, student_dir, tiny_texts, tokenizer):
    texts, labels = tiny_texts
    teacher = tiny_classifier(teacher_dir, name="teacher")
    student = tiny_classifier(student_dir, name="student")
    logits = compute_teacher_logits(teacher, texts, tokenizer, batch_size=3)
    live_each = np.concatenate([teacher(tokenizer(tf.constant([t]))).numpy() for t in texts])
    np.testing.assert_allclose(logits, live_each, atol=1e-5)

    ds = with_teacher_logits(texts, labels, logits, tokenizer, batch_size=3, shuffle=True, seed=1)
    model = DistillationModel(teacher, student, temperature=2.0, alpha=0.5)
    seen = 0
    for x, (y, cached) in ds:
        np.testing.assert_allclose(cached.numpy(), teacher(x).numpy(), atol=1e-5)  # the batch's own rows
        want_labels = [labels[texts.index(t)] for t in _decode(x, tokenizer, texts)]
        np.testing.assert_array_equal(y.numpy(), want_labels)
        live = model.compute_objective(x, y, training=False)["loss"]
        from_cache = model.compute_objective(x, (y, cached), training=False)["loss"]
        assert abs(float(live) - float(from_cache)) < 1e-6
        seen += len(y)
    assert seen == len(texts)


def test_several_teachers_cache_one_row_each(teacher_dir, student_dir, tiny_texts, tokenizer):
    texts, _ = tiny_texts
    t1, t2 = tiny_classifier(teacher_dir, name="t1"), tiny_classifier(student_dir, name="t2")
    logits = compute_teacher_logits([t1, t2], texts, tokenizer, batch_size=4)
    assert logits.shape == (8, 2, 2)
    np.testing.assert_allclose(logits[:, 1], compute_teacher_logits(t2, texts, tokenizer, 4), atol=1e-6)


def _decode(x, tokenizer, texts):
    """Matches each row of ids back to its text (the toy texts tokenize to distinct id rows)."""
    rows = {tuple(tokenizer(tf.constant([t]))["input_ids"].numpy()[0]): t for t in texts}
    return [rows[tuple(r[r != tokenizer.pad_id])] for r in x["input_ids"].numpy()]


def test_pairs_cache_the_logits_of_each_pair(teacher_dir, tiny_texts, tokenizer):
    """A pair split's texts are (a, b) tuples: each row is the teacher's output on both segments."""
    texts, _ = tiny_texts
    pairs = list(zip(texts, reversed(texts)))
    teacher = tiny_classifier(teacher_dir, name="teacher")
    logits = compute_teacher_logits(teacher, pairs, tokenizer, batch_size=3)
    live_each = np.concatenate([teacher(tokenizer(tf.constant([a]), second=tf.constant([b]))).numpy()
                                for a, b in pairs])
    np.testing.assert_allclose(logits, live_each, atol=1e-5)
    first_only = compute_teacher_logits(teacher, texts, tokenizer, batch_size=3)
    assert np.abs(logits - first_only).max() > 100 * np.abs(logits - live_each).max()  # the second segment counts
