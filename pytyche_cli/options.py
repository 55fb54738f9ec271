"""Options several commands share (``--debug``, ``--store``) and the store's default path."""

from __future__ import annotations

import os
from collections.abc import Callable

import click

#: Where the shared ``--debug`` flag is kept: ``Context.meta`` is one dict for a command and its group.
DEBUG_KEY = "pytyche.debug"


def _remember_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        ctx.meta[DEBUG_KEY] = True
    return value


def debug_option(command: Callable) -> Callable:
    """``--debug``: on failure, print the full traceback instead of one line."""
    return click.option("--debug", is_flag=True, expose_value=False, is_eager=True, callback=_remember_debug,
                        envvar="PYTYCHE_DEBUG",
                        help="On failure, print the full traceback (also PYTYCHE_DEBUG=1).")(command)


def store_option(command: Callable) -> Callable:
    """``--store PATH``: the DuckDB store (default PYTYCHE_DUCKDB, else data/pytyche.duckdb)."""
    return click.option("--store", type=click.Path(dir_okay=False), default=None,
                        help="The DuckDB store (default: $PYTYCHE_DUCKDB, else data/pytyche.duckdb).")(command)


def default_store() -> str:
    """The store the pipelines write to: ``$PYTYCHE_DUCKDB``, else the repository's data/pytyche.duckdb."""
    if os.environ.get("PYTYCHE_DUCKDB"):
        return os.environ["PYTYCHE_DUCKDB"]
    from pytyche_pipelines.resources import default_duckdb_path  # the one home of the default

    return default_duckdb_path()


def store_path(store: str | None) -> str:
    return store if store is not None else default_store()


__all__ = ["DEBUG_KEY", "debug_option", "default_store", "store_option", "store_path"]
