"""Subprocess helpers for the distribute tests: free ports, bounded waits, nothing left running."""
import json
import os
import signal
import socket
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))


def free_ports(n: int) -> list:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def tf_config(ports: list, index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def env(**extra) -> dict:
    e = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    e["PYTHONPATH"] = REPO + os.pathsep + e.get("PYTHONPATH", "")
    e.update(extra)
    return e


def spawn(args: list, log_path: str, **extra_env) -> subprocess.Popen:
    """Starts `python args...` in its own process group, output to log_path."""
    with open(log_path, "w") as log:
        return subprocess.Popen([sys.executable, *args], cwd=REPO, env=env(**extra_env), stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def tail(path: str, n: int = 3000) -> str:
    with open(path, errors="replace") as f:
        return f.read()[-n:]


def wait_all(procs: list, timeout: float) -> list:
    """Return codes of `procs`; any still running after `timeout` seconds (all together) is killed."""
    deadline = time.monotonic() + timeout
    codes = []
    try:
        for p in procs:
            codes.append(p.wait(timeout=max(deadline - time.monotonic(), 0.1)))
    except subprocess.TimeoutExpired:
        pass
    finally:
        for p in procs:
            kill(p)
    return [p.returncode for p in procs]
