"""Batcher on its own (no model, no HTTP): merging, splitting, shapes kept apart, one bad request isolated."""
import asyncio
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from tfbig.serve.batching import Batcher


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_merges_splits_and_isolates_a_bad_request():
    calls = []

    def model(inputs):  # (B, T) -> row sums; a negative value fails the whole call
        x = inputs["x"]
        calls.append(x.shape)
        if (x < 0).any():
            raise ValueError("negative input")
        return {"sum": x.sum(axis=1), "x": x}

    async def main():
        with ThreadPoolExecutor(1) as pool:
            b = Batcher(model, pool, asyncio.Semaphore(1), max_batch_size=8, max_wait_s=0.05)
            requests = [np.full((1, 2), i) for i in range(5)] + [np.full((2, 3), 7), -np.ones((1, 2)),
                                                                 np.full((4, 2), 9)]
            futures = [b.submit({"x": x}, len(x)) for x in requests]
            results = await asyncio.gather(*futures, return_exceptions=True)
            await b.close()
        return requests, results

    requests, results = _run(main())
    for x, r in zip(requests, results):
        if (x < 0).any():
            assert isinstance(r, ValueError)
        else:
            np.testing.assert_array_equal(r["sum"], x.sum(axis=1))
            np.testing.assert_array_equal(r["x"], x)
    # The first batch takes requests in order up to 8 rows (the five 1-row ones, the (2, 3) one, the bad one;
    # the 4-row one goes to the next batch); inside it the (B, 3) request runs as its own call, and the
    # failing merged (6, 2) call is retried one request at a time.
    assert calls[0] == (6, 2) and (2, 3) in calls and (4, 2) in calls


def test_batching_off_runs_each_request_alone():
    sizes = []

    def model(inputs):
        sizes.append(len(inputs["x"]))
        return {"y": inputs["x"] * 2}

    async def main():
        with ThreadPoolExecutor(2) as pool:
            b = Batcher(model, pool, asyncio.Semaphore(2), max_batch_size=64, max_wait_s=0.05, batching=False)
            out = await asyncio.gather(*(b.submit({"x": np.arange(3) + i}, 3) for i in range(6)))
            await b.close()
        return out

    out = _run(main())
    assert sizes == [3] * 6
    for i, r in enumerate(out):
        np.testing.assert_array_equal(r["y"], (np.arange(3) + i) * 2)


def test_output_without_batch_dimension_is_an_error_and_queue_limit_503():
    from tfbig.serve.api_error import ApiError

    async def main():
        with ThreadPoolExecutor(1) as pool:
            b = Batcher(lambda inputs: {"total": np.float32(inputs["x"].sum())}, pool, asyncio.Semaphore(1),
                        max_batch_size=4, max_wait_s=0.0, max_queued_rows=3)
            with pytest.raises(ApiError) as e:
                b.submit({"x": np.ones((4, 1))}, 4)
            assert e.value.status == 503
            with pytest.raises(ValueError, match="output 'total' has shape"):
                await b.submit({"x": np.ones((2, 1))}, 2)
            await b.close()
            with pytest.raises(RuntimeError):
                b.submit({"x": np.ones((1, 1))}, 1)

    _run(main())
