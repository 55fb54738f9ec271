"""Ground truth of a simulation, and the records that score analyses against it.

These types live only on the simulation and calibration path: production
analysis never receives them. Every per-visitor truth array is aligned with
the concatenated observed visitor rows (control first, then each treatment).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import numpy as np

from ._checks import (
    fail,
    finite_float,
    frozen_mapping,
    instance,
    integer,
    non_empty_str,
    non_negative,
    probability,
    set_field,
)
from .data import AlignedVisitorArray, ObservedExperimentData
from .errors import AlignmentViolation
from .schema import ClaimLevel, Decision, MetricFamily, metric_family

_K2_HURDLE = ("conv_cate_per_visitor", "aov_cate_per_visitor", "p0_per_visitor",
              "p1_per_visitor", "m0_per_visitor", "m1_per_visitor")


def _identity(owner: str, field: str, lhs: np.ndarray, rhs: np.ndarray, what: str) -> None:
    scale = max(1.0, float(np.max(np.abs(lhs), initial=0.0)))
    err = float(np.max(np.abs(lhs - rhs), initial=0.0))
    if err > 1e-9 * scale:
        raise fail(owner, field, f"violates {what} (max error {err:.3g})",
                   "derive every truth array from the same potential outcomes")


@dataclasses.dataclass(frozen=True)
class CalibrationTruth:
    """The true effects of one simulated experiment.

    K = 2: ``cate_per_visitor`` and (hurdle) the paired arrays are set; the
    list fields are None. For a hurdle metric, per visitor,
    ``cate = p1*m1 - p0*m0 = conv + aov`` with ``conv = (p1 - p0) * m0`` and
    ``aov = p1 * (m1 - m0)``; ``m`` is the expected order value given a
    conversion.

    K >= 3: ``cate_per_visitor`` is None; ``contrast_cate_per_visitor`` has
    K-1 arrays (arm k vs control), ``p_per_visitor`` K arrays, and
    ``m_per_visitor`` K arrays for a hurdle metric (None for conversion).

    ``latent_cluster_per_visitor`` (ours, optional) is the simulator's latent
    cluster id per visitor, for scoring; it never reaches observed data.
    """

    effect: float
    metric_id: str
    metric_family: MetricFamily
    effect_components: dict[str, float]
    cate_per_visitor: AlignedVisitorArray | None
    conv_cate_per_visitor: AlignedVisitorArray | None = None
    aov_cate_per_visitor: AlignedVisitorArray | None = None
    p0_per_visitor: AlignedVisitorArray | None = None
    p1_per_visitor: AlignedVisitorArray | None = None
    m0_per_visitor: AlignedVisitorArray | None = None
    m1_per_visitor: AlignedVisitorArray | None = None
    contrast_cate_per_visitor: list[AlignedVisitorArray] | None = dataclasses.field(default=None, kw_only=True)
    p_per_visitor: list[AlignedVisitorArray] | None = dataclasses.field(default=None, kw_only=True)
    m_per_visitor: list[AlignedVisitorArray] | None = dataclasses.field(default=None, kw_only=True)
    latent_cluster_per_visitor: AlignedVisitorArray | None = dataclasses.field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        owner = "CalibrationTruth"
        set_field(self, "effect", finite_float(owner, "effect", self.effect))
        non_empty_str(owner, "metric_id", self.metric_id)
        family = metric_family(self.metric_id)
        if MetricFamily(self.metric_family) != family:
            raise fail(owner, "metric_family", f"{self.metric_family!r} but {self.metric_id!r} is {family}",
                       "derive the family with metric_family(metric_id)")
        set_field(self, "metric_family", family)
        set_field(self, "effect_components", frozen_mapping(owner, "effect_components", self.effect_components))
        arrays = [f.name for f in dataclasses.fields(self) if f.name.endswith("_per_visitor")]
        for name in arrays:
            value = getattr(self, name)
            if value is None:
                continue
            items = value if isinstance(value, (list, tuple)) else [value]
            for item in items:
                instance(owner, name, item, AlignedVisitorArray)
            if isinstance(value, list):
                set_field(self, name, tuple(value))
        sizes = {name: len(item) for name in arrays if (v := getattr(self, name)) is not None
                 for item in (v if isinstance(v, tuple) else (v,))}
        if len(set(sizes.values())) > 1:
            raise AlignmentViolation(f"CalibrationTruth: per-visitor arrays differ in length {sizes}. "
                                     "Fix: align every array with the same visitor rows.")
        if self.cate_per_visitor is not None:
            self._check_paired(owner, family)
        else:
            self._check_multi(owner, family)

    def _check_paired(self, owner: str, family: MetricFamily) -> None:
        for name in ("contrast_cate_per_visitor", "p_per_visitor", "m_per_visitor"):
            if getattr(self, name) is not None:
                raise fail(owner, name, "set together with cate_per_visitor",
                           "use the K=2 fields or the K>=3 list fields, not both")
        cate = self.cate_per_visitor.values
        if family is MetricFamily.HURDLE_REAL:
            missing = [n for n in _K2_HURDLE if getattr(self, n) is None]
            if missing:
                raise fail(owner, missing[0], "missing for a hurdle metric at K=2", f"set all of {missing}")
            p0, p1, m0, m1, conv, aov = (getattr(self, n).values for n in (
                "p0_per_visitor", "p1_per_visitor", "m0_per_visitor", "m1_per_visitor",
                "conv_cate_per_visitor", "aov_cate_per_visitor"))
            _identity(owner, "conv_cate_per_visitor", conv, (p1 - p0) * m0, "conv = (p1 - p0) * m0")
            _identity(owner, "aov_cate_per_visitor", aov, p1 * (m1 - m0), "aov = p1 * (m1 - m0)")
            _identity(owner, "cate_per_visitor", cate, conv + aov, "cate = conv + aov")
        else:
            for name in ("conv_cate_per_visitor", "aov_cate_per_visitor", "m0_per_visitor", "m1_per_visitor"):
                if getattr(self, name) is not None:
                    raise fail(owner, name, f"set for a {family} metric", "leave hurdle fields None")
            if self.p0_per_visitor is not None and self.p1_per_visitor is not None:
                _identity(owner, "cate_per_visitor", cate,
                          self.p1_per_visitor.values - self.p0_per_visitor.values, "cate = p1 - p0")

    def _check_multi(self, owner: str, family: MetricFamily) -> None:
        for name in ("conv_cate_per_visitor", "aov_cate_per_visitor", "p0_per_visitor",
                     "p1_per_visitor", "m0_per_visitor", "m1_per_visitor"):
            if getattr(self, name) is not None:
                raise fail(owner, name, "set without cate_per_visitor",
                           "the K>=3 form uses the list fields only")
        contrasts, p, m = self.contrast_cate_per_visitor, self.p_per_visitor, self.m_per_visitor
        if contrasts is None or p is None:
            raise fail(owner, "contrast_cate_per_visitor", "K=2 and K>=3 fields both empty",
                       "set cate_per_visitor (K=2) or the list fields (K>=3)")
        if len(p) < 3 or len(contrasts) != len(p) - 1:
            raise fail(owner, "p_per_visitor", f"{len(p)} arms and {len(contrasts)} contrasts",
                       "K>=3 arms with K-1 contrasts; K=2 uses the paired fields")
        if family is MetricFamily.HURDLE_REAL:
            if m is None or len(m) != len(p):
                raise fail(owner, "m_per_visitor", "needs one array per arm for a hurdle metric",
                           "set m_per_visitor with K arrays")
            base = p[0].values * m[0].values
            for j, c in enumerate(contrasts, start=1):
                _identity(owner, f"contrast_cate_per_visitor[{j - 1}]", c.values,
                          p[j].values * m[j].values - base, f"contrast_{j} = p_{j} m_{j} - p_0 m_0")
        else:
            if m is not None:
                raise fail(owner, "m_per_visitor", f"set for a {family} metric", "leave it None")
            for j, c in enumerate(contrasts, start=1):
                _identity(owner, f"contrast_cate_per_visitor[{j - 1}]", c.values,
                          p[j].values - p[0].values, f"contrast_{j} = p_{j} - p_0")

    # -- derived views ---------------------------------------------------------------

    @property
    def n_arms(self) -> int:
        return 2 if self.cate_per_visitor is not None else len(self.p_per_visitor)

    @property
    def n_visitors(self) -> int:
        first = self.cate_per_visitor or self.contrast_cate_per_visitor[0]
        return first.n_visitors

    def contrasts(self) -> np.ndarray:
        """True effect of every treatment vs control, shape ``(n, K-1)``."""
        if self.cate_per_visitor is not None:
            return self.cate_per_visitor.values[:, None]
        return np.column_stack([c.values for c in self.contrast_cate_per_visitor])

    def conversion_probabilities(self) -> np.ndarray | None:
        """P(convert) under every arm, shape ``(n, K)``; None when not recorded."""
        if self.p_per_visitor is not None:
            return np.column_stack([a.values for a in self.p_per_visitor])
        if self.p0_per_visitor is None or self.p1_per_visitor is None:
            return None
        return np.column_stack([self.p0_per_visitor.values, self.p1_per_visitor.values])

    def order_values(self) -> np.ndarray | None:
        """Expected order value given conversion under every arm, ``(n, K)``; hurdle only."""
        if self.m_per_visitor is not None:
            return np.column_stack([a.values for a in self.m_per_visitor])
        if self.m0_per_visitor is None:
            return None
        return np.column_stack([self.m0_per_visitor.values, self.m1_per_visitor.values])

    def decomposition(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(conversion part, order-value part) of every contrast, each ``(n, K-1)``; hurdle only.

        conversion part_k = (p_k - p_0) m_0, order-value part_k = p_k (m_k - m_0);
        they add up to the contrast exactly.
        """
        p, m = self.conversion_probabilities(), self.order_values()
        if p is None or m is None:
            return None
        conv = (p[:, 1:] - p[:, :1]) * m[:, :1]
        aov = p[:, 1:] * (m[:, 1:] - m[:, :1])
        return conv, aov


