"""serve(): load the models, listen, poll for new versions, and on SIGTERM or SIGINT drain and exit.

Drain: the readiness endpoint answers 503 and the listening socket closes (new connections are refused,
a load balancer moves on); for drain_grace_s, connections already open are still read, each answer
telling the client to close; then idle connections close, requests already accepted are answered (up to
shutdown_timeout_s), the batchers run what they queued, and the process exits with status 0.
"""
import asyncio
import logging
import signal

from aiohttp import web

from tfbig.errors import UserError
from tfbig.serve.access_log import AccessLogger, access_log
from tfbig.serve.metrics import ServeMetrics
from tfbig.serve.routes import build_app
from tfbig.serve.state import ServeState
from tfbig.serve.versions import ServedModel

log = logging.getLogger(__name__)


def serve(models: dict, config, on_listening=print) -> int:
    """models: dict of name -> folder (saved_models/NAME or one version folder). config: ServeConfig.

    on_listening: callable(str), told the address once the socket listens (port 0 resolved). Blocks until
    SIGTERM/SIGINT; returns 0 after the drain. Raises UserError for a missing folder, a model no version of
    which loads, or an address that cannot be bound.
    """
    served = {name: ServedModel(name, path) for name, path in models.items()}  # checks folders before TF loads
    return asyncio.run(_serve(served, config, on_listening))


async def _serve(served: dict, config, on_listening) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):  # before loading: a signal then means "do not start"
        loop.add_signal_handler(sig, stop.set)
    for m in served.values():
        await loop.run_in_executor(None, m.load_initial)
        if stop.is_set():
            log.info("signal received while loading; exiting")
            return 0
    state = ServeState(served, config, ServeMetrics())
    runner = web.AppRunner(build_app(state), handle_signals=False, access_log_class=AccessLogger,
                           access_log=access_log, shutdown_timeout=config.shutdown_timeout_s)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    try:
        await site.start()
    except OSError as e:
        await runner.cleanup()
        await state.close()
        raise UserError(f"cannot listen on {config.host}:{config.port}: {e.strerror or e}") from None
    host, port = site._server.sockets[0].getsockname()[:2]
    names = ", ".join(f"{m.name} (version {m.current.version})" for m in served.values())
    on_listening(f"tfbig serve: http://{host}:{port}/v1/models/... serving {names}")
    watcher = loop.create_task(state.watch())
    await stop.wait()
    state.draining = True  # readiness 503; answers carry "Connection: close"
    log.info("signal received: draining %d requests in flight", state.in_flight)
    watcher.cancel()
    await site.stop()  # no new connections
    # Connections accepted just before may still be sending their request: give them a moment before
    # idle connections are closed (a client could not tell that close from a lost request).
    await asyncio.sleep(config.drain_grace_s)
    await runner.cleanup()  # closes idle connections, waits for the handlers in progress
    await asyncio.gather(watcher, return_exceptions=True)
    await state.close()
    log.info("drained; exiting")
    return 0
