"""Shared test configuration: the gpu marker skips without a GPU."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    """Skip ``gpu`` tests unless JAX sees a GPU."""
    if not any("gpu" in item.keywords for item in items):
        return
    try:
        import jax

        has_gpu = any(d.platform == "gpu" for d in jax.devices())
    except Exception:  # no JAX, or no backend: no GPU
        has_gpu = False
    if not has_gpu:
        skip = pytest.mark.skip(reason="needs a GPU visible to JAX")
        for item in items:
            if "gpu" in item.keywords:
                item.add_marker(skip)
