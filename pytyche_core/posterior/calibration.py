"""Interval calibration against simulated truth (docs/concepts/calibration.md).

A posterior interval is calibrated when its nominal level matches how often
it holds the truth. Simulation tells us the truth, so from R replicates
(simulate, fit, compare the draws with the true effects) we measure the
empirical coverage ``c(p)`` of central level-``p`` intervals on a grid of
levels, and fit two corrections:

- **remap** ``R = c^-1``: to report a calibrated level-``p`` interval, take
  the raw level-``R(p)`` interval. Applied to draws, each unit's draws are
  moved by a monotone map of their within-unit rank (``calibrate_draws``).
- **scale** ``s >= 1``: widen every unit's draws around its posterior median
  by ``s``, with ``s`` the smallest factor whose empirical coverage at the
  target level reaches nominal.

The artifact (``IntervalCalibration``) stores the grid, ``c(p)``, ``R``,
``s`` and where they came from, as one versioned JSON file.
``apply_calibration`` returns a calibrated copy of a fitted result;
``pytyche_core.experiment.run_calibration`` makes the replicates with the simulator and ``pt.fit``.

Intervals throughout are central: ``[Q(0.5 - p/2), Q(0.5 + p/2)]`` with
``Q`` numpy's default (linear) empirical quantile of a unit's draws.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..atomic import atomic_path
from ..contracts._checks import fail, finite_float, integer, non_empty_str, probability, set_field

if TYPE_CHECKING:
    from .results import BCFResult

#: The grid of nominal levels a calibration is fitted on.
DEFAULT_LEVELS: tuple[float, ...] = (*(round(0.05 * i, 2) for i in range(1, 20)), 0.975, 0.99)
#: The highest raw level the remap may ask for: an interval at level 1 would be the draws' range.
REMAP_CAP = 0.995
#: The JSON format this module writes and reads.
FILE_FORMAT = "pytyche.interval_calibration"
FORMAT_VERSION = 1
TARGETS = ("visitor", "average")
METHODS = ("remap", "scale")
_BLOCK = 16_384
_OWNER = "IntervalCalibration"


class CalibrationFileError(ValueError):
    """A file or JSON text that is not a readable interval calibration (format, version, fields)."""


# -- coverage -----------------------------------------------------------------------------------

def _as_units(samples: Any, truth: Any, where: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate draws ``(m, S)`` (or ``(m, S, 1)``) and truth ``(m,)`` (or ``(m, 1)``); float64 copies."""
    draws = np.asarray(samples, dtype=np.float64)
    target = np.asarray(truth, dtype=np.float64)
    if draws.ndim == 3 and draws.shape[2] == 1:
        draws = draws[:, :, 0]
    if target.ndim == 2 and target.shape[1] == 1:
        target = target[:, 0]
    if draws.ndim != 2 or target.ndim != 1 or draws.shape[0] != target.shape[0]:
        raise ValueError(f"{where}: draws {np.shape(samples)} and truth {np.shape(truth)} do not pair. Fix: pass "
                         "draws (m, S) with truth (m,), one row per unit (a single contrast: K = 2).")
    if draws.shape[0] == 0 or draws.shape[1] < 2:
        raise ValueError(f"{where}: draws {draws.shape} hold no units or fewer than 2 draws per unit. Fix: pass "
                         "at least one unit with several posterior draws.")
    if not (np.isfinite(draws).all() and np.isfinite(target).all()):
        raise ValueError(f"{where}: non-finite draws or truth. Fix: drop the units with NaN or inf values.")
    return draws, target


def _levels(levels: Any, where: str) -> np.ndarray:
    grid = np.asarray(levels, dtype=np.float64)
    if grid.ndim != 1 or grid.size == 0 or not np.isfinite(grid).all() or (grid <= 0).any() \
            or (grid >= 1).any() or (np.diff(grid) <= 0).any():
        raise ValueError(f"{where}: levels {levels!r} are not increasing values in (0, 1). Fix: pass a grid "
                         "such as DEFAULT_LEVELS.")
    return grid


