"""`strategy: tpu` without a TPU: exit status 2 and one line that says so, never a hang."""
import socket

from _distribute_procs import spawn, tail, wait_all


def error_lines(log):
    return [line for line in tail(log, 20000).splitlines() if line.startswith("tfbig: error:")]


def test_no_tpu_exits_2_with_one_clear_line(tmp_path):
    # An address that accepts connections and never answers: only the bounded wait can end this one.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    try:
        runs = {
            "local": ["--set", "runtime.strategy=tpu"],
            "silent": ["--set", "runtime.strategy=tpu", "--set",
                       f"runtime.tpu=grpc://127.0.0.1:{silent.getsockname()[1]}", "--set", "runtime.tpu_timeout=5"],
        }
        procs = {k: spawn(["-m", "tfbig", "train", "--set", f"output_dir={tmp_path}", *args], f"{tmp_path}/{k}.log",
                          TPU_NAME="") for k, args in runs.items()}
        codes = dict(zip(procs, wait_all(list(procs.values()), timeout=240)))
    finally:
        silent.close()
    for name in runs:
        assert codes[name] == 2, tail(f"{tmp_path}/{name}.log")
    (local,) = error_lines(f"{tmp_path}/local.log")
    assert local.startswith("tfbig: error: runtime.strategy is tpu, but no TPU was found at 'local'")
    (silent_line,) = error_lines(f"{tmp_path}/silent.log")
    assert "answered within 5 s (runtime.tpu_timeout)" in silent_line
