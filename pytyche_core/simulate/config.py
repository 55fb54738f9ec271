"""Configuration of the ground-truth simulator: features, surfaces, assignment.

Every type is frozen and checks itself on construction. A *surface* is a
function of a visitor's features returning one number per visitor: the
conversion probability, the expected order value given conversion, or the
log-normal dispersion under one arm. Surfaces are potential outcomes: an
arm's surface says what a visitor would do under that arm, whoever gets it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from ..contracts import CartRevenueConfig, metric_family
from ..contracts._checks import fail, integer, non_empty_str, set_field
from ..contracts.schema import VISITOR_SCHEMA, MetricFamily, is_reserved_column

#: Column of the mixture sampler's latent cluster id. Surfaces may read it;
#: it is stripped before anything is observed.
LATENT_CLUSTER_COLUMN = "cluster_id"

FeatureKind = Literal["continuous", "categorical", "binary"]
_KINDS = frozenset(get_args(FeatureKind))
_DEFAULT_CATEGORIES = ("cat_0", "cat_1", "cat_2", "cat_3")


@dataclasses.dataclass(frozen=True)
class FeatureSpec:
    """One observed feature column.

    Continuous features are standard normal in the copula sampler; a
    categorical feature takes ``categories`` (default ``cat_0..cat_3``) with
    ``category_weights`` (default equal); a binary feature is a bool.
    """

    name: str
    kind: FeatureKind
    categories: tuple[str, ...] | None = None
    category_weights: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        owner = "FeatureSpec"
        name = non_empty_str(owner, "name", self.name)
        if is_reserved_column(name) or name in VISITOR_SCHEMA or name == LATENT_CLUSTER_COLUMN:
            raise fail(owner, "name", f"{name!r} is reserved (design, schema or latent column)",
                       "choose another feature name")
        if self.kind not in _KINDS:
            raise fail(owner, "kind", f"got {self.kind!r}", f"use one of {sorted(_KINDS)}")
        if self.kind != "categorical":
            if self.categories is not None or self.category_weights is not None:
                raise fail(owner, "categories", f"set on a {self.kind} feature", "only categorical features have categories")
            return
        cats = tuple(self.categories) if self.categories is not None else _DEFAULT_CATEGORIES
        if len(cats) < 2 or len(set(cats)) != len(cats) or not all(isinstance(c, str) and c for c in cats):
            raise fail(owner, "categories", f"got {cats!r}", "pass >= 2 distinct non-empty names")
        weights = self.category_weights
        if weights is None:
            weights = tuple(1.0 / len(cats) for _ in cats)
        weights = tuple(float(w) for w in weights)
        if len(weights) != len(cats) or any(not np.isfinite(w) or w <= 0 for w in weights):
            raise fail(owner, "category_weights", f"got {weights!r}", "one positive weight per category")
        total = sum(weights)
        set_field(self, "categories", cats)
        set_field(self, "category_weights", tuple(w / total for w in weights))


def _features(owner: str, features: Any) -> tuple[FeatureSpec, ...]:
    if not isinstance(features, (tuple, list)) or not features:
        raise fail(owner, "features", f"got {features!r}", "pass a non-empty tuple of FeatureSpec")
    out = tuple(features)
    for i, f in enumerate(out):
        if not isinstance(f, FeatureSpec):
            raise fail(owner, f"features[{i}]", f"got {type(f).__name__}", "pass FeatureSpec")
    names = [f.name for f in out]
    if len(set(names)) != len(names):
        raise fail(owner, "features", f"duplicate names {names}", "name features uniquely")
    return out


@dataclasses.dataclass(frozen=True)
class CopulaConfig:
    """Correlated mixed features from a Gaussian copula with ``correlation``."""

    features: tuple[FeatureSpec, ...]
    correlation: np.ndarray

    def __post_init__(self) -> None:
        owner = "CopulaConfig"
        features = _features(owner, self.features)
        d = len(features)
        corr = np.array(self.correlation, dtype=float, copy=True)
        if corr.shape != (d, d):
            raise fail(owner, "correlation", f"shape {corr.shape}, expected {(d, d)}", "one row and column per feature")
        if not np.all(np.isfinite(corr)) or not np.allclose(corr, corr.T, atol=1e-12):
            raise fail(owner, "correlation", "not a finite symmetric matrix", "symmetrise it")
        if not np.allclose(np.diag(corr), 1.0, atol=1e-12):
            raise fail(owner, "correlation", "diagonal is not 1", "pass a correlation, not a covariance")
        if np.linalg.eigvalsh(corr).min() < -1e-10:
            raise fail(owner, "correlation", "not positive semi-definite", "use a valid correlation matrix")
        corr.flags.writeable = False
        set_field(self, "features", features)
        set_field(self, "correlation", corr)


@dataclasses.dataclass(frozen=True)
class MixtureConfig:
    """Features drawn from a mixture of latent clusters.

    ``cluster_params[c]`` holds, per feature: ``<name>_mean`` and
    ``<name>_std`` (continuous), ``<name>_probs`` (categorical: a mapping
    category -> probability) or ``<name>_prob`` (binary).
    """

    features: tuple[FeatureSpec, ...]
    weights: tuple[float, ...]
    cluster_params: tuple[Mapping[str, Any], ...]

    def __post_init__(self) -> None:
        owner = "MixtureConfig"
        features = _features(owner, self.features)
        weights = tuple(float(w) for w in self.weights)
        if not weights or any(not np.isfinite(w) or w <= 0 for w in weights):
            raise fail(owner, "weights", f"got {weights!r}", "pass strictly positive cluster weights")
        params = tuple(self.cluster_params)
        if len(params) != len(weights):
            raise fail(owner, "cluster_params", f"{len(params)} clusters but {len(weights)} weights",
                       "pass one parameter mapping per weight")
        for c, p in enumerate(params):
            for f in features:
                keys = {"continuous": (f"{f.name}_mean", f"{f.name}_std"),
                        "categorical": (f"{f.name}_probs",), "binary": (f"{f.name}_prob",)}[f.kind]
                for key in keys:
                    if key not in p:
                        raise fail(owner, f"cluster_params[{c}]", f"missing {key!r}", f"add {key!r} for feature {f.name!r}")
                if f.kind == "continuous" and not float(p[f"{f.name}_std"]) > 0:
                    raise fail(owner, f"cluster_params[{c}]", f"{f.name}_std must be > 0", "pass a positive std")
                if f.kind == "binary" and not 0.0 <= float(p[f"{f.name}_prob"]) <= 1.0:
                    raise fail(owner, f"cluster_params[{c}]", f"{f.name}_prob outside [0, 1]", "pass a probability")
                if f.kind == "categorical":
                    probs = p[f"{f.name}_probs"]
                    if not isinstance(probs, Mapping) or not probs or any(float(v) < 0 for v in probs.values()) \
                            or sum(float(v) for v in probs.values()) <= 0:
                        raise fail(owner, f"cluster_params[{c}]", f"{f.name}_probs is not a category -> probability map",
                                   "pass e.g. {'mobile': 0.6, 'desktop': 0.4}")
        set_field(self, "features", features)
        set_field(self, "weights", weights)
        set_field(self, "cluster_params", params)

    @property
    def n_clusters(self) -> int:
        return len(self.weights)


FeatureSamplerConfig = CopulaConfig | MixtureConfig


@dataclasses.dataclass(frozen=True)
class SurfaceConfig:
    """A potential-outcome surface: ``fn(features) -> ndarray`` of shape ``(n,)``."""

    fn: Callable[[pd.DataFrame], np.ndarray]
    name: str = "surface"

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise fail("SurfaceConfig", "fn", f"{self.fn!r} is not callable", "pass a function of the feature frame")

    def __call__(self, features: pd.DataFrame) -> np.ndarray:
        return self.fn(features)


_PAIRED = ("p0_surface", "p1_surface", "m0_surface", "m1_surface", "sigma0_surface", "sigma1_surface")


@dataclasses.dataclass(frozen=True)
class MetricMode:
    """The metric and its potential-outcome surfaces, one per arm.

    K = 2 uses the paired fields (``p0/p1`` and, for revenue per visitor,
    ``m0/m1`` and ``sigma0/sigma1``). K >= 3 uses the list fields
    ``p_surfaces`` (and ``m_surfaces``, ``sigma_surfaces``), index 0 being
    control. ``m`` is the expected order value given conversion; ``sigma``
    the log-normal dispersion of order values.
    """

    metric_id: str
    p0_surface: SurfaceConfig | None = None
    p1_surface: SurfaceConfig | None = None
    m0_surface: SurfaceConfig | None = None
    m1_surface: SurfaceConfig | None = None
    sigma0_surface: SurfaceConfig | None = None
    sigma1_surface: SurfaceConfig | None = None
    p_surfaces: tuple[SurfaceConfig, ...] | None = dataclasses.field(default=None, kw_only=True)
    m_surfaces: tuple[SurfaceConfig, ...] | None = dataclasses.field(default=None, kw_only=True)
    sigma_surfaces: tuple[SurfaceConfig, ...] | None = dataclasses.field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        owner = "MetricMode"
        try:
            family = metric_family(self.metric_id)
        except ValueError as err:
            raise fail(owner, "metric_id", str(err), "use a known metric") from None
        hurdle = family is MetricFamily.HURDLE_REAL
        for name in (*_PAIRED, "p_surfaces", "m_surfaces", "sigma_surfaces"):
            value = getattr(self, name)
            if value is None:
                continue
            items = tuple(value) if name.endswith("surfaces") else (value,)
            for item in items:
                if not isinstance(item, SurfaceConfig):
                    raise fail(owner, name, f"got {type(item).__name__}", "wrap functions in SurfaceConfig")
            if name.endswith("surfaces"):
                set_field(self, name, items)
        if self.p_surfaces is not None:
            if any(getattr(self, n) is not None for n in _PAIRED):
                raise fail(owner, "p_surfaces", "set together with paired surfaces", "use one form")
            k = len(self.p_surfaces)
            if k < 3:
                raise fail(owner, "p_surfaces", f"{k} arms", "K = 2 uses the paired p0/p1 form")
            for name in ("m_surfaces", "sigma_surfaces"):
                value = getattr(self, name)
                if hurdle and (value is None or len(value) != k):
                    raise fail(owner, name, f"needs {k} surfaces for {self.metric_id}", "pass one per arm")
                if not hurdle and value is not None:
                    raise fail(owner, name, f"set for {self.metric_id}", "leave it None")
            return
        if self.m_surfaces is not None or self.sigma_surfaces is not None:
            raise fail(owner, "m_surfaces", "list form without p_surfaces", "set p_surfaces too")
        if self.p0_surface is None or self.p1_surface is None:
            raise fail(owner, "p0_surface", "paired form needs p0_surface and p1_surface", "set both")
        for name in _PAIRED[2:]:
            if hurdle and getattr(self, name) is None:
                raise fail(owner, name, f"missing for {self.metric_id}", "set m0/m1 and sigma0/sigma1")
            if not hurdle and getattr(self, name) is not None:
                raise fail(owner, name, f"set for {self.metric_id}", "leave hurdle surfaces None")

    @property
    def n_treatments(self) -> int:
        """K, the number of arms including control."""
        return 2 if self.p_surfaces is None else len(self.p_surfaces)

    @property
    def is_hurdle(self) -> bool:
        return metric_family(self.metric_id) is MetricFamily.HURDLE_REAL

    def arm_surfaces(self) -> tuple[tuple[SurfaceConfig, ...], tuple[SurfaceConfig, ...] | None,
                                    tuple[SurfaceConfig, ...] | None]:
        """(p, m, sigma) surfaces as per-arm tuples whatever the form; m, sigma None if not hurdle."""
        if self.p_surfaces is not None:
            return self.p_surfaces, self.m_surfaces, self.sigma_surfaces
        p = (self.p0_surface, self.p1_surface)
        if not self.is_hurdle:
            return p, None, None
        return p, (self.m0_surface, self.m1_surface), (self.sigma0_surface, self.sigma1_surface)


@dataclasses.dataclass(frozen=True)
class AssignmentConfig:
    """Fixed randomisation: every visitor's arm is drawn from one probability vector.

    K = 2: ``treatment_allocation`` is P(treatment). K >= 3:
    ``treatment_probabilities`` (length K, control first, summing to 1);
    when it is None at K >= 3 the design is uniform over arms.
    Policy-routed assignment is not configured here: it comes through the
    ``assign`` hook of ``simulate`` as an ``AssignmentPlan``.
    """

    treatment_allocation: float = 0.5
    treatment_probabilities: tuple[float, ...] | None = dataclasses.field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        owner = "AssignmentConfig"
        a = float(self.treatment_allocation)
        if not 0.0 < a < 1.0:
            raise fail(owner, "treatment_allocation", f"got {a}", "pass a fraction in (0, 1)")
        if self.treatment_probabilities is not None:
            probs = tuple(float(p) for p in self.treatment_probabilities)
            if len(probs) < 2 or not all(0.0 < p < 1.0 for p in probs) or abs(sum(probs) - 1.0) > 1e-9:
                raise fail(owner, "treatment_probabilities", f"got {probs!r}",
                           ">= 2 entries in (0, 1) summing to 1, control first")
            set_field(self, "treatment_probabilities", probs)

    def probabilities(self, n_arms: int) -> np.ndarray:
        """The assignment probability of each of ``n_arms`` arms."""
        if self.treatment_probabilities is not None:
            if len(self.treatment_probabilities) != n_arms:
                raise fail("AssignmentConfig", "treatment_probabilities",
                           f"{len(self.treatment_probabilities)} entries for {n_arms} arms", "pass one per arm")
            return np.array(self.treatment_probabilities)
        if n_arms == 2:
            return np.array([1.0 - self.treatment_allocation, self.treatment_allocation])
        return np.full(n_arms, 1.0 / n_arms)


@dataclasses.dataclass(frozen=True)
class AssignmentPlan:
    """What the external assignment hook returns for ``n`` visitors and ``K`` arms.

    ``probabilities[i, k]`` is the probability the design gave visitor i of
    arm k (rows sum to 1). ``arms`` is the arm each visitor receives; when
    None it is drawn from ``probabilities``. ``cells`` names the cell that
    routed each visitor. The probabilities and cells are recorded in the
    reserved columns of the observed data.
    """

    probabilities: np.ndarray
    arms: np.ndarray | None = None
    cells: np.ndarray | None = None

    def __post_init__(self) -> None:
        owner = "AssignmentPlan"
        probs = np.array(self.probabilities, dtype=float, copy=True)
        if probs.ndim != 2 or probs.shape[1] < 2:
            raise fail(owner, "probabilities", f"shape {probs.shape}", "pass an (n, K) matrix, K >= 2")
        bad = ~np.isfinite(probs).all(axis=1) | (probs < 0).any(axis=1) | (np.abs(probs.sum(axis=1) - 1) > 1e-6)
        if bad.any():
            raise fail(owner, "probabilities", f"row {int(np.flatnonzero(bad)[0])} is not a probability vector",
                       "make every row non-negative and sum to 1")
        n, k = probs.shape
        probs.flags.writeable = False
        set_field(self, "probabilities", probs)
        if self.arms is not None:
            arms = np.asarray(self.arms)
            if arms.shape != (n,) or arms.dtype.kind not in "iu":
                raise fail(owner, "arms", f"shape {arms.shape}, dtype {arms.dtype}", f"pass {n} integer arm indices")
            if ((arms < 0) | (arms >= k)).any():
                raise fail(owner, "arms", f"indices outside [0, {k - 1}]", "index arms 0 (control) .. K-1")
            bad = probs[np.arange(n), arms] <= 0
            if bad.any():
                raise fail(owner, "arms", f"visitor {int(np.flatnonzero(bad)[0])} got an arm of probability 0",
                           "assign only arms the design allows")
            arms = arms.astype(np.int64)
            arms.flags.writeable = False
            set_field(self, "arms", arms)
        if self.cells is not None:
            cells = np.asarray(self.cells, dtype=object)
            if cells.shape != (n,) or not all(isinstance(c, str) and c for c in cells):
                raise fail(owner, "cells", "not one non-empty cell id per visitor", "pass n strings")
            set_field(self, "cells", cells)

    @property
    def n_visitors(self) -> int:
        return self.probabilities.shape[0]

    @property
    def n_arms(self) -> int:
        return self.probabilities.shape[1]


@dataclasses.dataclass(frozen=True)
class SimulationConfig:
    """Everything one simulated experiment needs.

    ``revenue_model`` None samples order values from a log-normal; a
    ``CartRevenueConfig`` builds them from carts (revenue per visitor only).
    Visitor ids are ``<visitor_id_prefix>-<generation index>`` (prefix
    defaults to the experiment id), so they do not depend on assignment.
    """

    n_visitors: int
    feature_sampler: FeatureSamplerConfig
    metric_mode: MetricMode
    assignment: AssignmentConfig = dataclasses.field(default_factory=AssignmentConfig)
    seed: int = 0
    experiment_id: str = "sim"
    revenue_model: CartRevenueConfig | None = None
    visitor_id_prefix: str | None = None

    def __post_init__(self) -> None:
        owner = "SimulationConfig"
        integer(owner, "n_visitors", self.n_visitors, minimum=1)
        integer(owner, "seed", self.seed, minimum=0)
        if not isinstance(self.feature_sampler, (CopulaConfig, MixtureConfig)):
            raise fail(owner, "feature_sampler", f"got {type(self.feature_sampler).__name__}",
                       "pass CopulaConfig or MixtureConfig")
        if not isinstance(self.metric_mode, MetricMode):
            raise fail(owner, "metric_mode", f"got {type(self.metric_mode).__name__}", "pass a MetricMode")
        if not isinstance(self.assignment, AssignmentConfig):
            raise fail(owner, "assignment", f"got {type(self.assignment).__name__}", "pass an AssignmentConfig")
        self.assignment.probabilities(self.metric_mode.n_treatments)
        non_empty_str(owner, "experiment_id", self.experiment_id)
        if self.revenue_model is not None:
            if not isinstance(self.revenue_model, CartRevenueConfig):
                raise fail(owner, "revenue_model", f"got {type(self.revenue_model).__name__}",
                           "pass a CartRevenueConfig or None")
            if not self.metric_mode.is_hurdle:
                raise fail(owner, "revenue_model", f"a cart model for {self.metric_mode.metric_id}",
                           "cart revenue applies to revenue_per_visitor only; pass None")
        if self.visitor_id_prefix is not None:
            non_empty_str(owner, "visitor_id_prefix", self.visitor_id_prefix)
