"""Files that appear whole or not at all: write to a temporary name beside the target, then rename.

A reader sees the old file or the new one, never half of one, and a failure
leaves nothing under the target's name. Result files, calibration
artifacts, reports and the CLI's outputs all go through ``atomic_path``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """A fresh temporary path beside ``target`` (no file there yet), renamed onto ``target`` if the block
    succeeds and removed if it does not.

    The temporary name keeps ``target``'s suffix, so writers that pick a format by extension (DuckDB,
    pandas) see the right one; no file exists at the path yet, since some writers (DuckDB) refuse to
    open an empty file, and the one they create gets the process's usual permissions.
    """
    target = Path(target)
    suffix = "".join(target.suffixes) or ".tmp"
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(handle)
    temporary = Path(name)
    temporary.unlink()
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
        with contextlib.suppress(FileNotFoundError):
            Path(f"{temporary}.wal").unlink()  # DuckDB's write-ahead log, if a failed write left one


__all__ = ["atomic_path"]