class _BundleFields(NamedTuple):
    observed: ObservedExperimentData
    truth: CalibrationTruth


class CalibrationBundle(_BundleFields):
    """Observed data paired with its truth; unpacks as ``observed, truth = bundle``.

    Construction checks that the truth covers exactly the observed visitors
    and has as many arms.
    """

    __slots__ = ()

    def __new__(cls, observed: ObservedExperimentData, truth: CalibrationTruth) -> CalibrationBundle:
        instance("CalibrationBundle", "observed", observed, ObservedExperimentData)
        instance("CalibrationBundle", "truth", truth, CalibrationTruth)
        if truth.n_visitors != observed.n_visitors:
            raise AlignmentViolation(f"CalibrationBundle: truth covers {truth.n_visitors} visitors, "
                                     f"observed has {observed.n_visitors}. Fix: align truth with "
                                     "the concatenated visitor rows.")
        if truth.n_arms != observed.n_arms:
            raise AlignmentViolation(f"CalibrationBundle: truth has {truth.n_arms} arms, observed "
                                     f"{observed.n_arms}. Fix: simulate and observe the same arms.")
        if truth.metric_id != observed.metric:
            raise AlignmentViolation(f"CalibrationBundle: truth is for {truth.metric_id!r}, observed "
                                     f"for {observed.metric!r}. Fix: pair data of one metric.")
        return super().__new__(cls, observed, truth)


