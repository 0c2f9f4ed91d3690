"""train.precision: mixed policies keep the encoder close to float32 and the logits in float32."""
import numpy as np
import pytest

from tfbig._keras import keras, tf
from tfbig.errors import UserError
from tfbig.train.task_model import TextClassifier
from tfbig.models.encoder import BertEncoder
from tfbig.distribute.precision import PRECISIONS, set_precision, wrap_optimizer


@pytest.fixture
def policy():
    """Restores the float32 policy whatever the test set."""
    yield set_precision
    keras.mixed_precision.set_global_policy("float32")


def batch():
    ids = np.array([[2, 40, 41, 42, 43, 44, 45, 3], [2, 50, 51, 3, 0, 0, 0, 0]])
    return {"input_ids": tf.constant(ids, tf.int32), "attention_mask": tf.constant((ids != 0).astype(np.int32)),
            "token_type_ids": tf.zeros([2, 8], tf.int32)}


def test_bfloat16_forward_is_close_to_float32(tiny_bert_dir, policy):
    ref = BertEncoder.from_pretrained(tiny_bert_dir)(batch())
    policy("mixed_bfloat16")
    enc = BertEncoder.from_pretrained(tiny_bert_dir)
    out = enc(batch())
    assert enc.blocks[0].attention.query.compute_dtype == "bfloat16"
    assert enc.blocks[0].attention_layer_norm.compute_dtype == "float32"
    assert enc.weights[0].dtype == tf.float32  # float32 master weights
    assert out["sequence_output"].dtype == tf.float32 and out["pooled_output"].dtype == tf.float32
    np.testing.assert_allclose(out["sequence_output"].numpy(), ref["sequence_output"].numpy(), atol=0.05)
    np.testing.assert_allclose(out["pooled_output"].numpy(), ref["pooled_output"].numpy(), atol=0.02)
    assert np.abs(out["sequence_output"].numpy() - ref["sequence_output"].numpy()).max() > 0  # really bf16


def test_bfloat16_classifier_trains_with_float32_logits(tiny_bert_dir, policy):
    policy("mixed_bfloat16")
    model = TextClassifier(BertEncoder.from_pretrained(tiny_bert_dir), num_classes=3)
    assert model(batch()).dtype == tf.float32
    model.compile(optimizer=wrap_optimizer(keras.optimizers.Adam(1e-3), "mixed_bfloat16"))
    before = model.head.dense.kernel.numpy().copy()
    logs = model.train_on_batch(batch(), tf.constant([0, 2]), return_dict=True)
    assert np.isfinite(logs["loss"]) and not np.array_equal(before, model.head.dense.kernel.numpy())


def test_float16_wraps_the_optimizer_with_loss_scaling(tiny_bert_dir, policy):
    policy("mixed_float16")
    opt = wrap_optimizer(keras.optimizers.SGD(0.1), "mixed_float16")
    assert isinstance(opt, keras.mixed_precision.LossScaleOptimizer)
    model = TextClassifier(BertEncoder.from_pretrained(tiny_bert_dir), num_classes=2)
    model.compile(optimizer=opt)
    logs = model.train_on_batch(batch(), tf.constant([0, 1]), return_dict=True)
    assert np.isfinite(logs["loss"]) and model(batch()).dtype == tf.float32
    assert not isinstance(wrap_optimizer(keras.optimizers.SGD(0.1), "float32"), keras.mixed_precision.LossScaleOptimizer)


def test_unknown_precision_names_the_field():
    with pytest.raises(UserError, match="train.precision 'fp8' is not one of float32, mixed_bfloat16"):
        set_precision("fp8")


@pytest.mark.parametrize("backbone, kind, gpus, cpu_bf16, want", [
    ("tfbig", "default", [], True, "mixed_bfloat16"),
    ("tfbig", "default", [], False, "float32"),
    ("tfbig", "tpu", [], False, "mixed_bfloat16"),
    ("tfbig", "mirrored", [(8, 0), (9, 0)], False, "mixed_bfloat16"),
    ("tfbig", "mirrored", [(8, 6), (7, 5)], True, "mixed_float16"),  # the oldest GPU decides
    ("tfbig", "one_device", [(6, 1)], True, "float32"),
    ("hf", "default", [], True, "float32"),
    ("hf", "one_device", [(9, 0)], True, "float32"),
])
def test_auto_picks_the_policy_the_hardware_runs_fastest(backbone, kind, gpus, cpu_bf16, want):
    from tfbig.distribute.precision import pick_precision

    assert pick_precision(backbone, kind, gpus, cpu_bf16) == want


def test_cpu_bf16_flag_is_read_from_cpuinfo(tmp_path):
    from tfbig.distribute.precision import cpu_has_bf16

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16 avx512_vnni\n")
    assert cpu_has_bf16(str(info))
    info.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f\n")
    assert not cpu_has_bf16(str(info))
    info.write_text("processor\t: 0\nflags\t\t: fpu amx_bf16 amx_tile\n")
    assert cpu_has_bf16(str(info))
    assert not cpu_has_bf16(str(tmp_path / "missing"))


def test_explicit_precision_is_kept_and_auto_resolves():
    from tfbig.distribute.precision import resolve_precision

    assert resolve_precision("float32", "tfbig", "default") == "float32"
    assert resolve_precision("mixed_float16", "hf", "default") == "mixed_float16"
    assert resolve_precision("auto", "hf", "default") == "float32"
    assert resolve_precision("auto", "tfbig", "default") in PRECISIONS
    with pytest.raises(UserError, match="train.precision 'half' is not one of auto, float32, mixed_bfloat16, "
                                        "mixed_float16$"):
        resolve_precision("half", "tfbig", "default")


def test_auto_on_a_cpu_follows_the_measured_bf16_matmul():
    """The CPU flag alone is not enough: some CPUs list AVX-512 BF16 and run bf16 matmuls slower than fp32."""
    from tfbig.distribute.precision import (BF16_MIN_SPEEDUP, bf16_matmul_speedup, cpu_has_bf16,
                                            machine_bf16_speedup, matmul_peak, resolve_precision)

    if tf.config.list_physical_devices("GPU"):
        pytest.skip("a GPU decides by its compute capability")
    speedup = bf16_matmul_speedup()
    assert speedup > 0 and bf16_matmul_speedup() == speedup  # measured once per process
    stored = machine_bf16_speedup()  # the first measurement on this machine, whatever this process measured
    assert stored > 0 and machine_bf16_speedup() == stored
    fast = cpu_has_bf16() and stored >= BF16_MIN_SPEEDUP
    assert resolve_precision("auto", "tfbig", "default") == ("mixed_bfloat16" if fast else "float32")
    assert resolve_precision("auto", "tfbig", "tpu") == "mixed_bfloat16"  # a TPU is never measured
    assert matmul_peak("float32", seconds=0.0, n=64) > 0
