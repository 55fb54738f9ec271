"""Each measured fit in a fresh process: its peak memory is its own and no JAX or peer state leaks."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
from collections.abc import Callable


def in_own_process(fn: Callable[[dict], dict], args: dict) -> dict:
    """``fn(args)`` in a spawned child process; its result (or its exception) comes back."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(fn, args).result()
