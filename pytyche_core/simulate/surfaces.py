"""Building blocks for potential-outcome surfaces.

Each helper returns a ``SurfaceConfig`` whose function maps the feature frame
(n rows) to an array of shape ``(n,)``. Helpers that take surfaces also take
plain numbers, read as constant surfaces, so ``add_surfaces(base, 0.1)``
works. Names compose, so an error about a bad surface can say what it was.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import special

from .config import SurfaceConfig

SurfaceLike = SurfaceConfig | float


def _as_surface(value: SurfaceLike) -> SurfaceConfig:
    if isinstance(value, SurfaceConfig):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return constant_surface(float(value))
    raise TypeError(f"expected a SurfaceConfig or a number, got {type(value).__name__}. "
                    "Fix: wrap the function in SurfaceConfig(fn=...).")


def _evaluate(surface: SurfaceConfig, features: pd.DataFrame) -> np.ndarray:
    return np.asarray(surface.fn(features), dtype=float)


def constant_surface(value: float) -> SurfaceConfig:
    """The same ``value`` for every visitor."""
    value = float(value)
    return SurfaceConfig(fn=lambda features: np.full(len(features), value), name=f"{value:g}")


def feature_surface(name: str) -> SurfaceConfig:
    """A numeric (or bool) feature column as a float array; cluster ids work too."""

    def read(features: pd.DataFrame) -> np.ndarray:
        if name not in features.columns:
            raise KeyError(f"feature_surface({name!r}): no such column (columns: "
                           f"{list(features.columns)}). Fix: name an existing feature.")
        column = features[name]
        if not (pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype)):
            raise TypeError(f"feature_surface({name!r}): column has dtype {column.dtype}, not a number. "
                            "Fix: map categories to numbers in a SurfaceConfig of your own.")
        return column.to_numpy(dtype=float)

    return SurfaceConfig(fn=read, name=name)


def _combine(surfaces: tuple[SurfaceLike, ...], op: Callable[[np.ndarray, np.ndarray], np.ndarray],
             symbol: str, caller: str) -> SurfaceConfig:
    parts = [_as_surface(s) for s in surfaces]
    if not parts:
        raise ValueError(f"{caller}: no surfaces given. Fix: pass at least one surface.")

    def combined(features: pd.DataFrame) -> np.ndarray:
        return functools.reduce(op, (_evaluate(part, features) for part in parts))

    return SurfaceConfig(fn=combined, name="(" + f" {symbol} ".join(p.name for p in parts) + ")")


def add_surfaces(*surfaces: SurfaceLike) -> SurfaceConfig:
    """Element-wise sum of one or more surfaces."""
    return _combine(surfaces, np.add, "+", "add_surfaces")


def multiply_surfaces(*surfaces: SurfaceLike) -> SurfaceConfig:
    """Element-wise product of one or more surfaces."""
    return _combine(surfaces, np.multiply, "*", "multiply_surfaces")


def scale_surface(surface: SurfaceLike, factor: float) -> SurfaceConfig:
    """``factor`` times a surface."""
    inner = _as_surface(surface)
    factor = float(factor)
    return SurfaceConfig(fn=lambda features: factor * _evaluate(inner, features),
                         name=f"{factor:g}*{inner.name}")


def sigmoid_surface(surface: SurfaceLike) -> SurfaceConfig:
    """The logistic function of a surface: a log-odds surface becomes a probability in (0, 1)."""
    inner = _as_surface(surface)
    return SurfaceConfig(fn=lambda features: special.expit(_evaluate(inner, features)),
                         name=f"sigmoid({inner.name})")


def threshold_surface(surface: SurfaceLike, cutoff: float, above: float, below: float) -> SurfaceConfig:
    """A step: ``above`` where the surface exceeds ``cutoff`` (strictly), else ``below``."""
    inner = _as_surface(surface)
    cutoff, above, below = float(cutoff), float(above), float(below)
    return SurfaceConfig(
        fn=lambda features: np.where(_evaluate(inner, features) > cutoff, above, below),
        name=f"step({inner.name} > {cutoff:g} ? {above:g} : {below:g})",
    )


__all__ = [
    "add_surfaces",
    "constant_surface",
    "feature_surface",
    "multiply_surfaces",
    "scale_surface",
    "sigmoid_surface",
    "threshold_surface",
]
