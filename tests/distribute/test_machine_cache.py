"""A machine's measurements are taken once and shared by every process on it."""
import json
import os
import subprocess
import sys

from tfbig.distribute.machine_cache import FILE_NAME, cached_measurement, machine_key

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def counting(value):
    calls = []

    def measure():
        calls.append(1)
        return value
    return measure, calls


def test_the_first_measurement_is_stored_and_read_back_instead_of_measuring_again(tmp_path):
    first, first_calls = counting(1.9)
    again, again_calls = counting(0.7)
    assert cached_measurement("speedup", first, key="k1", folder=str(tmp_path)) == 1.9
    assert cached_measurement("speedup", again, key="k1", folder=str(tmp_path)) == 1.9
    assert (len(first_calls), len(again_calls)) == (1, 0)
    assert json.loads((tmp_path / FILE_NAME).read_text()) == {"k1": {"speedup": 1.9}}


def test_another_machine_or_name_measures_again_and_keeps_the_others(tmp_path):
    cached_measurement("speedup", lambda: 1.9, key="k1", folder=str(tmp_path))
    assert cached_measurement("speedup", lambda: 0.6, key="k2", folder=str(tmp_path)) == 0.6
    assert cached_measurement("peak", lambda: 213.0, key="k1", folder=str(tmp_path)) == 213.0
    assert json.loads((tmp_path / FILE_NAME).read_text()) == {"k1": {"speedup": 1.9, "peak": 213.0},
                                                             "k2": {"speedup": 0.6}}
    assert [n for n in os.listdir(tmp_path) if n.endswith(".json")] == [FILE_NAME]  # no temporary file left


def test_a_corrupt_cache_is_measured_again_and_rewritten(tmp_path):
    (tmp_path / FILE_NAME).write_text("{not json")
    assert cached_measurement("speedup", lambda: 1.5, key="k1", folder=str(tmp_path)) == 1.5
    assert json.loads((tmp_path / FILE_NAME).read_text()) == {"k1": {"speedup": 1.5}}
    (tmp_path / FILE_NAME).write_text(json.dumps({"k1": {"speedup": "fast"}}))  # not a number
    assert cached_measurement("speedup", lambda: 1.25, key="k1", folder=str(tmp_path)) == 1.25


def test_an_unusable_cache_folder_still_gives_the_measurement(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    measure, calls = counting(1.3)
    assert cached_measurement("speedup", measure, key="k1", folder=str(blocked / "cache")) == 1.3
    assert len(calls) == 1


def test_processes_starting_together_measure_once_and_agree(tmp_path):
    """Each process would measure its own pid; the lock lets one measure while the others wait and read it."""
    code = ("import os, sys, time\n"
            "from tfbig.distribute.machine_cache import cached_measurement\n"
            "def measure():\n"
            "    time.sleep(0.5)\n"
            "    return float(os.getpid())\n"
            "print(cached_measurement('pid', measure, key='k', folder=sys.argv[1]))\n")
    env = {**os.environ, "PYTHONPATH": ROOT}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env=env) for _ in range(3)]
    values = {float(p.communicate(timeout=120)[0]) for p in procs}
    assert len(values) == 1
    assert values <= {float(p.pid) for p in procs}


def test_the_machine_key_follows_the_cpu_description(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.write_text("model name\t: CPU X\nflags\t\t: fpu avx512f avx512_bf16\n")
    b.write_text("model name\t: CPU X\nflags\t\t: avx512_bf16 fpu avx512f\n")  # same flags, other order
    assert machine_key(str(a)) == machine_key(str(b))
    b.write_text("model name\t: CPU X\nflags\t\t: fpu avx512f\n")
    assert machine_key(str(a)) != machine_key(str(b))
    assert len(machine_key()) == 16
