"""`tfbig serve`: exported SavedModels over TF Serving's REST API, with dynamic batching (tfbig.serve)."""
import os

from tfbig.errors import UserError


def register(sub) -> None:
    p = sub.add_parser("serve", help="serve SavedModels over TF Serving's REST API (dynamic batching)")
    p.add_argument("models", nargs="+", metavar="MODEL",
                   help="PATH or NAME=PATH: a model folder (saved_models/NAME, newest version served, new "
                        "ones picked up) or one version folder; NAME defaults to the folder's name")
    p.add_argument("--model-name", help="the name to serve a single MODEL under")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback only)")
    p.add_argument("--port", type=int, default=8501, help="port (TF Serving's REST default 8501; 0: any free)")
    p.add_argument("--no-batching", dest="batching", action="store_false", help="one model call per request")
    p.add_argument("--max-batch-size", type=int, default=64, help="rows per batched model call")
    p.add_argument("--batch-wait-ms", type=float, default=5.0, help="how long a request waits for others")
    p.add_argument("--model-threads", type=int, default=2, help="model calls running at once")
    p.add_argument("--poll-seconds", type=float, default=1.0, help="how often to look for new versions")
    p.add_argument("--max-body-mb", type=float, default=8.0, help="largest request body, MiB")
    p.add_argument("--max-rows", type=int, default=1024, help="most rows in one request")
    p.add_argument("--max-text-chars", type=int, default=50_000, help="longest string input value")
    p.add_argument("--timeout-s", type=float, default=30.0, help="longest wait for the model, per request")
    p.add_argument("--shutdown-timeout-s", type=float, default=30.0,
                   help="on SIGTERM, how long in-flight requests may take to finish")
    p.add_argument("--drain-grace-s", type=float, default=0.5,
                   help="on SIGTERM, how long open connections are still read after the listener closes")
    p.set_defaults(func=run)


def model_paths(specs: list, model_name: str | None) -> dict:
    """["bbc=saved_models/bbc", "saved_models/x"] -> {"bbc": ..., "x": ...}; one line per mistake."""
    if model_name and len(specs) != 1:
        raise UserError(f"--model-name names one model; {len(specs)} were given (use NAME=PATH)")
    out = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            path = spec
            name = model_name or os.path.basename(os.path.normpath(spec))
            if name.isdigit():  # a version folder: name it after its model folder
                name = os.path.basename(os.path.dirname(os.path.abspath(spec)))
        if not name or "/" in name or ":" in name:
            raise UserError(f"bad model name '{name}' in '{spec}' (no '/' or ':')")
        if not path:
            raise UserError(f"no path in '{spec}'")
        if not os.path.isdir(path):
            raise UserError(f"model folder not found: {path}")
        if name in out:
            raise UserError(f"model name '{name}' given twice")
        out[name] = path
    return out


def run(args) -> int:
    from tfbig.serve.config import ServeConfig
    from tfbig.serve.server import serve

    models = model_paths(args.models, args.model_name)
    config = ServeConfig(host=args.host, port=args.port, batching=args.batching, max_batch_size=args.max_batch_size,
                         batch_wait_ms=args.batch_wait_ms, model_threads=args.model_threads,
                         poll_seconds=args.poll_seconds, max_body_bytes=int(args.max_body_mb * 1024 * 1024),
                         max_rows=args.max_rows, max_text_chars=args.max_text_chars,
                         request_timeout_s=args.timeout_s, shutdown_timeout_s=args.shutdown_timeout_s,
                         drain_grace_s=args.drain_grace_s)
    return serve(models, config, on_listening=lambda line: print(line, flush=True))
