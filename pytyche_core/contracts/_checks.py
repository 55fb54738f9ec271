"""Small fail-closed checks shared by the contract types.

Each raises ``ContractViolation`` with a message that names the owner, the
field, the offending value and what to do instead.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from .errors import ContractViolation


def fail(owner: str, field: str, problem: str, fix: str) -> ContractViolation:
    return ContractViolation(f"{owner}.{field}: {problem}. Fix: {fix}.")


def non_empty_str(owner: str, field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(owner, field, f"expected a non-empty string, got {value!r}", "pass a name")
    return value


def finite_float(owner: str, field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise fail(owner, field, f"expected a real number, got {value!r}", "pass a float")
    out = float(value)
    if not math.isfinite(out):
        raise fail(owner, field, f"expected a finite number, got {out}", "pass a finite float")
    return out


def probability(owner: str, field: str, value: Any, *, open_interval: bool = False) -> float:
    out = finite_float(owner, field, value)
    ok = 0.0 < out < 1.0 if open_interval else 0.0 <= out <= 1.0
    if not ok:
        span = "(0, 1)" if open_interval else "[0, 1]"
        raise fail(owner, field, f"expected a probability in {span}, got {out}", f"pass a value in {span}")
    return out


def non_negative(owner: str, field: str, value: Any) -> float:
    out = finite_float(owner, field, value)
    if out < 0:
        raise fail(owner, field, f"expected a value >= 0, got {out}", "pass a non-negative value")
    return out


def _is_nan(value: Any) -> bool:
    real = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    return real and math.isnan(float(value))


def nan_or_unit(owner: str, field: str, value: Any) -> float:
    """A score in [0, 1], or NaN as the documented 'not computed' sentinel."""
    return float("nan") if _is_nan(value) else probability(owner, field, value)


def nan_or_non_negative(owner: str, field: str, value: Any) -> float:
    return float("nan") if _is_nan(value) else non_negative(owner, field, value)


def interval(owner: str, field: str, value: Any) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise fail(owner, field, f"expected a (low, high) pair, got {value!r}", "pass a 2-tuple")
    low = finite_float(owner, f"{field}[0]", value[0])
    high = finite_float(owner, f"{field}[1]", value[1])
    if low > high:
        raise fail(owner, field, f"low {low} exceeds high {high}", "order the interval as (low, high)")
    return (low, high)


def integer(owner: str, field: str, value: Any, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise fail(owner, field, f"expected an int, got {value!r}", "pass an integer")
    out = int(value)
    if minimum is not None and out < minimum:
        raise fail(owner, field, f"expected an int >= {minimum}, got {out}", f"pass a value >= {minimum}")
    return out


def frozen_array(
    owner: str, field: str, value: Any, *, ndim: tuple[int, ...] = (1,), finite: bool = True
) -> np.ndarray:
    """A read-only float copy of ``value`` with the allowed number of dimensions."""
    if not isinstance(value, np.ndarray):
        raise fail(owner, field, f"expected a numpy array, got {type(value).__name__}", "pass np.asarray(...)")
    if value.ndim not in ndim:
        raise fail(owner, field, f"expected ndim in {ndim}, got shape {value.shape}", "reshape the array")
    out = np.array(value, copy=True)
    if out.dtype.kind in "biuf":
        out = out.astype(np.float64 if out.dtype.kind != "f" else out.dtype, copy=False)
        if finite and not np.all(np.isfinite(out)):
            first = int(np.flatnonzero(~np.isfinite(out.reshape(len(out), -1)).all(axis=1))[0])
            raise fail(owner, field, f"non-finite value at row {first}", "drop or impute the bad rows")
    out.flags.writeable = False
    return out


def frozen_mapping(owner: str, field: str, value: Any) -> Mapping[str, float]:
    if not isinstance(value, Mapping):
        raise fail(owner, field, f"expected a mapping, got {type(value).__name__}", "pass a dict")
    out = {}
    for key, item in value.items():
        non_empty_str(owner, f"{field} key", key)
        out[key] = finite_float(owner, f"{field}[{key!r}]", item)
    return MappingProxyType(out)


def instance(owner: str, field: str, value: Any, kind: type | tuple[type, ...]) -> Any:
    if not isinstance(value, kind):
        names = kind.__name__ if isinstance(kind, type) else " | ".join(k.__name__ for k in kind)
        raise fail(owner, field, f"expected {names}, got {type(value).__name__}", f"pass a {names}")
    return value


def set_field(obj: object, name: str, value: Any) -> None:
    """Normalise a field of a frozen dataclass inside ``__post_init__``."""
    object.__setattr__(obj, name, value)