@dataclasses.dataclass(frozen=True)
class CalibrationRecord:
    """One seed's scored analysis: the decision made, the oracle's, and the regret.

    Every field is JSON-serialisable (``to_dict`` / ``from_dict``).
    ``decision_correct`` and ``regret`` are None when not applicable.
    """

    scenario_id: str
    seed: int
    analysis_mode: ClaimLevel
    effect: float
    metric_id: str
    metric_family: MetricFamily
    effect_components: dict[str, float]
    estimator_id: str
    estimated_lift: float
    ci_low: float
    ci_high: float
    ci_level: float
    probability_positive: float
    probability_better: float
    probability_harmful: float
    expected_loss_baseline: float
    expected_loss_comparison: float
    decision: Decision
    oracle_decision: Decision
    decision_correct: bool | None
    regret: float | None

    def __post_init__(self) -> None:
        owner = "CalibrationRecord"
        non_empty_str(owner, "scenario_id", self.scenario_id)
        set_field(self, "seed", integer(owner, "seed", self.seed, minimum=0))
        for name, enum in (("analysis_mode", ClaimLevel), ("metric_family", MetricFamily),
                           ("decision", Decision), ("oracle_decision", Decision)):
            try:
                set_field(self, name, enum(getattr(self, name)))
            except ValueError:
                raise fail(owner, name, f"got {getattr(self, name)!r}",
                           f"use one of {[e.value for e in enum]}") from None
        if metric_family(self.metric_id) != self.metric_family:
            raise fail(owner, "metric_family", f"does not match metric {self.metric_id!r}",
                       "derive it with metric_family(metric_id)")
        non_empty_str(owner, "estimator_id", self.estimator_id)
        for name in ("effect", "estimated_lift", "ci_low", "ci_high"):
            set_field(self, name, finite_float(owner, name, getattr(self, name)))
        if self.ci_low > self.ci_high:
            raise fail(owner, "ci_low", f"{self.ci_low} > ci_high {self.ci_high}", "order the interval")
        set_field(self, "ci_level", probability(owner, "ci_level", self.ci_level, open_interval=True))
        for name in ("probability_positive", "probability_better", "probability_harmful"):
            set_field(self, name, probability(owner, name, getattr(self, name)))
        for name in ("expected_loss_baseline", "expected_loss_comparison"):
            set_field(self, name, non_negative(owner, name, getattr(self, name)))
        set_field(self, "effect_components", dict(frozen_mapping(owner, "effect_components",
                                                                self.effect_components)))
        if self.decision_correct is not None and not isinstance(self.decision_correct, bool):
            raise fail(owner, "decision_correct", f"got {self.decision_correct!r}", "pass True, False or None")
        if self.regret is not None:
            set_field(self, "regret", non_negative(owner, "regret", self.regret))

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        for name in ("analysis_mode", "metric_family", "decision", "oracle_decision"):
            out[name] = str(out[name].value)
        return out

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> CalibrationRecord:
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(payload) - names)
        if unknown:
            raise fail("CalibrationRecord", unknown[0], "unknown field", f"drop {unknown}")
        return cls(**payload)


