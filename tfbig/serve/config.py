"""ServeConfig: every setting of `tfbig serve`, one field per command-line option."""
from dataclasses import dataclass

from tfbig.errors import UserError


@dataclass
class ServeConfig:
    host: str = "127.0.0.1"  # loopback unless the user says otherwise
    port: int = 8501  # TF Serving's REST port; 0 picks a free one (printed at start)
    batching: bool = True  # False: one model call per request
    max_batch_size: int = 64  # rows per model call; a single larger request still runs, alone
    batch_wait_ms: float = 5.0  # how long the first queued request waits for others
    model_threads: int = 2  # model calls running at once (each uses TF's own intra-op threads)
    poll_seconds: float = 1.0  # how often model folders are scanned for new versions
    max_body_bytes: int = 8 * 1024 * 1024
    max_rows: int = 1024  # rows in one request
    max_text_chars: int = 50_000  # characters (or bytes, for b64) of one string input value
    max_queued_rows: int = 8192  # rows waiting for the model before requests get 503
    request_timeout_s: float = 30.0  # waiting for the model, per request: 504 after it
    shutdown_timeout_s: float = 30.0  # SIGTERM: how long in-flight requests may take to finish
    drain_grace_s: float = 0.5  # SIGTERM: open connections still read this long after the listener closes

    def __post_init__(self):
        for name in ("max_batch_size", "model_threads", "max_body_bytes", "max_rows", "max_text_chars",
                     "max_queued_rows"):
            if getattr(self, name) < 1:
                raise UserError(f"serve: {name} must be at least 1, got {getattr(self, name)}")
        for name in ("batch_wait_ms", "poll_seconds", "request_timeout_s", "shutdown_timeout_s",
                     "drain_grace_s"):
            if getattr(self, name) < 0:
                raise UserError(f"serve: {name} must not be negative, got {getattr(self, name)}")
        if not 0 <= self.port <= 65535:
            raise UserError(f"serve: port must be in 0..65535, got {self.port}")
