"""Progress bars (tqdm) for the loops outside `fit`: reading files, sharding, caching logits, evaluating.

Bars go to stderr and switch themselves off when stderr is not a terminal (logs, CI) or when the
environment sets TFBIG_PROGRESS=0.

>>> for batch in progress(dataset, desc="teacher logits", total=steps, unit="batch"):
...     ...
"""
import os

from tqdm import tqdm


def progress(iterable=None, desc: str = "", total: int | None = None, unit: str = "it", **kwargs):
    """A tqdm bar over `iterable` (or a manual one, `bar.update(n)`, when `iterable` is None)."""
    if total is None and iterable is not None and hasattr(iterable, "__len__"):
        total = len(iterable)
    disable = True if os.environ.get("TFBIG_PROGRESS", "") == "0" else None  # None: off without a terminal
    return tqdm(iterable, desc=desc, total=total, unit=unit, disable=disable, leave=False, dynamic_ncols=True,
                **kwargs)
