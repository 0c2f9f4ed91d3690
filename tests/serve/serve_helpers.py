"""Helpers of the HTTP server tests: a real `tfbig serve` process, a metrics reader, test exports' pieces.

(A module of its own, not conftest: test files import it by a name no other test folder uses.)
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

from tfbig._keras import tf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEXTS = ["Shares rose after the company reported strong sales growth.", "The club won the game in the last minute.",
         "", "Élan vital — naïve café", "the bank said shares fell " * 20, "players win a game"]


class OtherTask(tf.Module):
    """A SavedModel with other signatures than a classifier's: float and string inputs, three outputs."""

    @tf.function(input_signature=[tf.TensorSpec([None, 3], tf.float32, name="x"),
                                  tf.TensorSpec([None], tf.string, name="tag")])
    def score(self, x, tag):
        total = tf.reduce_sum(x, axis=-1)  # (B,)
        return {"score": total, "positive": total > 0, "tag_bytes": tf.strings.join([tag, b"\xff"])}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="n")])
    def double(self, n):
        return {"twice": n * 2}


def copy_model(export_root: str, name: str, dest) -> str:
    path = os.path.join(str(dest), name)
    shutil.copytree(os.path.join(export_root, name), path)
    return path


class ServerProcess:
    """`python -m tfbig serve ARGS --port 0` on 127.0.0.1; its stderr (the log) kept in a file.

    Every wait is bounded; stop() always ends the process (SIGTERM, then SIGKILL after `timeout`).
    """

    def __init__(self, args: list, log_path: str, start_timeout: float = 180.0):
        env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "tfbig", "-v", "serve", *args, "--host", "127.0.0.1",
                                      "--port", "0"], stdout=subprocess.PIPE, stderr=self._log, text=True, env=env)
        self.port = None
        found = threading.Event()

        def read():
            for line in self.proc.stdout:
                match = re.match(r"tfbig serve: http://127\.0\.0\.1:(\d+)/", line)
                if self.port is None and match:
                    self.port = int(match[1])
                    found.set()
        threading.Thread(target=read, daemon=True).start()
        deadline = time.monotonic() + start_timeout
        while not found.is_set() and self.proc.poll() is None and time.monotonic() < deadline:
            found.wait(0.2)
        if self.port is None:
            self.stop()
            raise RuntimeError(f"server did not start (exit {self.proc.returncode}): {self.log()[-2000:]}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path) as f:
            return f.read()

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = 60.0, chunked=False):
        """(status, decoded JSON or text, headers) over a new connection; chunked: no Content-Length."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body).encode()
            conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
            resp = conn.getresponse()
            data = resp.read()
            try:
                parsed = json.loads(data)
            except ValueError:
                parsed = data.decode("utf-8", "replace")
            return resp.status, parsed, dict(resp.getheaders())
        finally:
            conn.close()

    def predict(self, body, model: str = "tiny", **kw):
        return self.request("POST", f"/v1/models/{model}:predict", body, **kw)

    def metrics(self) -> str:
        return self.request("GET", "/metrics")[1]

    def stop(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()
        return self.proc.returncode


def metric_value(text: str, name: str, **labels) -> float:
    """The sum of the samples `name{labels...}` in a Prometheus text exposition (0 if absent)."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total