def _central_quantiles(draws: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper ends of the central intervals, each ``(m, L)``."""
    probs = np.concatenate([0.5 - levels / 2, 0.5 + levels / 2])
    q = np.quantile(draws, probs, axis=1).T
    return q[:, : levels.size], q[:, levels.size:]


def coverage_curve(samples: np.ndarray, truth: np.ndarray, levels: Sequence[float] = DEFAULT_LEVELS) -> np.ndarray:
    """Empirical coverage of the central intervals: the share of units whose level-p interval holds the truth.

    ``samples``: posterior draws ``(m, S)`` of m units (visitors, or average
    effects of m replicates); ``truth``: ``(m,)``; ``levels``: ``(L,)`` nominal
    levels in (0, 1). Returns float64 ``(L,)``, non-decreasing (the intervals
    are nested).
    """
    draws, target = _as_units(samples, truth, "coverage_curve")
    grid = _levels(levels, "coverage_curve")
    covered = np.zeros(grid.size, dtype=np.int64)
    for start in range(0, draws.shape[0], _BLOCK):
        low, high = _central_quantiles(draws[start:start + _BLOCK], grid)
        t = target[start:start + _BLOCK, None]
        covered += ((low <= t) & (t <= high)).sum(axis=0)
    return covered / draws.shape[0]


def _pooled_coverage(pairs: list[tuple[np.ndarray, np.ndarray]], grid: np.ndarray) -> np.ndarray:
    counts = [coverage_curve(d, t, grid) * d.shape[0] for d, t in pairs]
    return np.sum(counts, axis=0) / sum(d.shape[0] for d, _ in pairs)


def _remap_from_coverage(levels: np.ndarray, coverage: np.ndarray, cap: float) -> np.ndarray:
    """``R(p) = c^-1(p)`` on the grid: linear inverse interpolation of ``(0, 0), (c_j, p_j), (1, 1)``, capped.

    Where ``c`` is flat, the inverse takes the smallest level reaching that coverage.
    """
    x = np.concatenate([[0.0], np.maximum.accumulate(coverage), [1.0]])
    y = np.concatenate([[0.0], levels, [1.0]])
    x_unique, first = np.unique(x, return_index=True)
    return np.minimum(np.interp(levels, x_unique, y[first]), cap)


def _required_scales(draws: np.ndarray, truth: np.ndarray, level: float) -> np.ndarray:
    """Per unit, the smallest widening around the median whose level-``level`` interval holds the truth."""
    low, med, high = np.quantile(draws, [0.5 - level / 2, 0.5, 0.5 + level / 2], axis=1)
    dev = truth - med
    width = np.where(dev >= 0, high - med, med - low)
    with np.errstate(divide="ignore", invalid="ignore"):
        need = np.where(width > 0, np.abs(dev) / width, np.inf)
    return np.where(dev == 0, 0.0, need)


def _fit_scale(pairs: list[tuple[np.ndarray, np.ndarray]], level: float) -> float:
    need = np.concatenate([_required_scales(d, t, level) for d, t in pairs])
    factor = float(np.quantile(need, level, method="inverted_cdf"))
    if not math.isfinite(factor):
        raise ValueError(f"fit_interval_calibration: more than {1 - level:.0%} of the units have posteriors of "
                         "zero width on the side of their truth, so no widening reaches the target coverage. "
                         "Fix: check the draws (a constant effect?) or calibrate average effects.")
    return max(1.0, factor)


# -- the artifact -------------------------------------------------------------------------------

def _json_scalar(owner: str, field: str, value: Any) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    return finite_float(owner, field, value)


@dataclasses.dataclass(frozen=True)
class CalibrationProvenance:
    """Where a calibration came from: scenarios, seeds, sizes, sampler settings, when and by which version.

    ``n_units`` counts the (replicate, unit) pairs it was fitted on;
    ``config`` is a flat mapping of JSON scalars (e.g. the ``BCFConfig`` fields).
    """

    scenarios: tuple[str, ...]
    seeds: tuple[int, ...]
    n_visitors: int | None
    n_replicates: int
    n_units: int
    n_draws: int
    config: Mapping[str, Any]
    created_at: str
    pytyche_version: str
    note: str = ""

    def __post_init__(self) -> None:
        owner = "CalibrationProvenance"
        if isinstance(self.scenarios, str) or not all(isinstance(s, str) and s for s in self.scenarios):
            raise fail(owner, "scenarios", f"got {self.scenarios!r}", "pass a tuple of scenario labels")
        set_field(self, "scenarios", tuple(self.scenarios))
        set_field(self, "seeds", tuple(integer(owner, "seeds[]", s, minimum=0) for s in self.seeds))
        if self.n_visitors is not None:
            set_field(self, "n_visitors", integer(owner, "n_visitors", self.n_visitors, minimum=1))
        for name in ("n_replicates", "n_units", "n_draws"):
            set_field(self, name, integer(owner, name, getattr(self, name), minimum=1))
        if not isinstance(self.config, Mapping):
            raise fail(owner, "config", f"expected a mapping, got {type(self.config).__name__}",
                       "pass the sampler settings as a dict")
        set_field(self, "config", {non_empty_str(owner, "config key", k): _json_scalar(owner, f"config[{k!r}]", v)
                                   for k, v in self.config.items()})
        try:
            datetime.fromisoformat(non_empty_str(owner, "created_at", self.created_at))
        except ValueError:
            raise fail(owner, "created_at", f"{self.created_at!r} is not an ISO timestamp",
                       "pass datetime.now(UTC).isoformat()") from None
        non_empty_str(owner, "pytyche_version", self.pytyche_version)
        if not isinstance(self.note, str):
            raise fail(owner, "note", f"got {self.note!r}", "pass a string")

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return out | {"config": dict(self.config), "scenarios": list(self.scenarios), "seeds": list(self.seeds)}


@dataclasses.dataclass(frozen=True)
class IntervalCalibration:
    """A fitted interval correction (docs/concepts/calibration.md): the artifact ``apply_calibration`` uses.

    - ``levels`` ``(L,)``: the nominal grid; ``coverage`` ``(L,)``: the empirical
      coverage ``c(p)`` of raw central intervals (non-decreasing);
    - ``remap`` ``(L,)``: ``R(p_j) = c^-1(p_j)``, the raw level whose interval is
      the calibrated level-``p_j`` one (non-decreasing, at most ``remap_cap``);
    - ``scale``: the widening factor ``s >= 1`` around each unit's median that
      brings coverage at ``target_level`` to nominal;
    - ``target``: ``"visitor"`` (per-visitor effects) or ``"average"`` (each
      replicate's population-average effect);
    - ``method``: the correction ``apply_calibration`` uses when none is named;
    - ``fitted_coverage``: in-sample coverage at ``target_level`` of the raw,
      remapped and scaled draws (keys ``raw``, ``remap``, ``scale``);
    - ``provenance``: scenarios, seeds and settings the replicates came from.
    """

    levels: tuple[float, ...]
    coverage: tuple[float, ...]
    remap: tuple[float, ...]
    scale: float
    provenance: CalibrationProvenance
    target_level: float = 0.8
    target: str = "visitor"
    method: str = "remap"
    remap_cap: float = REMAP_CAP
    fitted_coverage: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        grid = self._grid("levels", self.levels, strict=True)
        for name in ("coverage", "remap"):
            values = self._grid(name, getattr(self, name), strict=False)
            if values.size != grid.size:
                raise fail(_OWNER, name, f"{values.size} values for {grid.size} levels", "pass one per level")
        set_field(self, "remap_cap", probability(_OWNER, "remap_cap", self.remap_cap, open_interval=True))
        if max(self.remap) > self.remap_cap:
            raise fail(_OWNER, "remap", f"exceeds remap_cap {self.remap_cap}", "cap R(p) just below 1")
        scale = finite_float(_OWNER, "scale", self.scale)
        if scale < 1.0:
            raise fail(_OWNER, "scale", f"{scale} < 1", "the scale family only widens: pass s >= 1")
        set_field(self, "scale", scale)
        set_field(self, "target_level", probability(_OWNER, "target_level", self.target_level, open_interval=True))
        for name, allowed in (("target", TARGETS), ("method", METHODS)):
            if getattr(self, name) not in allowed:
                raise fail(_OWNER, name, f"got {getattr(self, name)!r}", f"use one of {list(allowed)}")
        if not isinstance(self.provenance, CalibrationProvenance):
            raise fail(_OWNER, "provenance", f"got {type(self.provenance).__name__}",
                       "pass a CalibrationProvenance (fit_interval_calibration builds one)")
        if not isinstance(self.fitted_coverage, Mapping):
            raise fail(_OWNER, "fitted_coverage", f"got {type(self.fitted_coverage).__name__}", "pass a dict")
        set_field(self, "fitted_coverage", {non_empty_str(_OWNER, "fitted_coverage key", k):
                                            probability(_OWNER, f"fitted_coverage[{k!r}]", v)
                                            for k, v in self.fitted_coverage.items()})

    def _grid(self, name: str, values: Any, *, strict: bool) -> np.ndarray:
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)) or len(values) < 2:
            raise fail(_OWNER, name, f"got {values!r}", "pass a sequence of at least 2 levels")
        out = tuple(finite_float(_OWNER, f"{name}[]", v) for v in values)
        arr = np.asarray(out)
        low_ok = (arr > 0).all() if strict else (arr >= 0).all()
        high_ok = (arr < 1).all() if strict else (arr <= 1).all()
        steps = np.diff(arr)
        if not (low_ok and high_ok) or ((steps <= 0).any() if strict else (steps < 0).any()):
            order = "increasing" if strict else "non-decreasing"
            raise fail(_OWNER, name, f"{list(out)} is not {order} within [0, 1]",
                       "refit with fit_interval_calibration")
        set_field(self, name, out)
        return arr

    # -- evaluation -----------------------------------------------------------------------------
    def remap_level(self, level: float | np.ndarray) -> float | np.ndarray:
        """``R(p)`` for any ``p`` in [0, 1]: linear between the grid points, 0 at 0 and ``remap_cap`` at 1."""
        p = np.asarray(level, dtype=np.float64)
        if not (np.isfinite(p).all() and (p >= 0).all() and (p <= 1).all()):
            raise ValueError(f"remap_level: {level!r} is not a level in [0, 1]. Fix: pass a probability.")
        out = np.interp(p, [0.0, *self.levels, 1.0], [0.0, *self.remap, self.remap_cap])
        return float(out) if out.ndim == 0 else out

    def coverage_at(self, level: float) -> float:
        """The raw posterior's empirical coverage ``c(p)`` at ``level`` (linear between grid points)."""
        return float(np.interp(level, [0.0, *self.levels, 1.0], [0.0, *self.coverage, 1.0]))

    # -- JSON -----------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types, with the file format and version."""
        return {"format": FILE_FORMAT, "format_version": FORMAT_VERSION, "levels": list(self.levels),
                "coverage": list(self.coverage), "remap": list(self.remap), "remap_cap": self.remap_cap,
                "scale": self.scale, "target_level": self.target_level, "target": self.target,
                "method": self.method, "fitted_coverage": dict(self.fitted_coverage),
                "provenance": self.provenance.to_dict()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, payload: Any) -> IntervalCalibration:
        """Read ``to_dict`` output; raises ``CalibrationFileError`` naming what is wrong."""
        if not isinstance(payload, dict):
            raise CalibrationFileError(f"interval calibration: expected a JSON object, got "
                                       f"{type(payload).__name__}. Fix: pass a file written by "
                                       "IntervalCalibration.save.")
        if payload.get("format") != FILE_FORMAT:
            raise CalibrationFileError(f"interval calibration: format {payload.get('format')!r}, expected "
                                       f"{FILE_FORMAT!r}. Fix: pass a file written by IntervalCalibration.save.")
        if payload.get("format_version") != FORMAT_VERSION:
            raise CalibrationFileError(f"interval calibration: format_version {payload.get('format_version')!r}, "
                                       f"this pytyche reads {FORMAT_VERSION}. Fix: refit the calibration with "
                                       "this version (run_calibration).")
        fields = {f.name for f in dataclasses.fields(cls)}
        body = {k: v for k, v in payload.items() if k not in ("format", "format_version")}
        unknown, missing = sorted(set(body) - fields), sorted(fields - set(body))
        if unknown or missing:
            raise CalibrationFileError(f"interval calibration: unknown fields {unknown}, missing fields "
                                       f"{missing}. Fix: pass an unedited file written by IntervalCalibration.save.")
        try:
            prov = body["provenance"]
            if not isinstance(prov, dict):
                raise TypeError(f"provenance is a {type(prov).__name__}, not an object")
            body["provenance"] = CalibrationProvenance(**prov)
            return cls(**body)
        except (TypeError, ValueError) as err:
            raise CalibrationFileError(f"interval calibration: invalid content: {err}") from err

    @classmethod
    def from_json(cls, text: str | bytes) -> IntervalCalibration:
        try:
            payload = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise CalibrationFileError(f"interval calibration: not valid JSON ({err}). Fix: pass the text "
                                       "written by IntervalCalibration.to_json.") from err
        return cls.from_dict(payload)

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write ``to_json()`` to ``path``; refuses to replace a file unless ``overwrite=True``."""
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} already exists. Fix: pass overwrite=True or choose another path.")
        with atomic_path(path) as temporary:
            temporary.write_text(self.to_json() + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> IntervalCalibration:
        try:
            text = Path(path).read_bytes()
        except OSError as err:
            raise CalibrationFileError(f"{path}: cannot be read ({err}). Fix: pass the path of a saved "
                                       "calibration.") from err
        try:
            return cls.from_json(text)
        except CalibrationFileError as err:
            raise CalibrationFileError(f"{path}: {err}") from err


# -- fitting ------------------------------------------------------------------------------------

def _config_summary(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        return dataclasses.asdict(config)
    if isinstance(config, Mapping):
        return dict(config)
    raise TypeError(f"config: expected a BCFConfig or a dict, got {type(config).__name__}")


def _version() -> str:
    from .. import __version__

    return __version__


def fit_interval_calibration(samples_list: Sequence[np.ndarray], truth_list: Sequence[np.ndarray], *,
                             levels: Sequence[float] = DEFAULT_LEVELS, target_level: float = 0.8,
                             target: str = "visitor", method: str | None = None,
                             scenarios: Sequence[str] = ("unspecified",), seeds: Sequence[int] = (),
                             n_visitors: int | None = None, config: Any = None,
                             note: str = "") -> IntervalCalibration:
    """Fit both corrections on replicates: draws ``(m_r, S)`` vs truth ``(m_r,)`` for each replicate r.

    Units of all replicates are pooled (each replicate may have its own m_r
    and S). ``target`` says what the units are (``"visitor"`` effects or each
    replicate's ``"average"`` effect); ``method`` defaults to ``"remap"`` for
    visitors and ``"scale"`` for averages (see ``apply_calibration``).
    ``scenarios``, ``seeds``, ``n_visitors``, ``config`` and ``note`` are
    recorded as provenance. Units within one replicate share the fit's
    errors, so the coverage estimate is as good as the number of replicates.
    """
    if target not in TARGETS:
        raise ValueError(f"fit_interval_calibration: target {target!r}. Fix: use one of {list(TARGETS)}.")
    method = ("remap" if target == "visitor" else "scale") if method is None else method
    if isinstance(samples_list, np.ndarray) or isinstance(truth_list, np.ndarray) \
            or len(samples_list) != len(truth_list) or not samples_list:
        raise ValueError("fit_interval_calibration: pass equal-length lists of draws and truths, one per "
                         "replicate (wrap a single replicate in a list).")
    pairs = [_as_units(d, t, f"fit_interval_calibration (replicate {r})")
             for r, (d, t) in enumerate(zip(samples_list, truth_list, strict=True))]
    grid = _levels(levels, "fit_interval_calibration")
    level = probability("fit_interval_calibration", "target_level", target_level, open_interval=True)
    coverage = np.maximum.accumulate(_pooled_coverage(pairs, grid))
    remap = _remap_from_coverage(grid, coverage, REMAP_CAP)
    scale = _fit_scale(pairs, level)
    provenance = CalibrationProvenance(
        scenarios=tuple(scenarios), seeds=tuple(seeds), n_visitors=n_visitors, n_replicates=len(pairs),
        n_units=sum(d.shape[0] for d, _ in pairs), n_draws=min(d.shape[1] for d, _ in pairs),
        config=_config_summary(config), created_at=datetime.now(UTC).isoformat(),
        pytyche_version=_version(), note=note)
    draft = IntervalCalibration(levels=tuple(grid), coverage=tuple(coverage), remap=tuple(remap), scale=scale,
                                provenance=provenance, target_level=level, target=target, method=method)
    fitted = {"raw": float(np.interp(level, grid, coverage))}
    for name in METHODS:
        fitted[name] = float(_pooled_coverage([(calibrate_draws(d, draft, method=name), t) for d, t in pairs],
                                              np.array([level]))[0])
    return dataclasses.replace(draft, fitted_coverage=fitted)


# -- applying to draws --------------------------------------------------------------------------

def _rank_targets(n_draws: int, calibration: IntervalCalibration) -> np.ndarray:
    """Where the draw of rank r (0-based) goes, as a quantile level of the raw draws, ``(S,)``.

    Rank r sits at level ``u = r / (S - 1)`` (numpy's linear quantile
    positions); its central level ``|2u - 1|`` becomes ``R(|2u - 1|)`` on the
    same side of the median.
    """
    u = np.arange(n_draws) / (n_draws - 1)
    return 0.5 + np.sign(u - 0.5) * calibration.remap_level(np.abs(2 * u - 1)) / 2


def _remap_rows(draws: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Replace every row's draw of rank r by the row's raw quantile at level ``positions[r]``."""
    order = np.argsort(draws, axis=1, kind="stable")
    ordered = np.take_along_axis(draws, order, axis=1)
    at = positions * (draws.shape[1] - 1)
    lo = np.floor(at).astype(np.int64)
    hi = np.minimum(lo + 1, draws.shape[1] - 1)
    w = at - lo
    moved = ordered[:, lo] * (1 - w) + ordered[:, hi] * w
    out = np.empty_like(draws)
    np.put_along_axis(out, order, moved, axis=1)
    return out


def _scale_rows(draws: np.ndarray, factor: float) -> np.ndarray:
    med = np.median(draws, axis=1, keepdims=True)
    return med + factor * (draws - med)


def _resolve_method(calibration: IntervalCalibration, method: str | None) -> str:
    method = calibration.method if method is None else method
    if method not in METHODS:
        raise ValueError(f"calibration method {method!r}. Fix: use one of {list(METHODS)} (None: the "
                         f"artifact's default, {calibration.method!r}).")
    return method


def calibrate_draws(samples: np.ndarray, calibration: IntervalCalibration, method: str | None = None) -> np.ndarray:
    """Calibrated draws, float32, the shape of ``samples``: ``(n, S, K-1)`` or ``(m, S)``; draws on axis 1.

    - ``"scale"``: ``median + s (draw - median)`` per unit (and contrast).
    - ``"remap"``: per unit, the draw of rank r (level ``u = r/(S-1)``, the
      positions numpy's linear quantile uses) is replaced by the unit's raw
      quantile at level ``1/2 +- R(|2u - 1|)/2`` on its own side of the
      median. The map is monotone in the draw, so it keeps every draw's rank
      (and the draw index, hence the joint structure across visitors and
      contrasts); the new central level-p interval is the raw level-R(p)
      one, exactly at the rank positions and linearly between them. It can
      only move draws within the range of the raw draws, which is why ``R``
      is capped below 1.

    ``method=None`` uses ``calibration.method``. Units are processed in
    blocks, so memory stays a small multiple of one block.
    """
    if not isinstance(calibration, IntervalCalibration):
        raise TypeError(f"calibrate_draws: expected an IntervalCalibration, got {type(calibration).__name__}")
    method = _resolve_method(calibration, method)
    arr = np.asarray(samples)
    if arr.ndim not in (2, 3) or arr.shape[1] < 2 or arr.size == 0:
        raise ValueError(f"calibrate_draws: draws of shape {arr.shape}. Fix: pass (n, S, K-1) or (m, S) with "
                         "S >= 2 draws on axis 1.")
    if not np.isfinite(arr).all():
        raise ValueError("calibrate_draws: non-finite draws. Fix: pass finite posterior draws.")
    rows = np.moveaxis(arr, 1, -1).reshape(-1, arr.shape[1])  # (units, S)
    positions = _rank_targets(arr.shape[1], calibration) if method == "remap" else None
    out = np.empty(rows.shape, dtype=np.float32)
    for start in range(0, rows.shape[0], _BLOCK):
        block = rows[start:start + _BLOCK].astype(np.float64)
        out[start:start + _BLOCK] = (_remap_rows(block, positions) if method == "remap"
                                     else _scale_rows(block, calibration.scale))
    moved = out.reshape(*np.moveaxis(arr, 1, -1).shape)
    return np.ascontiguousarray(np.moveaxis(moved, -1, 1))


def split_calibrated_parts(total: np.ndarray, calibrated: np.ndarray, conversion: np.ndarray,
                           order_value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Hurdle parts that add up to the calibrated total, all ``(n, S, K-1)``.

    The change of each draw, ``calibrated - total``, is shared between the two
    parts by their regression on the total across the unit's draws:
    ``beta = cov(conversion, total) / var(total)`` goes to the conversion part
    and ``1 - beta`` to the order-value part (``beta = 1/2`` when the total does
    not vary). The parts keep adding up exactly, and the spread each carries
    along the total widens as the total does. Returns float32 arrays.
    """
    t = total.astype(np.float64)
    c = conversion.astype(np.float64)
    centred = t - t.mean(axis=1, keepdims=True)
    var = (centred**2).mean(axis=1, keepdims=True)
    cov = (centred * (c - c.mean(axis=1, keepdims=True))).mean(axis=1, keepdims=True)
    beta = np.where(var > 0, cov / np.where(var > 0, var, 1.0), 0.5)
    change = calibrated.astype(np.float64) - t
    new_conversion = c + beta * change
    new_order = calibrated.astype(np.float64) - new_conversion
    return new_conversion.astype(np.float32), new_order.astype(np.float32)


# -- applying to a fitted result ----------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class AppliedCalibration:
    """A calibration as a result carries it: the artifact and the method applied (``remap`` / ``scale``)."""

    calibration: IntervalCalibration
    method: str

    def draws(self, samples: np.ndarray) -> np.ndarray:
        """``samples`` corrected: ``calibrate_draws(samples, calibration, method)``."""
        return calibrate_draws(samples, self.calibration, self.method)

    def effects(self, raw: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """A result's training effects corrected; a hurdle's parts still add up to the total."""
        out = {"total": self.draws(raw["total"])}
        if "conversion" in raw:
            out["conversion"], out["order_value"] = split_calibrated_parts(
                raw["total"], out["total"], raw["conversion"], raw["order_value"])
        return out


def apply_calibration(result: BCFResult, calibration: IntervalCalibration, *,
                      method: str | None = None) -> BCFResult:
    """A calibrated shallow copy of ``result`` (same type); ``result`` itself is left unchanged.

    The copy's ``cate_samples`` are ``calibrate_draws(result.cate_samples,
    calibration, method)``; ``is_calibrated`` is True; ``calibration`` and
    ``calibration_method`` say what was applied; ``predict`` applies the same
    correction to new visitors' draws. For a hurdle result the conversion and
    order-value parts are adjusted by ``split_calibrated_parts`` so they still
    add up to the calibrated total. ``method=None`` uses the artifact's.

    At K >= 3 every treatment's contrast gets the same correction: fit the
    artifact on replicates with as many arms (``run_calibration(..., k=3)``
    pools their contrasts). Raises ValueError for a result already calibrated, and ValueError
    for ``"remap"`` with an ``"average"`` artifact (a per-visitor rank map
    does not carry over to averages; the scale family does, linearly).
    Diagnostics and persistence still see the raw sampler output; a
    calibrated result cannot be saved (save the raw one and re-apply).
    """
    with_calibration = getattr(result, "with_calibration", None)
    if with_calibration is None:
        raise TypeError(f"apply_calibration: expected a fitted BCF result, got {type(result).__name__}")
    if not isinstance(calibration, IntervalCalibration):
        raise TypeError(f"apply_calibration: expected an IntervalCalibration, got {type(calibration).__name__}. "
                        "Fix: fit one with run_calibration or load one with IntervalCalibration.load.")
    if result.is_calibrated:
        raise ValueError("apply_calibration: this result is already calibrated. Fix: apply the calibration to "
                         "the raw result it was made from.")
    method = _resolve_method(calibration, method)
    if method == "remap" and calibration.target == "average":
        raise ValueError("apply_calibration: 'remap' was fitted on average effects, and a per-visitor rank map "
                         "does not carry over to averages of visitors. Fix: use method='scale', or an artifact "
                         "fitted with target='visitor'.")
    return with_calibration(AppliedCalibration(calibration, method))


__all__ = ["DEFAULT_LEVELS", "FORMAT_VERSION", "REMAP_CAP", "AppliedCalibration", "CalibrationFileError",
           "CalibrationProvenance",
           "IntervalCalibration", "apply_calibration", "calibrate_draws", "coverage_curve",
           "fit_interval_calibration", "split_calibrated_parts"]
