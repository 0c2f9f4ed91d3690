"""ServeMetrics: the server's counters and histograms, in one registry, exposed in Prometheus text format."""
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_ROWS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class ServeMetrics:
    """Label values are bounded (an endpoint kind, a status code, a configured model name), never a raw path."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self):
        r = self.registry = CollectorRegistry()
        self.requests = Counter("tfbig_serve_requests", "HTTP requests answered", ["endpoint", "code"], registry=r)
        self.request_seconds = Histogram("tfbig_serve_request_seconds", "HTTP request latency, received to answered",
                                         ["endpoint"], buckets=_SECONDS, registry=r)
        self.request_rows = Histogram("tfbig_serve_request_rows", "rows per predict request", ["model"],
                                      buckets=_ROWS, registry=r)
        self.batch_rows = Histogram("tfbig_serve_batch_rows", "rows per model call (dynamic batching)",
                                    ["model", "signature"], buckets=_ROWS, registry=r)
        self.batch_requests = Histogram("tfbig_serve_batch_requests", "requests merged into one model call",
                                        ["model", "signature"], buckets=_ROWS, registry=r)
        self.queue_seconds = Histogram("tfbig_serve_queue_seconds", "oldest request's wait before its model call",
                                       ["model"], buckets=_SECONDS, registry=r)
        self.model_seconds = Histogram("tfbig_serve_model_call_seconds", "one batched model call",
                                       ["model", "signature"], buckets=_SECONDS, registry=r)
        self.version_loads = Counter("tfbig_serve_version_loads", "version loads, by outcome",
                                     ["model", "outcome"], registry=r)
        self.serving_version = Gauge("tfbig_serve_model_version", "version serving now", ["model"], registry=r)
        self.in_flight = Gauge("tfbig_serve_requests_in_flight", "HTTP requests being handled", registry=r)

    def on_batch(self, model: str, signature: str):
        """A Batcher's on_batch callback for one model and signature."""
        def record(rows: int, requests: int, queue_seconds: float, model_seconds: float) -> None:
            self.batch_rows.labels(model, signature).observe(rows)
            self.batch_requests.labels(model, signature).observe(requests)
            self.queue_seconds.labels(model).observe(queue_seconds)
            self.model_seconds.labels(model, signature).observe(model_seconds)
        return record

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
