"""The code version stamped on every stored row, next to the Dagster run id."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

import pytyche_core


@functools.cache
def code_version() -> str:
    """``<package version>+g<commit>`` (``.dirty`` if the tree has changes), or the bare version."""
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=root, capture_output=True,
                             text=True, check=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, check=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return pytyche_core.__version__
    return f"{pytyche_core.__version__}+g{sha}{'.dirty' if dirty else ''}"
