"""Potential outcomes: what every visitor would do under every arm.

``compute_potential_outcomes`` evaluates the surfaces of a ``MetricMode`` on
the feature frame and returns a ``PotentialOutcomes``: per visitor and arm,
the conversion probability and (revenue per visitor) the expected order
value given conversion. Rows are in the order of the feature frame
(generation order) until someone reorders them with ``take``.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ..contracts import CartRevenueConfig, metric_family
from ..contracts._checks import fail, set_field
from ..contracts.schema import MetricFamily
from .cart import expected_cart_revenue
from .config import LATENT_CLUSTER_COLUMN, MetricMode, SurfaceConfig

_HURDLE_FIELDS = ("order_value", "severity", "sigma")
_FRAME_VALUE_COLUMNS = ("conversion", *_HURDLE_FIELDS)


def _arm_matrix(field: str, value: object, shape: tuple[int, int] | None) -> np.ndarray:
    owner = "PotentialOutcomes"
    if not isinstance(value, np.ndarray):
        raise fail(owner, field, f"expected a numpy array, got {type(value).__name__}", "pass an (n, K) array")
    out = np.array(value, dtype=float, copy=True)
    if out.ndim != 2 or out.shape[1] < 2:
        raise fail(owner, field, f"shape {out.shape}", "pass one column per arm, (n, K) with K >= 2")
    if shape is not None and out.shape != shape:
        raise fail(owner, field, f"shape {out.shape} but conversion has {shape}", "use the same visitors and arms")
    bad = ~np.isfinite(out)
    if bad.any():
        row, arm = np.argwhere(bad)[0]
        raise fail(owner, field, f"non-finite value at visitor {row}, arm {arm}", "never store NaN or inf outcomes")
    out.flags.writeable = False
    return out


def _check_range(field: str, values: np.ndarray, *, positive: bool) -> None:
    bad = values <= 0 if positive else (values < 0) | (values > 1)
    if bad.any():
        row, arm = np.argwhere(bad)[0]
        need = "> 0" if positive else "in [0, 1]"
        raise fail("PotentialOutcomes", field, f"{values[row, arm]!r} at visitor {row}, arm {arm} is not {need}",
                   f"keep every {field} value {need}")


@dataclasses.dataclass(frozen=True)
class PotentialOutcomes:
    """Per-visitor, per-arm potential outcomes (arm 0 = control).

    ``conversion``: ``(n, K)`` P(convert). For revenue per visitor, also
    ``order_value`` ``(n, K)``: expected order value given conversion as the
    truth uses it (the m surface for log-normal orders, the analytic expected
    cart for carts); ``severity`` ``(n, K)``: the raw m-surface values;
    ``sigma`` ``(n, K)``: the log-normal dispersion. All three are None for a
    conversion metric. ``latent_cluster`` ``(n,)``: the mixture sampler's
    cluster of each visitor, or None. Arrays are read-only copies.
    """

    metric_id: str
    conversion: np.ndarray
    order_value: np.ndarray | None = None
    severity: np.ndarray | None = None
    sigma: np.ndarray | None = None
    latent_cluster: np.ndarray | None = None

    def __post_init__(self) -> None:
        owner = "PotentialOutcomes"
        try:
            family = metric_family(self.metric_id)
        except ValueError as err:
            raise fail(owner, "metric_id", str(err), "use a known metric") from None
        conversion = _arm_matrix("conversion", self.conversion, None)
        _check_range("conversion", conversion, positive=False)
        set_field(self, "conversion", conversion)
        hurdle = family is MetricFamily.HURDLE_REAL
        for name in _HURDLE_FIELDS:
            value = getattr(self, name)
            if not hurdle:
                if value is not None:
                    raise fail(owner, name, f"set for {self.metric_id}", "leave order-value fields None")
                continue
            if value is None:
                raise fail(owner, name, f"missing for {self.metric_id}", "set order_value, severity and sigma")
            matrix = _arm_matrix(name, value, conversion.shape)
            _check_range(name, matrix, positive=True)
            set_field(self, name, matrix)
        if self.latent_cluster is not None:
            cluster = np.array(self.latent_cluster, copy=True)
            if cluster.shape != (len(conversion),) or cluster.dtype.kind not in "iu":
                raise fail(owner, "latent_cluster", f"shape {cluster.shape}, dtype {cluster.dtype}",
                           f"pass {len(conversion)} integer cluster ids")
            cluster = cluster.astype(np.int64)
            cluster.flags.writeable = False
            set_field(self, "latent_cluster", cluster)

    @property
    def n_visitors(self) -> int:
        return int(self.conversion.shape[0])

    @property
    def n_arms(self) -> int:
        return int(self.conversion.shape[1])

    @property
    def is_hurdle(self) -> bool:
        return self.order_value is not None

    def expected_outcome(self) -> np.ndarray:
        """Expected outcome per visitor and arm, ``(n, K)``: p*m (revenue per visitor) or p."""
        return self.conversion * self.order_value if self.is_hurdle else self.conversion

    def contrasts(self) -> np.ndarray:
        """True effect of each treatment vs control, ``(n, K-1)``: p_k m_k - p_0 m_0, or p_k - p_0."""
        mean = self.expected_outcome()
        return mean[:, 1:] - mean[:, :1]

    def decomposition(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(conversion part (p_k - p_0) m_0, order-value part p_k (m_k - m_0)), each ``(n, K-1)``.

        The parts add up to ``contrasts()``. None for a conversion metric.
        """
        if not self.is_hurdle:
            return None
        p, m = self.conversion, self.order_value
        return (p[:, 1:] - p[:, :1]) * m[:, :1], p[:, 1:] * (m[:, 1:] - m[:, :1])

    def take(self, index: np.ndarray) -> PotentialOutcomes:
        """The rows at ``index`` (integer positions), in that order: subset or reorder."""
        idx = np.asarray(index)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise ValueError(f"PotentialOutcomes.take: index must be 1-D integer positions, got shape "
                             f"{idx.shape}, dtype {idx.dtype}. Fix: pass np.flatnonzero(mask) for a mask.")
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < -self.n_visitors or idx.max() >= self.n_visitors):
            raise ValueError(f"PotentialOutcomes.take: index outside [0, {self.n_visitors}). "
                             "Fix: index rows of these outcomes.")

        def rows(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[idx]

        return PotentialOutcomes(self.metric_id, rows(self.conversion), rows(self.order_value),
                                 rows(self.severity), rows(self.sigma), rows(self.latent_cluster))

    # -- a table form, for storage ----------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """Long form: one row per (visitor row, arm), sorted by row then arm.

        Columns ``row``, ``arm`` (int64), ``conversion`` and, for revenue per
        visitor, ``order_value``, ``severity``, ``sigma`` (float64), plus
        ``latent_cluster`` (int64) when known. ``from_frame`` rebuilds the
        outcomes exactly. The schema does not depend on K.
        """
        n, k = self.conversion.shape
        data: dict[str, np.ndarray] = {
            "row": np.repeat(np.arange(n, dtype=np.int64), k),
            "arm": np.tile(np.arange(k, dtype=np.int64), n),
        }
        for name in _FRAME_VALUE_COLUMNS:
            value = getattr(self, name)
            if value is not None:
                data[name] = value.reshape(-1)
        if self.latent_cluster is not None:
            data["latent_cluster"] = np.repeat(self.latent_cluster, k)
        return pd.DataFrame(data)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, metric_id: str) -> PotentialOutcomes:
        """Rebuild outcomes from ``to_frame``'s long form (rows in any order)."""
        where = "PotentialOutcomes.from_frame"
        if not isinstance(frame, pd.DataFrame) or frame.empty:
            raise ValueError(f"{where}: expected a non-empty DataFrame. Fix: pass what to_frame() returned.")
        hurdle = metric_family(metric_id) is MetricFamily.HURDLE_REAL
        needed = ["row", "arm", "conversion", *(_HURDLE_FIELDS if hurdle else ())]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise ValueError(f"{where}: missing columns {missing} for {metric_id}. "
                             "Fix: store every column of to_frame().")
        rows = frame["row"].to_numpy(dtype=np.int64)
        arms = frame["arm"].to_numpy(dtype=np.int64)
        n, k = int(rows.max()) + 1, int(arms.max()) + 1
        order = np.lexsort((arms, rows))
        complete = (len(frame) == n * k
                    and np.array_equal(rows[order], np.repeat(np.arange(n), k))
                    and np.array_equal(arms[order], np.tile(np.arange(k), n)))
        if not complete:
            raise ValueError(f"{where}: the (row, arm) pairs are not exactly rows 0..{n - 1} x arms "
                             f"0..{k - 1} once each. Fix: store all rows of one to_frame() call.")

        def matrix(name: str) -> np.ndarray:
            return frame[name].to_numpy(dtype=np.float64)[order].reshape(n, k)

        values = {name: matrix(name) for name in needed[2:]}
        cluster = None
        if "latent_cluster" in frame.columns:
            per_arm = frame["latent_cluster"].to_numpy(dtype=np.int64)[order].reshape(n, k)
            if (per_arm != per_arm[:, :1]).any():
                raise ValueError(f"{where}: latent_cluster differs between arms of one visitor. "
                                 "Fix: store the cluster id once per visitor row.")
            cluster = per_arm[:, 0]
        return cls(metric_id, latent_cluster=cluster, **values)


# -- evaluating surfaces --------------------------------------------------------------


def _label(paired: bool, kind: str, arm: int, surface: SurfaceConfig) -> str:
    label = f"{kind}{arm}_surface" if paired else f"{kind}_surfaces[{arm}]"
    return label if surface.name == "surface" else f"{label} ({surface.name!r})"


def _evaluate(surface: SurfaceConfig, features: pd.DataFrame, label: str, kind: str) -> np.ndarray:
    n = len(features)
    try:
        raw = surface.fn(features)
    except Exception as err:
        err.add_note(f"raised while evaluating surface {label}")
        raise
    try:
        values = np.asarray(raw, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"surface {label}: returned {type(raw).__name__} that is not numeric. "
                         "Fix: return a float array with one value per visitor.") from None
    if values.shape != (n,):
        raise ValueError(f"surface {label}: returned shape {values.shape}, expected ({n},), one value per "
                         "visitor. Fix: return a 1-D array as long as the feature frame "
                         "(constant_surface(c) for a constant).")
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"surface {label}: non-finite value {values[row]} at row {row} "
                         f"({int(bad.sum())} rows). Fix: make the surface finite for every visitor "
                         "(check logs, divisions and missing features).")
    if kind == "p":
        bad, need, fix = (values < 0) | (values > 1), "a probability in [0, 1]", \
            "map log-odds through sigmoid_surface, or clip"
    else:
        what = "an expected order value" if kind == "m" else "a log-normal dispersion"
        bad, need, fix = values <= 0, f"> 0 ({what})", "keep it positive, e.g. exp(...) of a linear term"
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"surface {label}: value {values[row]} at row {row} is not {need} "
                         f"({int(bad.sum())} rows). Fix: {fix}.")
    return values


