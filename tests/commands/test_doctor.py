"""`tfbig doctor`: one screen in under 30 s, exit 0, saying what auto strategy and precision choose here."""
import os
import re
import subprocess
import sys
import time

from tfbig._keras import tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_doctor_says_what_auto_chooses_in_under_30_seconds():
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tfbig", "doctor", "--seconds", "0.5"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, "PYTHONPATH": ROOT}, cwd=ROOT)
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    assert seconds < 30
    assert proc.stderr == ""  # no TensorFlow start-up noise either
    lines = proc.stdout.splitlines()
    assert len(lines) <= 24  # one screen

    # What a run's config would get from the hardware layer, asked the way `tfbig train` asks it.
    from tfbig.config import load_config
    from tfbig.distribute.cluster import num_workers
    from tfbig.distribute.precision import resolve_precision
    from tfbig.distribute.strategy import auto_kind
    from tfbig.distribute.tpu import tpu_hinted

    kind = auto_kind(len(tf.config.list_physical_devices("GPU")), num_workers(), tpu_hinted())
    assert load_config(None, []).runtime.strategy == "auto"
    strategy = re.search(r"^strategy auto -> (\w+)", proc.stdout, flags=re.M).group(1)
    precision = re.search(r"^precision auto -> (\w+) \(backbone tfbig\); (\w+) \(backbone hf\)", proc.stdout, flags=re.M)
    assert strategy == kind
    assert precision.group(1) == resolve_precision("auto", "tfbig", kind)
    assert precision.group(2) == resolve_precision("auto", "hf", kind) == "float32"
    from tfbig.distribute.precision import cpu_has_bf16, machine_bf16_speedup

    if cpu_has_bf16() and not tf.config.list_physical_devices("GPU"):  # the stored measurement both decided by
        shown = re.search(r"^bf16 matmul   (\d+\.\d\d)x float32", proc.stdout, flags=re.M).group(1)
        assert shown == f"{machine_bf16_speedup():.2f}"
    assert re.search(r"^matmul peak   float32 \d+ GFLOP/s", proc.stdout, flags=re.M)
    for needed in ("tensorflow " + tf.__version__, "AVX-512 BF16", "data.source: bbc", "java"):
        assert needed in proc.stdout
