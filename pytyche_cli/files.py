"""Output files that appear whole or not at all.

Every command that writes a file checks the target before any work (so a
long fit is not wasted on a path it cannot use), writes to a temporary file
beside the target and renames it into place, so a refused input or a crash
never leaves a partial file under the name asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

from pytyche_core.atomic import atomic_path

from .errors import CliFailure, CliUsageError


def check_target(path: str | os.PathLike, *, overwrite: bool, suffixes: tuple[str, ...] | None = None,
                 what: str = "output") -> Path:
    """``path`` as a ``Path`` if a file may be written there; ``CliFailure`` naming the fix otherwise."""
    target = Path(path)
    if suffixes is not None and not target.name.lower().endswith(suffixes):
        raise CliUsageError(f"{what} {str(target)!r}: unknown file type. Fix: end the name with one of "
                         f"{', '.join(suffixes)}.")
    if target.is_dir():
        raise CliFailure(f"{what} {str(target)!r} is a folder. Fix: pass a file path inside it.")
    if not target.parent.is_dir():
        raise CliFailure(f"{what} {str(target)!r}: folder {str(target.parent)!r} does not exist. "
                         "Fix: create it first, or choose another path.")
    if target.exists() and not overwrite:
        raise CliFailure(f"{what} {str(target)!r} already exists. Fix: pass --overwrite to replace it, "
                         "or choose another path.")
    return target


__all__ = ["atomic_path", "check_target"]
