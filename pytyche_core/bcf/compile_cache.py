"""JAX's persistent compilation cache, so a new process reuses the sampler's compiled blocks.

A compile of the sampler block costs seconds to tens of seconds per distinct
shape; the run that follows may cost less. Processes that fit the same
shapes again (pipeline rounds, notebooks, test runs) can read the compiled
executables from disk instead.

It is on by default: the first ``pt.fit`` of a process points JAX's cache at
``$PYTYCHE_COMPILATION_CACHE`` or ``~/.cache/pytyche/jax``, unless JAX's
cache was already configured (then that one is used) or
``PYTYCHE_COMPILATION_CACHE=off``. ``pt.enable_compilation_cache(folder)``
chooses another folder explicitly.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

#: Environment variable naming the cache folder (default ~/.cache/pytyche/jax); "off" turns it off.
CACHE_ENV = "PYTYCHE_COMPILATION_CACHE"
_OFF = ("off", "0", "false", "no")


def default_cache_dir() -> Path:
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "pytyche" / "jax"


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> Path:
    """Point JAX's persistent compilation cache at ``directory`` (created if missing); return it.

    Default: ``$PYTYCHE_COMPILATION_CACHE`` or ``~/.cache/pytyche/jax``.
    Only compiles that took at least a quarter of a second are stored (loading an entry costs a
    few tens of milliseconds; the sampler block, its start and prediction all compile for longer).
    """
    import jax

    if directory is None and os.environ.get(CACHE_ENV, "").lower() in _OFF:
        raise ValueError(f"enable_compilation_cache: {CACHE_ENV} is {os.environ[CACHE_ENV]!r} (off). Fix: pass "
                         "a folder, or unset the variable.")
    path = Path(directory) if directory is not None else default_cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise OSError(f"enable_compilation_cache: cannot create {path} ({error}). Fix: pass a writable "
                      f"directory or set {CACHE_ENV}.") from error
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.25)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def use_default_compilation_cache() -> Path | None:
    """Turn the persistent cache on at its default folder unless it is configured or turned off.

    Returns the folder in use, or None when off. A folder that cannot be created is a warning,
    not an error: fitting works without the cache, only slower to start.
    """
    import jax

    if os.environ.get(CACHE_ENV, "").lower() in _OFF:
        return None
    configured = jax.config.jax_compilation_cache_dir
    if configured:
        return Path(configured)
    try:
        return enable_compilation_cache()
    except OSError as error:
        warnings.warn(f"{error} Fitting goes on without the persistent compilation cache.", stacklevel=2)
        return None
