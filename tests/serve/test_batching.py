"""Dynamic batching merges concurrent requests into fewer model calls, and each gets its own rows back."""
import threading

import numpy as np

from serve_helpers import TEXTS, metric_value
from tfbig._keras import tf


def test_concurrent_requests_share_model_calls(server, signatures):
    n = 24
    texts = [TEXTS[i % len(TEXTS)] + f" {i}" for i in range(n)]
    ref = signatures["serving_default"](text=tf.constant(texts))["probabilities"].numpy()
    before = server.metrics()
    results = [None] * n
    start = threading.Barrier(n, timeout=60)

    def client(i):
        start.wait()
        results[i] = server.predict({"instances": [texts[i]]})

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(r is not None and r[0] == 200 for r in results)
    got = np.array([r[1]["predictions"][0]["probabilities"] for r in results])
    np.testing.assert_allclose(got, ref, atol=1e-5, rtol=0)  # each request got its own row back

    after = server.metrics()
    labels = {"model": "tiny", "signature": "serving_default"}
    calls = (metric_value(after, "tfbig_serve_batch_rows_count", **labels)
             - metric_value(before, "tfbig_serve_batch_rows_count", **labels))
    rows = (metric_value(after, "tfbig_serve_batch_rows_sum", **labels)
            - metric_value(before, "tfbig_serve_batch_rows_sum", **labels))
    assert rows == n and calls < n / 2, (calls, rows)  # 24 requests in at most 11 model calls
    merged = metric_value(after, "tfbig_serve_batch_requests_bucket", le="1.0", **labels)
    assert merged < metric_value(after, "tfbig_serve_batch_requests_count", **labels)
