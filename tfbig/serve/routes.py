"""The aiohttp application: TF Serving's REST endpoints, KServe-style health, /metrics, and JSON errors.

    GET  /v1/models/NAME[/versions/N]            version status
    GET  /v1/models/NAME[/versions/N]/metadata   signatures (SignatureDefMap, as TF Serving shows it)
    POST /v1/models/NAME[/versions/N]:predict    {"instances": ...} or {"inputs": ...}
    GET  /v2/health/live, /v2/health/ready, /metrics
"""
import asyncio
import json
import logging
import re
import time

from aiohttp import web

from tfbig.serve.api_error import ApiError
from tfbig.serve.request import decode_json, parse_predict
from tfbig.serve.response import format_outputs

log = logging.getLogger(__name__)

STATE = web.AppKey("tfbig_serve_state", object)
_MODEL_PATH = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?"
                         r"(?P<metadata>/metadata)?(?::(?P<verb>[A-Za-z]+))?$")


def json_response(obj, status: int = 200, headers=None) -> web.Response:
    return web.Response(body=json.dumps(obj).encode("utf-8"), status=status, headers=headers,
                        content_type="application/json")


def _target(request):
    """(ServedModel, version int or None, metadata bool, verb or None) for a /v1/models/... path."""
    state = request.app[STATE]
    match = _MODEL_PATH.match(request.path)
    if not match:
        raise ApiError(404, f"no such endpoint: {request.method} {request.path[:200]}")
    name, version = match["name"], match["version"]
    if name not in state.models:
        raise ApiError(404, f"model '{name[:100]}' not found; serving {', '.join(sorted(state.models))}")
    if version is not None and not version.isdigit():
        raise ApiError(400, f"version must be a positive integer, got '{version[:50]}'")
    return state.models[name], None if version is None else int(version), bool(match["metadata"]), match["verb"]


def _version(model, version):
    """The ModelVersion serving `model` (and equal to `version` if given), or 404."""
    mv = model.current
    if mv is None or (version is not None and version != mv.version):
        serving = f"serving version {mv.version}" if mv is not None else "no version loaded"
        raise ApiError(404, f"model '{model.name}' version {version} is not available ({serving})")
    return mv


async def model_get(request):
    model, version, metadata, verb = _target(request)
    if verb is not None:
        raise ApiError(405, f":{verb} takes POST")
    if metadata:
        request["endpoint"] = "metadata"
        mv = _version(model, version)
        return json_response({"model_spec": {"name": model.name, "signature_name": "", "version": str(mv.version)},
                              "metadata": {"signature_def": mv.metadata}})
    request["endpoint"] = "status"
    status = model.status_json(version)
    if not status["model_version_status"]:
        raise ApiError(404, f"model '{model.name}' has no version {version}")
    return json_response(status)


async def _read_body(request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise ApiError(413, f"request body of {request.content_length} bytes is over the limit of {limit} bytes")
    return await request.read()  # aiohttp stops at client_max_size (a body sent without a length)


def _model_error(e: Exception) -> ApiError:
    from tfbig._keras import tf

    if isinstance(e, ApiError):
        return e
    if isinstance(e, tf.errors.InvalidArgumentError):
        lines = (e.message or "").strip().splitlines()
        return ApiError(400, f"the model refused the input: {lines[0][:300] if lines else 'invalid argument'}")
    log.error("model call failed: %s: %s", type(e).__name__, str(e)[:500])
    return ApiError(500, f"model call failed ({type(e).__name__}); see the server log")


async def model_post(request):
    state = request.app[STATE]
    request["endpoint"] = "predict"
    model, version, metadata, verb = _target(request)
    if metadata or verb != "predict":
        raise ApiError(404 if verb is None else 400,
                       "POST needs ':predict' at the end of the path" if verb is None
                       else f"':{verb}' is not served; this server answers ':predict'")
    _version(model, version)  # 404 before reading a body for a model that will not answer
    body = decode_json(await _read_body(request, state.config.max_body_bytes))
    mv = _version(model, version)  # from here to submit nothing awaits, so a version swap cannot intervene
    parsed = parse_predict(body, mv.signatures, state.config.max_rows, state.config.max_text_chars)
    request["rows"] = parsed.rows
    state.metrics.request_rows.labels(model.name).observe(parsed.rows)
    future = state.batcher(model, mv, parsed.signature_name).submit(parsed.inputs, parsed.rows)
    try:
        outputs = await asyncio.wait_for(asyncio.shield(future), state.config.request_timeout_s)
    except asyncio.TimeoutError:
        raise ApiError(504, f"no answer from the model within {state.config.request_timeout_s:g}s") from None
    except Exception as e:  # noqa: BLE001
        raise _model_error(e) from None
    return json_response(format_outputs(outputs, parsed.columnar),
                         headers={"X-Tfbig-Model-Version": str(mv.version)})


async def live(request):
    request["endpoint"] = "health"
    return json_response({"live": True})


async def ready(request):
    request["endpoint"] = "health"
    ok = request.app[STATE].ready
    return json_response({"ready": ok}, status=200 if ok else 503)


async def metrics(request):
    request["endpoint"] = "metrics"
    m = request.app[STATE].metrics
    return web.Response(body=m.exposition(), headers={"Content-Type": m.content_type})


@web.middleware
async def errors_and_metrics(request, handler):
    """Every failure becomes `{"error": ...}` (no trace leaves the server); every answer is counted."""
    state = request.app[STATE]
    started = time.monotonic()
    state.metrics.in_flight.inc()
    state.in_flight += 1
    try:
        response = await handler(request)
    except ApiError as e:
        response = json_response({"error": e.message}, status=e.status)
    except web.HTTPRequestEntityTooLarge:
        response = json_response({"error": f"request body is over the limit of {state.config.max_body_bytes} bytes"},
                                 status=413)
    except web.HTTPException as e:
        message = f"no such endpoint: {request.method} {request.path[:200]}" if e.status == 404 else e.reason
        response = json_response({"error": message}, status=e.status)
    except Exception:  # noqa: BLE001
        log.exception("internal error on %s %s", request.method, request.path[:200])
        response = json_response({"error": "internal server error; see the server log"}, status=500)
    finally:
        state.metrics.in_flight.dec()
        state.in_flight -= 1
    if state.draining:
        response.force_close()  # "Connection: close": a client does not reuse a connection about to close
    endpoint = request.get("endpoint", "other")
    state.metrics.requests.labels(endpoint, str(response.status)).inc()
    state.metrics.request_seconds.labels(endpoint).observe(time.monotonic() - started)
    return response


def build_app(state) -> web.Application:
    app = web.Application(client_max_size=state.config.max_body_bytes, middlewares=[errors_and_metrics])
    app[STATE] = state
    app.router.add_get("/v2/health/live", live)
    app.router.add_get("/v2/health/ready", ready)
    app.router.add_get("/metrics", metrics)
    app.router.add_get("/v1/models/{tail:.+}", model_get)
    app.router.add_post("/v1/models/{tail:.+}", model_post)
    return app
