"""What the catalog scripts print (one JSON line per measured fit, then the means per group) and read
(one catalog data set's arguments, ``--set NAME=VALUE`` overrides of ``BCFConfig``)."""

from __future__ import annotations

import json
import multiprocessing
import platform


def machine() -> str:
    """The machine every script's first line names: processor (or architecture) and core count."""
    return f"{platform.processor() or platform.machine()}, {multiprocessing.cpu_count()} cores"


def print_row(row: dict) -> None:
    """One fit's figures as a JSON line (floats to 4 decimals), flushed so long runs show progress."""
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}), flush=True)


def print_means(rows: list[dict], *, by: list[str], drop: str) -> None:
    """The mean of every figure per ``by`` group (``drop``: the replicate column averaged over)."""
    import pandas as pd

    table = pd.DataFrame(rows).drop(columns=drop).groupby(by, sort=False).mean()
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))


def parse_override(text: str) -> tuple[str, float | int | bool | None]:
    """``NAME=VALUE`` of a ``--set`` flag: true/false as bools, none as None, integers as ints, other
    numbers as floats."""
    name, _, value = text.partition("=")
    if not name or not value:
        raise SystemExit(f"--set {text!r}: expected NAME=VALUE, e.g. burn_in=400")
    if value.lower() in ("true", "false"):
        return name, value.lower() == "true"
    if value.lower() == "none":  # e.g. tau_alpha_concentration=none fixes alpha
        return name, None
    number = float(value)
    return name, int(number) if number.is_integer() and "." not in value else number


def add_data_set_arguments(parser, *, profile: str = "realistic") -> None:
    """The arguments that name one catalog data set and our fit's settings: ``scenario``, ``--k``,
    ``--profile``, ``--n``, ``--set NAME=VALUE`` (the caller adds its seed or seeds)."""
    parser.add_argument("scenario")
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--profile", default=profile)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="NAME=VALUE",
                        help="BCFConfig overrides for pytyche, e.g. burn_in=400")