def order_values(severity: np.ndarray, revenue_model: CartRevenueConfig | None) -> np.ndarray:
    """Expected order value given conversion, ``(n, K)``, from raw m-surface values ``(n, K)``.

    Log-normal orders (``revenue_model`` None): the m surface itself. Carts:
    the analytic expected cart under the logit shift ``m_k - m_0``.
    """
    if revenue_model is None:
        return np.array(severity, dtype=float, copy=True)
    return np.column_stack([expected_cart_revenue(revenue_model, severity[:, k] - severity[:, 0])
                            for k in range(severity.shape[1])])


def compute_potential_outcomes(features: pd.DataFrame, metric_mode: MetricMode,
                               revenue_model: CartRevenueConfig | None = None) -> PotentialOutcomes:
    """Evaluate every arm's surfaces on ``features`` (n rows, generation order).

    Each surface output must be 1-D of length n and finite; p in [0, 1];
    m and sigma > 0. A bad output raises ``ValueError`` naming the surface
    (e.g. ``m_surfaces[2]``) and the fix. The latent cluster column, if
    present, is kept as ``latent_cluster``.
    """
    if not isinstance(features, pd.DataFrame):
        raise TypeError(f"compute_potential_outcomes: features must be a DataFrame, got "
                        f"{type(features).__name__}. Fix: pass sample_features(...)'s output.")
    if not isinstance(metric_mode, MetricMode):
        raise TypeError(f"compute_potential_outcomes: expected a MetricMode, got {type(metric_mode).__name__}.")
    paired = metric_mode.p_surfaces is None
    p_surfaces, m_surfaces, sigma_surfaces = metric_mode.arm_surfaces()

    def evaluate(kind: str, surfaces: tuple[SurfaceConfig, ...]) -> np.ndarray:
        return np.column_stack([_evaluate(s, features, _label(paired, kind, k, s), kind)
                                for k, s in enumerate(surfaces)])

    conversion = evaluate("p", p_surfaces)
    hurdle: dict[str, np.ndarray] = {}
    if metric_mode.is_hurdle:
        severity = evaluate("m", m_surfaces)
        hurdle = {"severity": severity, "sigma": evaluate("sigma", sigma_surfaces),
                  "order_value": order_values(severity, revenue_model)}
    elif revenue_model is not None:
        raise ValueError(f"compute_potential_outcomes: a cart revenue model for {metric_mode.metric_id}. "
                         "Fix: carts apply to revenue_per_visitor only; pass revenue_model=None.")
    cluster = None
    if LATENT_CLUSTER_COLUMN in features.columns:
        column = features[LATENT_CLUSTER_COLUMN]
        if not pd.api.types.is_integer_dtype(column.dtype):
            raise ValueError(f"compute_potential_outcomes: {LATENT_CLUSTER_COLUMN!r} has dtype {column.dtype}. "
                             "Fix: the latent cluster column holds integer ids; rename a feature that uses it.")
        cluster = column.to_numpy(dtype=np.int64)
    return PotentialOutcomes(metric_mode.metric_id, conversion, latent_cluster=cluster, **hurdle)


__all__ = ["PotentialOutcomes", "compute_potential_outcomes", "order_values"]
