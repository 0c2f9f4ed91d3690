"""A LoRA student with recomputed blocks, distilled on two mirrored replicas, equals the one-device run."""
import os
import subprocess
import sys
import tempfile

import numpy as np
from test_distill_skeleton import DRIVER, ROOT, teacher  # noqa: F401  (the module-scoped teacher run fixture)

from tfbig._keras import tf


def _start(teacher, name, *extra):
    """`tfbig distill` of a LoRA student in a subprocess, started (output to a file, never a full pipe)."""
    sets = [f"name={name}", f"output_dir={teacher['tmp']}/runs", f"export_dir={teacher['tmp']}/exports",
            "train.optimizer=sgd", "train.learning_rate=0.5", "train.epochs=2", "train.precision=float32",
            "model.dropout=0", "model.backbone_dropout=0", "student.num_layers=1", "train.early_stopping_patience=0",
            "model.lora.rank=2", "model.lora.alpha=64", "model.lora.targets=query,value,intermediate", "train.recompute=blocks", *extra]
    args = ["distill", "--teacher", teacher["run"]] + [a for s in sets for a in ("--set", s)]
    output = tempfile.TemporaryFile("w+", encoding="utf-8")
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, *args], stdout=output, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONPATH": ROOT, "TFBIG_PROGRESS": "0"})
    proc.output, proc.run_dir = output, os.path.join(teacher["tmp"], "runs", name)
    return proc


def _finish(proc):
    """(output, run folder) of a `_start`ed run that ended well."""
    proc.wait(timeout=900)
    proc.output.seek(0)
    out = proc.output.read()
    assert proc.returncode == 0, out
    return out, proc.run_dir


def _weights(run_dir):
    prefix = os.path.join(run_dir, "final.weights")
    reader = tf.train.load_checkpoint(prefix)
    return {n: reader.get_tensor(n) for n, _ in tf.train.list_variables(prefix) if n.split("/")[0] in ("backbone", "head")}


def test_lora_student_trains_adapters_only_and_mirrored_equals_one_device(teacher):
    # The two runs write separate folders: they go side by side.
    runs = [_start(teacher, "one"), _start(teacher, "two", "runtime.strategy=mirrored", "runtime.num_logical_cpus=2")]
    try:
        (_, one), (out, two) = _finish(runs[0]), _finish(runs[1])
    finally:
        for proc in runs:
            if proc.poll() is None:
                proc.kill()
    assert "2 replica(s)" in out
    a, b, t = _weights(one), _weights(two), _weights(teacher["run"])
    assert sorted(a) == sorted(b) and any("lora_b" in n for n in a)
    # The student's one block is the teacher's top block (1 of 2): its kernels stay frozen.
    for name in a:
        if "blocks/0/" in name and name.endswith("kernel/.ATTRIBUTES/VARIABLE_VALUE"):
            np.testing.assert_array_equal(a[name], t[name.replace("blocks/0/", "blocks/1/")], err_msg=name)
    assert max(float(np.abs(a[n]).max()) for n in a if "lora_b" in n) > 5e-4  # the adapters learnt, well above the tolerance below
    for name in a:
        np.testing.assert_allclose(a[name], b[name], atol=1e-5, rtol=0, err_msg=name)
    assert os.path.isfile(os.path.join(one, "adapters.safetensors"))
