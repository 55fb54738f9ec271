"""Shared test configuration: the gpu marker skips without a GPU; compiled samplers persist on disk."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_configure(config):
    """Reuse the sampler's compiled blocks across test runs (JAX's persistent cache, git-ignored)."""
    from pytyche_core.bcf.compile_cache import enable_compilation_cache

    enable_compilation_cache(Path(config.rootpath) / ".jax_cache")


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
