"""Which arm each segment of a policy tree gets: its own evidence, or the pooled decision.

A shallow tree on posterior-mean effects splits even when segments do not
truly differ, and at realistic signal a segment's own posterior is wide. So a
segment is routed away from the pooled best arm only when its *own*
posterior says so:

- the expected loss of deviating, ``E[max(V_pooled - V_own, 0)]`` over the
  per-draw segment means (what the segment loses if its favourite is in
  fact worse than the pooled arm), is at most ``expected_loss_tolerance``; or
- its favourite is the best arm in at least ``p_best_threshold`` of the draws.

Otherwise it inherits the pooled decision and the pooled Thompson
allocation. A segment that deviates keeps its own Thompson allocation.

The guardrail (default: conversion rate) vetoes routes: an arm whose
posterior probability of lowering the guardrail by more than its tolerance
(relative to the control level) exceeds ``probability_threshold`` is not
routed to in that segment, and keeps only its exploration floor in the
allocation. Control is never vetoed. The arithmetic is in
``docs/concepts/adaptive-loop.md``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np
from scipy.special import ndtr

from ..contracts import PolicyTreeResult
from ..contracts._checks import fail, finite_float, probability, set_field
from .allocation import check_epsilon, thompson_weights
from .best_arm import best_arm_frequencies
from .draws import group_means

if TYPE_CHECKING:
    from .results import BCFResult

#: Default routing tolerance as a share of the control arm's mean outcome (0.5%).
RELATIVE_LOSS_TOLERANCE = 0.005
_BLOCK = 4096


@dataclasses.dataclass(frozen=True)
class RoutingRule:
    """When a segment may leave the pooled decision.

    ``expected_loss_tolerance`` is in metric units per visitor; None means
    ``relative_tolerance`` times the control arm's observed mean outcome (so
    the default scales with revenue or with a conversion rate).
    """

    expected_loss_tolerance: float | None = None
    p_best_threshold: float = 0.9
    relative_tolerance: float = RELATIVE_LOSS_TOLERANCE

    def __post_init__(self) -> None:
        owner = "RoutingRule"
        if self.expected_loss_tolerance is not None:
            tol = finite_float(owner, "expected_loss_tolerance", self.expected_loss_tolerance)
            if tol < 0:
                raise fail(owner, "expected_loss_tolerance", f"{tol} < 0", "pass a loss >= 0 in metric units")
            set_field(self, "expected_loss_tolerance", tol)
        set_field(self, "p_best_threshold", probability(owner, "p_best_threshold", self.p_best_threshold,
                                                        open_interval=True))
        rel = finite_float(owner, "relative_tolerance", self.relative_tolerance)
        if rel < 0:
            raise fail(owner, "relative_tolerance", f"{rel} < 0", "pass a share >= 0 of the control mean")
        set_field(self, "relative_tolerance", rel)

    def tolerance(self, control_mean: float) -> float:
        if self.expected_loss_tolerance is not None:
            return self.expected_loss_tolerance
        return self.relative_tolerance * abs(control_mean)


@dataclasses.dataclass(frozen=True)
class Guardrail:
    """A metric a plan must not harm: veto an arm when P(drop > tolerance) > ``probability_threshold``.

    ``metric``: "conversion_rate" (the only one a hurdle or binary fit carries
    besides the decision metric). ``relative_tolerance``: the drop allowed, as
    a share of the control arm's observed rate (0.05: a 5% relative drop).
    ``probability_threshold``: 0.95 by default. Segments are many and their
    posteriors wide, so a laxer threshold vetoes routes on noise (by a normal
    approximation, at 0.8 a null segment-arm pair is vetoed about one time in
    eight at realistic conversion rates), and a veto costs the decision metric.
    """

    metric: str = "conversion_rate"
    relative_tolerance: float = 0.05
    probability_threshold: float = 0.95

    def __post_init__(self) -> None:
        owner = "Guardrail"
        if self.metric != "conversion_rate":
            raise fail(owner, "metric", f"got {self.metric!r}", "use 'conversion_rate' (the guardrail the fit carries)")
        rel = finite_float(owner, "relative_tolerance", self.relative_tolerance)
        if rel < 0:
            raise fail(owner, "relative_tolerance", f"{rel} < 0", "pass a share >= 0 of the control rate")
        set_field(self, "relative_tolerance", rel)
        set_field(self, "probability_threshold", probability(owner, "probability_threshold",
                                                             self.probability_threshold, open_interval=True))


#: The default guardrail: veto where P(conversion falls by more than 5% of control's) exceeds 0.95.
DEFAULT_GUARDRAIL = Guardrail()


@dataclasses.dataclass(frozen=True)
class SegmentRoute:
    """The decision for one segment.

    ``arm`` is where the segment is routed (what shipping the plan means);
    ``own_best_arm`` the arm its own posterior mean favours among allowed
    arms; ``source`` "own" when it deviates from the pooled arm on its own
    evidence, "pooled" when it inherits it, "guardrail" when the pooled arm
    was vetoed here. ``allocation`` is its Thompson weight per arm.
    ``guardrail_drop_probability`` maps each treatment to P(guardrail drop
    beyond tolerance) in this segment; ``vetoed_arms`` are those over the threshold.
    """

    segment_id: int
    arm: str
    own_best_arm: str
    source: str
    expected_loss_of_deviating: float
    p_own_best: float
    allocation: dict[str, float]
    guardrail_drop_probability: dict[str, float]
    vetoed_arms: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Routing:
    """Every segment's route, the pooled decision and the thresholds that produced them.

    ``pooled_best_probabilities``: P(arm is best) over everyone, per arm
    (control included), before any veto or floor.
    """

    pooled_arm: str
    pooled_allocation: dict[str, float]
    pooled_best_probabilities: dict[str, float]
    routes: tuple[SegmentRoute, ...]
    expected_loss_tolerance: float
    p_best_threshold: float
    guardrail: Guardrail | None
    guardrail_tolerance: float
    pooled_vetoed_arms: tuple[str, ...]

    @property
    def route_map(self) -> dict[int, str]:
        return {r.segment_id: r.arm for r in self.routes}

    @property
    def allocation_map(self) -> dict[int, dict[str, float]]:
        return {r.segment_id: dict(r.allocation) for r in self.routes}

    @property
    def vetoes(self) -> dict[int, tuple[str, ...]]:
        """Segment id -> arms the guardrail vetoed there (segments with none left out)."""
        return {r.segment_id: r.vetoed_arms for r in self.routes if r.vetoed_arms}


def conversion_contrast_group_means(result: BCFResult, labels: np.ndarray, n_groups: int) -> np.ndarray:
    """Per-draw mean conversion-probability contrast of each group, ``(G, S, K-1)``.

    Hurdle fits read their conversion channel, binary fits their effects;
    other fits carry no conversion model and raise ValueError.
    """
    if result.model == "binary":
        return group_means(result.cate_samples, labels, n_groups)
    if result.model != "hurdle":
        raise ValueError(f"guardrail: a {result.model} fit has no conversion model. Fix: fit a hurdle or binary "
                         "model, or pass guardrail=None.")
    labels = np.asarray(labels)
    n, k1 = result.observed.n_visitors, len(result.treatment_names)
    counts = np.bincount(labels[(labels >= 0) & (labels < n_groups)], minlength=n_groups)
    if (counts == 0).any():
        raise ValueError(f"guardrail: group(s) {np.flatnonzero(counts == 0).tolist()} have no visitors.")
    total = np.zeros((n_groups, result.n_draws, k1))
    for start in range(0, n, _BLOCK):
        rows = slice(start, min(start + _BLOCK, n))
        block = labels[rows]
        onehot = (block[None, :] == np.arange(n_groups)[:, None]).astype(np.float64)  # (G, b)
        for j in range(k1):
            eta0, eta = result.conversion.predictors(j, rows=rows)  # [S, b]
            total[:, :, j] += onehot @ (ndtr(eta) - ndtr(eta0)).T
    return total / counts[:, None, None]


def _control_mean(result: BCFResult, column: str) -> float:
    visitors = result.observed.variants[0].visitors
    return float(visitors[column].astype(float).mean()) if len(visitors) else math.nan


def _veto(weights: np.ndarray, vetoed: np.ndarray, floor: float) -> np.ndarray:
    """Vetoed arms keep only ``floor``; the rest of the mass goes to the others pro rata."""
    if not vetoed.any():
        return weights
    out = np.where(vetoed, floor, weights)
    free = ~vetoed
    remaining = 1.0 - out[vetoed].sum()
    base = weights[free]
    out[free] = remaining * (base / base.sum() if base.sum() > 0 else np.full(free.sum(), 1.0 / free.sum()))
    return out


def _values(contrasts: np.ndarray) -> np.ndarray:
    """Per-draw arm values vs control, control first: ``(S, K-1)`` -> ``(S, K)``."""
    return np.concatenate([np.zeros((contrasts.shape[0], 1)), contrasts], axis=1)


def route_segments(result: BCFResult, tree: PolicyTreeResult, *, rule: RoutingRule | None = None,
                   guardrail: Guardrail | None = DEFAULT_GUARDRAIL, epsilon: float = 0.1,
                   excluded_arms: tuple[str, ...] = ()) -> Routing:
    """Route every segment of ``tree`` (fit on ``result``'s visitors) by the rule in the module docstring.

    ``excluded_arms`` (dropped treatments) are never routed to and get no
    weight. ``epsilon`` is the Thompson floor (each allowed arm keeps
    epsilon / K of a segment's allocation).
    """
    rule = RoutingRule() if rule is None else rule
    if not isinstance(rule, RoutingRule):
        raise TypeError(f"rule: expected RoutingRule, got {type(rule).__name__}")
    if guardrail is not None and not isinstance(guardrail, Guardrail):
        raise TypeError(f"guardrail: expected Guardrail or None, got {type(guardrail).__name__}")
    epsilon = check_epsilon(epsilon)
    arms = result.observed.arm_names
    k = len(arms)
    unknown = [a for a in excluded_arms if a not in arms[1:]]
    if unknown:
        raise ValueError(f"excluded_arms: {unknown} are not treatments of this fit {list(arms[1:])}.")
    excluded = np.array([a in excluded_arms for a in arms])
    labels = tree.assign(result.observed.visitors())
    ids = [s.id for s in tree.segments]
    index = np.full(labels.shape, -1)
    for i, sid in enumerate(ids):
        index[labels == sid] = i
    segment_draws = group_means(result.cate_samples, index, len(ids))  # (L, S, K-1)
    pooled_draws = group_means(result.cate_samples, np.zeros(len(labels), dtype=np.int64), 1)[0]
    tolerance = rule.tolerance(_control_mean(result, "revenue" if result.model != "binary" else "converted"))

    drop_p = np.zeros((len(ids) + 1, k))  # row L: pooled
    guard_tol = math.nan
    if guardrail is not None:
        guard_tol = guardrail.relative_tolerance * _control_mean(result, "converted")
        conv = conversion_contrast_group_means(result, index, len(ids))
        conv_pooled = conversion_contrast_group_means(result, np.zeros(len(labels), dtype=np.int64), 1)
        conv = np.concatenate([conv, conv_pooled], axis=0)  # (L+1, S, K-1)
        drop_p[:, 1:] = (conv < -guard_tol).mean(axis=1)
    vetoed = drop_p > (guardrail.probability_threshold if guardrail else 1.0)  # the guardrail's vetoes
    vetoed[:, 0] = False  # control is the baseline: never vetoed
    vetoed &= ~excluded[None, :]  # dropped arms are out anyway; they are not reported as vetoes
    blocked = vetoed | excluded[None, :]
    floor = epsilon / k

    def finish(weights: np.ndarray, veto: np.ndarray) -> np.ndarray:
        w = _veto(weights, veto, floor)
        w[excluded] = 0.0
        return w / w.sum()

    def own_allocation(draws: np.ndarray, veto: np.ndarray) -> np.ndarray:
        return finish(thompson_weights(best_arm_frequencies(draws, k), epsilon), veto)

    pooled_values = _values(pooled_draws).mean(axis=0)
    pooled_arm = int(np.where(~blocked[-1], pooled_values, -np.inf).argmax())
    pooled_best = best_arm_frequencies(pooled_draws, k)
    pooled_weights = finish(thompson_weights(pooled_best, epsilon), vetoed[-1])

    routes = []
    for i, sid in enumerate(ids):
        values = _values(segment_draws[i])  # (S, K)
        allowed = ~blocked[i]
        own = int(np.where(allowed, values.mean(axis=0), -np.inf).argmax())
        p_own = float((np.where(allowed[None, :], values, -np.inf).argmax(axis=1) == own).mean())
        inherited = pooled_arm if allowed[pooled_arm] else own
        loss = float(np.maximum(values[:, inherited] - values[:, own], 0.0).mean())
        if not allowed[pooled_arm]:
            # The guardrail shut the pooled arm here: the segment's own evidence decides among the rest.
            source, arm, weights = "guardrail", own, own_allocation(segment_draws[i], vetoed[i])
        elif own != inherited and (loss <= tolerance or p_own >= rule.p_best_threshold):
            source, arm, weights = "own", own, own_allocation(segment_draws[i], vetoed[i])
        else:
            source, arm, weights = "pooled", inherited, finish(pooled_weights.copy(), vetoed[i])
        routes.append(SegmentRoute(
            segment_id=sid, arm=arms[arm], own_best_arm=arms[own], source=source,
            expected_loss_of_deviating=loss, p_own_best=p_own,
            allocation=dict(zip(arms, weights.tolist(), strict=True)),
            guardrail_drop_probability=dict(zip(arms[1:], drop_p[i, 1:].tolist(), strict=True)),
            vetoed_arms=tuple(a for a, v in zip(arms, vetoed[i], strict=True) if v)))
    return Routing(
        pooled_arm=arms[pooled_arm], pooled_allocation=dict(zip(arms, pooled_weights.tolist(), strict=True)),
        pooled_best_probabilities=dict(zip(arms, pooled_best.tolist(), strict=True)),
        routes=tuple(routes), expected_loss_tolerance=tolerance, p_best_threshold=rule.p_best_threshold,
        guardrail=guardrail, guardrail_tolerance=guard_tol,
        pooled_vetoed_arms=tuple(a for a, v in zip(arms, vetoed[-1], strict=True) if v))


__all__ = ["DEFAULT_GUARDRAIL", "Guardrail", "Routing", "RoutingRule", "SegmentRoute", "conversion_contrast_group_means",
           "route_segments"]
