"""SIGTERM while requests are in flight: every accepted request is answered, then the process exits 0."""
import http.client
import json
import os
import threading
import time

from serve_helpers import ServerProcess


def test_sigterm_drains_in_flight_requests(export_root, tmp_path):
    # Requests wait up to 1.5 s for a batch to fill, so they are still in flight when the signal comes.
    server = ServerProcess([os.path.join(export_root, "tiny"), "--batch-wait-ms", "1500"], str(tmp_path / "log"))
    n, sent, answers = 12, threading.Semaphore(0), [None] * 12

    def client(i):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        try:
            conn.request("POST", "/v1/models/tiny:predict", json.dumps({"instances": [f"text {i}"] * 2}))
            sent.release()
            resp = conn.getresponse()
            answers[i] = (resp.status, json.loads(resp.read()), resp.getheader("Connection"))
        finally:
            conn.close()

    try:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for _ in range(n):
            assert sent.acquire(timeout=60)
        time.sleep(0.3)  # the server reads them (accept + parse) well within this
    finally:
        code = server.stop(timeout=60)
    for t in threads:
        t.join(60)
    assert code == 0
    assert all(a is not None and a[0] == 200 and len(a[1]["predictions"]) == 2 for a in answers), answers
    assert all(a[2] == "close" for a in answers)  # answers during the drain tell clients not to reuse
    log = server.log()
    assert f"draining {n} requests in flight" in log and "drained; exiting" in log
