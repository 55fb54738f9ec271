"""JAX's persistent compilation cache, so a new process reuses the sampler's compiled blocks.

A compile of the sampler block costs seconds to tens of seconds per distinct
shape; the run that follows may cost less. Processes that fit the same
shapes again (pipeline rounds, notebooks, test runs) can read the compiled
executables from disk instead. This changes JAX's global configuration, so
it is opt-in: ``pt.enable_compilation_cache()``.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable naming the cache folder; the default is ~/.cache/pytyche/jax.
CACHE_ENV = "PYTYCHE_COMPILATION_CACHE"


def default_cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "pytyche" / "jax"


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> Path:
    """Point JAX's persistent compilation cache at ``directory`` (created if missing); return it.

    Default: ``$PYTYCHE_COMPILATION_CACHE`` or ``~/.cache/pytyche/jax``.
    Only compiles that took at least a second are stored.
    """
    import jax

    path = Path(directory) if directory is not None else default_cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(f"enable_compilation_cache: cannot create {path} ({error}). Fix: pass a writable "
                      f"directory or set {CACHE_ENV}.") from error
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path
