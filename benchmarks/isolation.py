"""Each measured fit in a fresh process: its peak memory is its own and no JAX or peer state leaks."""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
from collections.abc import Callable

# JAX takes 75% of a GPU's memory at start by default; a parent that touched the device would leave a
# spawned child too little. Allocating on demand also makes the device's peak bytes mean the fit's.
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


def in_own_process(fn: Callable[[dict], dict], args: dict) -> dict:
    """``fn(args)`` in a spawned child process; its result (or its exception) comes back."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(fn, args).result()
