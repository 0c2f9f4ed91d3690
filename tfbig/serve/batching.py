"""Batcher: concurrent requests for one (version, signature) queued and run as one model call, then split.

What TF Serving's batching does: the first queued request waits at most `max_wait_s` for others, up to
`max_batch_size` rows; a request is never split (a larger one runs alone). Model calls run in a thread
pool, off the event loop; a semaphore shared by all batchers bounds how many run at once. While every
slot is busy the queue keeps growing, so under load batches fill without waiting.
Requests whose inputs differ in their non-batch shapes (e.g. token ids of different lengths) cannot be
concatenated: one batch runs them as separate calls, grouped by shape.
"""
import asyncio
import collections
import logging
import time
from dataclasses import dataclass, field

import numpy as np

from tfbig.serve.api_error import ApiError

log = logging.getLogger(__name__)


@dataclass
class _Item:
    inputs: dict  # name -> (rows, ...) array
    rows: int
    future: asyncio.Future
    enqueued: float = field(default_factory=time.monotonic)


class Batcher:
    """run: callable(dict of arrays) -> dict of arrays, batch first; blocking, called in `executor`.

    max_batch_size: int. Rows per call; 1 with `batching=False` turns batching off (one request per call).
    max_wait_s: float. How long the oldest queued request may wait for more.
    slots: asyncio.Semaphore. Model calls allowed at once, shared across batchers.
    on_batch: callable(rows, requests, queue_seconds, model_seconds), for metrics.
    """

    def __init__(self, run, executor, slots: asyncio.Semaphore, max_batch_size: int, max_wait_s: float,
                 batching: bool = True, on_batch=None, max_queued_rows: int = 8192):
        self._run, self._executor, self._slots = run, executor, slots
        self.max_batch_size = max_batch_size if batching else 1
        self.max_wait_s = max_wait_s if batching else 0.0
        self.max_queued_rows = max_queued_rows
        self._on_batch = on_batch or (lambda *a: None)
        self._items = collections.deque()
        self._queued_rows = 0
        self._wake = asyncio.Event()
        self._closed = False
        self._running = set()  # tasks of model calls in progress
        self._task = asyncio.get_running_loop().create_task(self._loop())

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    def submit(self, inputs: dict, rows: int) -> asyncio.Future:
        """Queues one request; its future gets the request's own rows of every output."""
        if self._closed:
            raise RuntimeError("batcher closed")  # callers pick the batcher and submit without awaiting
        if self._queued_rows + rows > self.max_queued_rows:
            raise ApiError(503, f"server overloaded: {self._queued_rows} rows queued (limit {self.max_queued_rows})")
        item = _Item(inputs, rows, asyncio.get_running_loop().create_future())
        self._items.append(item)
        self._queued_rows += rows
        self._wake.set()
        return item.future

    async def close(self) -> None:
        """Runs what is queued, waits for the calls in progress, then stops."""
        self._closed = True
        self._wake.set()
        await self._task
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _wait_for_items(self) -> bool:
        while not self._items:
            if self._closed:
                return False
            self._wake.clear()
            await self._wake.wait()
        return True

    async def _loop(self) -> None:
        while await self._wait_for_items():
            await self._slots.acquire()  # requests keep queueing while every model slot is busy
            deadline = self._items[0].enqueued + self.max_wait_s
            while self._queued_rows < self.max_batch_size and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), remaining)
                except asyncio.TimeoutError:
                    break
            batch = [self._items.popleft()]  # at least one request, however many rows it has
            rows = batch[0].rows
            while self._items and rows + self._items[0].rows <= self.max_batch_size:
                rows += self._items[0].rows
                batch.append(self._items.popleft())
            self._queued_rows -= rows
            task = asyncio.get_running_loop().create_task(self._call(batch, rows))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _call(self, batch: list, rows: int) -> None:
        try:
            started = time.monotonic()
            results = await asyncio.get_running_loop().run_in_executor(self._executor, self._compute, batch)
            model_seconds = time.monotonic() - started
            for item, result in zip(batch, results):
                if item.future.done():  # the request timed out meanwhile
                    continue
                if isinstance(result, BaseException):
                    item.future.set_exception(result)
                else:
                    item.future.set_result(result)
            self._on_batch(rows, len(batch), started - batch[0].enqueued, model_seconds)
        except BaseException as e:  # noqa: BLE001  (no request may be left waiting)
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(e if isinstance(e, Exception) else RuntimeError("cancelled"))
            if not isinstance(e, Exception):
                raise
        finally:
            self._slots.release()

    def _compute(self, batch: list) -> list:
        """In a pool thread: one result (dict of arrays, or an exception) per item, in order."""
        groups = collections.defaultdict(list)
        for i, item in enumerate(batch):
            groups[tuple((n, a.shape[1:]) for n, a in item.inputs.items())].append(i)
        results = [None] * len(batch)
        for indices in groups.values():
            items = [batch[i] for i in indices]
            try:
                outs = self._run_merged(items)
            except Exception as e:  # noqa: BLE001
                if len(items) == 1:
                    outs = [e]
                else:  # one bad request must not fail the others: run each alone to find it
                    outs = [self._run_alone(item) for item in items]
            for i, out in zip(indices, outs):
                results[i] = out
        return results

    def _run_alone(self, item):
        try:
            return self._run_merged([item])[0]
        except Exception as e:  # noqa: BLE001
            return e

    def _run_merged(self, items: list) -> list:
        names = list(items[0].inputs)
        merged = {n: items[0].inputs[n] if len(items) == 1 else np.concatenate([it.inputs[n] for it in items])
                  for n in names}
        total = sum(it.rows for it in items)
        outputs = self._run(merged)
        for name, value in outputs.items():
            if value.ndim == 0 or value.shape[0] != total:
                raise ValueError(f"output '{name}' has shape {list(value.shape)}, not batch-first "
                                 f"with {total} rows; it cannot be split per request")
        results, start = [], 0
        for it in items:
            results.append({name: value[start:start + it.rows] for name, value in outputs.items()})
            start += it.rows
        return results
