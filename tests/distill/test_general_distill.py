"""General distillation: the objective against a hand computation, the layer map, and who learns."""
import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.distill.general import GeneralDistillationModel, student_encoder
from tfbig.distill.model import default_layer_map
from tfbig.errors import UserError
from tfbig.models.encoder import BertEncoder


@pytest.fixture(scope="module")
def teacher(teacher_dir):
    """2 layers × 32, 2 heads, no dropout."""
    return BertEncoder.from_pretrained(teacher_dir, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)


def _student(teacher, seed=0):
    keras.utils.set_random_seed(seed)
    return student_encoder(teacher, "", num_hidden_layers=1, hidden_size=16, num_attention_heads=1,
                           intermediate_size=32)


def _two_rows():
    """Two rows of 6, the second with two padding positions."""
    ids = tf.constant([[2, 7, 9, 11, 13, 3], [2, 8, 10, 3, 0, 0]], tf.int32)
    mask = tf.cast(tf.not_equal(ids, 0), tf.int32)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": tf.zeros_like(ids)}


def _by_hand(model, x):
    """The module docstring's objective in numpy, from the two encoders' states and the projections' weights."""
    t = model.teacher(x, output_hidden_states=True, output_attentions=True)
    s = model.student(x, output_hidden_states=True, output_attentions=True)
    m = x["attention_mask"].numpy().astype(np.float64)  # (B, T)

    def mse(k, s_state, t_state):
        w, b = (v.numpy() for v in model.projections[k].weights)
        diff = s_state.numpy() @ w + b - t_state.numpy()
        return ((diff ** 2).mean(-1) * m).sum(-1) / m.sum(-1)

    def kl(s_att, t_att):
        p, q = t_att.numpy().mean(1), s_att.numpy().mean(1)  # heads differ (2 vs 1): averaged first
        value = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0) - p * np.log(np.maximum(q, 1e-12))
        return (value.sum(-1) * m).sum(-1) / m.sum(-1)

    (a, b), = model.layer_map
    emb = mse(0, s["hidden_states"][0], t["hidden_states"][0])
    hidden = mse(1, s["hidden_states"][b], t["hidden_states"][a])
    att = kl(s["attentions"][b - 1], t["attentions"][a - 1])
    return {"embedding_mse": emb, "hidden_mse": hidden, "attention_kl": att,
            "loss": (0.5 * emb + 2.0 * hidden + 3.0 * att).mean()}


def test_objective_equals_hand_computation_with_projection_layer_map_and_attention_kl(teacher):
    model = GeneralDistillationModel(teacher, _student(teacher), embedding_weight=0.5, hidden_weight=2.0,
                                     attention_weight=3.0)
    assert [tuple(p) for p in model.layer_map] == [(2, 1)]  # the student's one layer learns the teacher's top one
    assert model.projections[1].kernel.shape == (16, 32)  # student width → teacher width
    x = _two_rows()
    got = model.compute_objective(x, None, training=False)
    want = _by_hand(model, x)
    for name in ("embedding_mse", "hidden_mse", "attention_kl"):
        np.testing.assert_allclose(got[name].numpy(), want[name], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(float(got["loss"]), want["loss"], rtol=1e-4)
    assert float(got["attention_kl"][0]) > 0


def test_uniform_layer_map_and_bad_pairs(teacher):
    assert default_layer_map(6, 3) == [(2, 1), (4, 2), (6, 3)]
    assert default_layer_map(12, 4) == [(3, 1), (6, 2), (9, 3), (12, 4)]
    with pytest.raises(UserError, match="outside"):
        GeneralDistillationModel(teacher, _student(teacher), layer_map=[(3, 1)])


def test_a_step_moves_the_student_and_projections_never_the_teacher(teacher):
    model = GeneralDistillationModel(teacher, _student(teacher))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before_t = [v.numpy().copy() for v in teacher.weights]
    before_s = [v.numpy().copy() for v in model.learned_variables()]
    x = _two_rows()
    first = float(model.compute_objective(x, None, training=False)["loss"])
    for _ in range(3):
        model.train_on_batch(x, {"mlm_ids": tf.zeros([2, 1], tf.int32)})
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before_t, teacher.weights))
    assert not np.allclose(before_s[0], model.learned_variables()[0].numpy())
    assert float(model.compute_objective(x, None, training=False)["loss"]) < first


def test_student_shape_from_preset_or_given_in_full(teacher):
    tiny = student_encoder(teacher, "tiny", hidden_size=64, num_attention_heads=2)
    assert (tiny.num_hidden_layers, tiny.hidden_size, tiny.intermediate_size) == (2, 64, 512)
    assert tiny.vocab_size == teacher.vocab_size
    with pytest.raises(UserError, match="num_hidden_layers"):
        student_encoder(teacher, "", hidden_size=16)
