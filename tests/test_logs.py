"""Quiet by default: the stderr filter drops TensorFlow's native noise and passes everything else, in order."""
import os
import subprocess
import sys

from tfbig.logs import is_noise

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Lines as TensorFlow 2.21 writes them from C++ on a machine without a GPU (measured on this one).
NOISE = [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1796184163.794739   28302 port.cc:153] oneDNN custom operations are on. You may see slightly "
    b"different numerical results due to floating-point round-off errors from different computation orders.",
    b"I0000 00:00:1796184163.795137   28302 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU "
    b"will not be used.",
    b"E0000 00:00:1796184170.872678   28302 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error: "
    b"Failed call to cuInit: UNKNOWN ERROR (303)",
    b"E0000 00:00:1796184174.863650   28302 util.cc:131] oneDNN supports DT_INT64 only on platforms with AVX-512. "
    b"Falling back to the default Eigen-based implementation if present.",
    b"W0000 00:00:1796184174.863650   28302 some_op.cc:12] a native warning",
]
KEPT = [b"E0000 00:00:1796184174.863650   28302 kernel.cc:99] OOM when allocating tensor",
        b"tfbig: error: config file not found: nope.yaml", b"Traceback (most recent call last):",
        b"training:  50%|#####     | 1/2 [00:01<00:01]"]

SCRIPT = """
import os, sys
import tfbig  # installs the filter before anything imports TensorFlow
from tfbig.logs import debug_mode
if sys.argv[1] == "debug":
    debug_mode()
for line in {lines!r}:
    os.write(2, line + b"\\n")
print("from python", file=sys.stderr)
sys.exit(3)
"""


def test_noise_and_real_lines_are_told_apart():
    assert all(is_noise(line) for line in NOISE)
    assert not any(is_noise(line) for line in KEPT)


def _run(mode):
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)
    env.pop("TFBIG_LOG", None)
    return subprocess.run([sys.executable, "-c", SCRIPT.format(lines=NOISE + KEPT), mode], capture_output=True,
                          env=env, timeout=60)


def test_the_filter_drops_noise_written_to_the_file_descriptor_and_keeps_the_rest_in_order():
    proc = _run("quiet")
    assert proc.returncode == 3  # the exit status passes through; the last lines are flushed at exit
    assert proc.stderr.decode().splitlines() == [line.decode() for line in KEPT] + ["from python"]


def test_debug_mode_shows_everything():
    proc = _run("debug")
    assert proc.stderr.decode().splitlines() == [line.decode() for line in NOISE + KEPT] + ["from python"]
