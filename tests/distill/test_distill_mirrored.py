"""Under MirroredStrategy on 2 logical CPUs one SGD distillation step equals the single-device step."""
import os
import re
import subprocess
import sys

from tfbig.testing import write_tiny_bert_folder

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def test_two_replicas_step_equals_one_device_step(tmp_path):
    teacher = write_tiny_bert_folder(str(tmp_path / "teacher"), seed=1)
    student = write_tiny_bert_folder(str(tmp_path / "student"), seed=2, hidden_size=16, num_hidden_layers=1,
                                     num_attention_heads=1, intermediate_size=32)
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, os.path.join(HERE, "mirrored_step.py"), teacher, student],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = re.search(r"variables (\d+) max_abs_diff (\S+) teacher_diff (\S+) moved (\S+)", proc.stdout)
    assert m, proc.stdout
    assert int(m.group(1)) > 10
    assert float(m.group(2)) <= 1e-6  # the loss is averaged over the global batch, not per replica
    assert float(m.group(3)) == 0.0
    assert float(m.group(4)) > 1e-4  # the step did move the student
