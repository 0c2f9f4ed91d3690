"""ServeState: what the handlers share — the models, one Batcher per (model, version, signature), the
model-call slots and thread pools — and the poll that swaps in new versions without dropping requests."""
import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from tfbig.serve.batching import Batcher

log = logging.getLogger(__name__)


class ServeState:
    """models: dict of name -> ServedModel (their first version loaded). config: ServeConfig."""

    def __init__(self, models: dict, config, metrics):
        self.models, self.config, self.metrics = models, config, metrics
        self.model_pool = ThreadPoolExecutor(config.model_threads, thread_name_prefix="tfbig-model")
        self.load_pool = ThreadPoolExecutor(1, thread_name_prefix="tfbig-load")  # loads never take model slots
        self.slots = asyncio.Semaphore(config.model_threads)
        self.batchers = {}  # (model name, version, signature) -> Batcher
        self.draining = False
        self.in_flight = 0  # HTTP requests being handled
        for m in models.values():
            metrics.version_loads.labels(m.name, "ok").inc()
            metrics.serving_version.labels(m.name).set(m.current.version)

    @property
    def ready(self) -> bool:
        return not self.draining and all(m.current is not None for m in self.models.values())

    def batcher(self, model, mv, signature: str) -> Batcher:
        """The Batcher for `mv` (a ModelVersion of `model`) and `signature`, made on first use."""
        key = (model.name, mv.version, signature)
        if key not in self.batchers:
            self.batchers[key] = Batcher(
                lambda inputs: mv.call(signature, inputs), self.model_pool, self.slots,
                self.config.max_batch_size, self.config.batch_wait_ms / 1000, batching=self.config.batching,
                on_batch=self.metrics.on_batch(model.name, signature), max_queued_rows=self.config.max_queued_rows)
        return self.batchers[key]

    async def _retire(self, name: str, version: int) -> None:
        """The replaced version's batchers answer what they queued, then stop."""
        keys = [k for k in self.batchers if k[0] == name and k[1] == version]
        batchers = [self.batchers.pop(k) for k in keys]
        await asyncio.gather(*(b.close() for b in batchers))

    async def poll_once(self) -> None:
        loop = asyncio.get_running_loop()
        for m in self.models.values():
            version = await loop.run_in_executor(self.load_pool, m.newer_version)
            if version is None or self.draining:
                continue
            mv = await loop.run_in_executor(self.load_pool, m.try_load, version)
            if mv is None:
                self.metrics.version_loads.labels(m.name, "refused").inc()
                continue
            self.metrics.version_loads.labels(m.name, "ok").inc()
            old = m.activate(mv)  # from here on, new requests go to mv
            self.metrics.serving_version.labels(m.name).set(mv.version)
            if old is not None:
                await self._retire(m.name, old.version)

    async def watch(self) -> None:
        """Polls every config.poll_seconds until cancelled; a failing poll is logged, the next one runs."""
        while True:
            await asyncio.sleep(self.config.poll_seconds)
            try:
                await self.poll_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001  (the server keeps serving what it has)
                log.exception("version poll failed")

    async def close(self) -> None:
        await asyncio.gather(*(b.close() for b in self.batchers.values()))
        self.batchers.clear()
        self.model_pool.shutdown(wait=True)
        self.load_pool.shutdown(wait=False, cancel_futures=True)
