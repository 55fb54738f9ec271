"""Policy evaluation with known assignment probabilities (docs/concepts/policy-evaluation.md).

Every visitor's assignment probabilities ``e[i, k] = P(Z_i = k | x_i)`` are
recorded when the arm is drawn, so the augmented inverse-propensity
(doubly-robust) score

    Γ[i, k] = m̂_k(x_i) + 1[z_i = k] (y_i − m̂_k(x_i)) / e[i, k]

has expectation ``E[Y_i(k) | x_i]`` for every arm with ``e[i, k] > 0``,
whatever the outcome model ``m̂`` is: the weighted residual corrects the
model's error exactly on average. ``m̂`` only changes the variance (a good
model shrinks the residuals), never the bias. ``m̂`` must not have been fitted
on the same visitors' outcomes for the standard errors to be honest: use
out-of-fold posterior means, or ``None`` (pure inverse-propensity weighting).

What is here, all pure numpy on arrays aligned with ``observed.visitors()``
(control first, then each treatment):

- ``doubly_robust_scores``: the ``(n, K)`` matrix Γ;
- ``policy_value`` / ``policy_value_difference``: the mean score of a policy
  (or the paired difference of two) with a standard error ``sd / √n``;
- ``rate`` / ``rate_from_scores``: the rank-weighted average treatment effect
  (Yadlowsky et al.) of a priority score, AUTOC or Qini, with a bootstrap
  standard error and interval.

Units: scores, values and RATEs are in the metric's unit per visitor
(dollars for ``revenue_per_visitor``, a conversion probability for
``conversion_rate``).
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
from scipy import special

from ..contracts._checks import (
    fail,
    finite_float,
    integer,
    interval,
    non_negative,
    probability,
    set_field,
)
from ..contracts.data import ObservedExperimentData, propensity_matrix
from ..contracts.schema import MetricFamily

Weighting = Literal["autoc", "qini"]
WEIGHTINGS: tuple[str, ...] = ("autoc", "qini")

#: Rows of an assignment-probability matrix must sum to 1 within this.
_ROW_SUM_TOLERANCE = 1e-6
#: Recorded control probabilities are ``1 − Σ treatment``; rounding can leave them a hair outside [0, 1].
_ROUNDING = 1e-12

SeedLike = int | np.random.Generator


# -- boundary types -------------------------------------------------------------------


def _normal_quantile(owner: str, field: str, level: float) -> float:
    level = probability(owner, field, level, open_interval=True)
    return float(special.ndtri(0.5 + level / 2.0))


@dataclasses.dataclass(frozen=True)
class PolicyValue:
    """The estimated value of a policy (or a difference of two), per visitor.

    ``value``: mean doubly-robust score, in the metric's unit per visitor.
    ``standard_error``: ``sd(scores, ddof=1) / √n``. ``n``: visitors scored.
    """

    value: float
    standard_error: float
    n: int

    def __post_init__(self) -> None:
        owner = "PolicyValue"
        set_field(self, "value", finite_float(owner, "value", self.value))
        set_field(self, "standard_error", non_negative(owner, "standard_error", self.standard_error))
        set_field(self, "n", integer(owner, "n", self.n, minimum=2))

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """Normal-approximation interval ``value ± z · standard_error`` at ``level``."""
        z = _normal_quantile("PolicyValue.interval", "level", level)
        return (self.value - z * self.standard_error, self.value + z * self.standard_error)


@dataclasses.dataclass(frozen=True)
class RateResult:
    """A rank-weighted average treatment effect with its bootstrap uncertainty.

    ``estimate`` (metric unit per visitor), ``standard_error`` (sd of the
    bootstrap estimates), ``ci`` = ``estimate ± z · standard_error`` at
    ``ci_level``, ``weighting`` ``"autoc"`` or ``"qini"``.
    """

    estimate: float
    standard_error: float
    ci: tuple[float, float]
    weighting: str
    ci_level: float = 0.95

    def __post_init__(self) -> None:
        owner = "RateResult"
        set_field(self, "estimate", finite_float(owner, "estimate", self.estimate))
        set_field(self, "standard_error", non_negative(owner, "standard_error", self.standard_error))
        set_field(self, "ci", interval(owner, "ci", self.ci))
        if self.weighting not in WEIGHTINGS:
            raise fail(owner, "weighting", f"got {self.weighting!r}", f"use one of {list(WEIGHTINGS)}")
        set_field(self, "ci_level", probability(owner, "ci_level", self.ci_level, open_interval=True))


# -- input checks ---------------------------------------------------------------------


def _check_observed(where: str, observed: object) -> ObservedExperimentData:
    if not isinstance(observed, ObservedExperimentData):
        raise TypeError(f"{where}: expected ObservedExperimentData, got {type(observed).__name__}. "
                        "Fix: pass the experiment's observed data (pt.load_experiment / pt.simulate).")
    if observed.n_visitors < 2:
        raise ValueError(f"{where}: {observed.n_visitors} visitor(s); a standard error needs at least 2. "
                         "Fix: evaluate on more visitors.")
    return observed


def _real_array(where: str, name: str, value: object, shape: tuple[int, ...], what: str) -> np.ndarray:
    """A float64 copy of ``value`` of exactly ``shape``, all finite; errors name row and column."""
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{where}: {name} has dtype {array.dtype}; expected real numbers. "
                         f"Fix: pass a float array of shape {shape} ({what}).")
    if array.shape != shape:
        raise ValueError(f"{where}: {name} has shape {array.shape}, expected {shape} ({what}). "
                         "Fix: align it with observed.visitors() rows (control first) and arm order.")
    array = array.astype(np.float64)
    bad = ~np.isfinite(array)
    if bad.any():
        spot = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{where}: {name} is not finite at {spot} ({array[spot]}). "
                         "Fix: drop or impute those rows; never pass NaN or inf.")
    return array


def observed_outcomes(observed: ObservedExperimentData) -> np.ndarray:
    """The analysed outcome ``y`` ``(n,)``: ``converted`` (0/1) for conversion, else ``revenue``."""
    column = "converted" if observed.metric_family is MetricFamily.BINARY else "revenue"
    return observed.visitors()[column].to_numpy(dtype=np.float64)


def _checked_propensities(where: str, observed: ObservedExperimentData, propensities: object,
                          arms: np.ndarray) -> np.ndarray:
    """``e`` ``(n, K)``: recorded or given, probability rows, positive for the arm received."""
    n, k = observed.n_visitors, observed.n_arms
    if propensities is None:
        recorded = propensity_matrix(observed)
        if recorded is None:
            raise ValueError(f"{where}: the data record no assignment probabilities, so the estimate would "
                             "not be unbiased. Fix: record them at assignment (an AssignmentPlan, or the "
                             "`propensity` / `propensity_1..K-1` columns of the visitor frames), or pass "
                             "propensities=(n, K) array of P(Z = k | x) aligned with observed.visitors().")
        e, source = recorded.astype(np.float64), "recorded propensities"
    else:
        e = _real_array(where, "propensities", propensities, (n, k), "P(Z = k | x) per visitor and arm")
        source = "propensities"
    e = np.where((e < 0) & (e > -_ROUNDING), 0.0, e)
    e = np.where((e > 1) & (e < 1 + _ROUNDING), 1.0, e)
    outside = (e < 0) | (e > 1)
    if outside.any():
        spot = tuple(int(i) for i in np.argwhere(outside)[0])
        raise ValueError(f"{where}: {source} at {spot} is {e[spot]}, not a probability. "
                         "Fix: pass P(Z = k | x) in [0, 1].")
    off = np.abs(e.sum(axis=1) - 1.0) > _ROW_SUM_TOLERANCE
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise ValueError(f"{where}: {source} of visitor {row} sum to {e[row].sum()}, not 1. "
                         "Fix: give every visitor one probability per arm (control first), summing to 1.")
    received = e[np.arange(n), arms]
    zero = received <= 0
    if zero.any():
        row = int(np.flatnonzero(zero)[0])
        arm = observed.arm_names[arms[row]]
        raise ValueError(f"{where}: visitor {row} received arm {arm!r}, whose probability in the "
                         f"{source} is 0: these are not the probabilities the arms were drawn with. "
                         "Fix: record the probabilities actually used at assignment.")
    return e


def _checked_outcome_means(where: str, outcome_means: object, n: int, k: int) -> np.ndarray:
    if outcome_means is None:
        return np.zeros((n, k))
    return _real_array(where, "outcome_means", outcome_means, (n, k), "m̂_k(x_i) per visitor and arm")


def _policy_arms(where: str, name: str, observed: ObservedExperimentData, policy: object) -> np.ndarray:
    """Arm index ``(n,)`` of a policy given as indices or arm names, per visitor or one for all."""
    n, names = observed.n_visitors, observed.arm_names
    array = np.asarray(policy)
    if array.ndim == 0:
        array = np.full(n, array.item(), dtype=array.dtype if array.dtype.kind != "U" else object)
    if array.shape != (n,):
        raise ValueError(f"{where}: {name} has shape {array.shape}, expected ({n},). "
                         "Fix: give one arm per visitor, aligned with observed.visitors() rows.")
    if array.dtype.kind in "UO":
        lookup = {arm: i for i, arm in enumerate(names)}
        unknown = [a for a in dict.fromkeys(array.tolist()) if a not in lookup]
        if unknown:
            raise ValueError(f"{where}: {name} names unknown arm(s) {unknown[:3]}. "
                             f"Fix: use arm names from {list(names)} or indices 0..{len(names) - 1}.")
        return np.array([lookup[a] for a in array.tolist()], dtype=np.int64)
    if array.dtype.kind not in "iu":
        raise ValueError(f"{where}: {name} has dtype {array.dtype}. "
                         f"Fix: pass integer arm indices 0..{len(names) - 1} or arm names {list(names)}.")
    bad = (array < 0) | (array >= len(names))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{where}: {name} gives visitor {row} arm {array[row]}, outside "
                         f"0..{len(names) - 1}. Fix: index arms as {list(names)}.")
    return array.astype(np.int64)


def _require_support(where: str, name: str, observed: ObservedExperimentData, e: np.ndarray,
                     arms: np.ndarray) -> None:
    """Fail when a policy sends a visitor to an arm the design never gave them: not identified."""
    zero = e[np.arange(len(arms)), arms] <= 0
    if zero.any():
        row = int(np.flatnonzero(zero)[0])
        raise ValueError(f"{where}: {name} sends visitor {row} (and {int(zero.sum()) - 1} more) to arm "
                         f"{observed.arm_names[arms[row]]!r}, which the design gave them with probability 0; "
                         "its value is not identified from these data. Fix: restrict the policy to arms "
                         "every visitor could have received, or evaluate it on data that explored them.")


def _treatment_index(where: str, observed: ObservedExperimentData, treatment: object) -> int:
    names = observed.arm_names
    if isinstance(treatment, str):
        if treatment not in observed.treatment_names:
            raise ValueError(f"{where}: unknown treatment {treatment!r}. Fix: use one of "
                             f"{list(observed.treatment_names)} (control {names[0]!r} is the baseline).")
        return names.index(treatment)
    if isinstance(treatment, (int, np.integer)) and not isinstance(treatment, bool) \
            and 1 <= int(treatment) < len(names):
        return int(treatment)
    raise ValueError(f"{where}: treatment {treatment!r} is not a treatment arm. Fix: pass a name from "
                     f"{list(observed.treatment_names)} or an index 1..{len(names) - 1}.")


# -- doubly-robust scores and policy values -------------------------------------------


def _scores(where: str, observed: ObservedExperimentData, outcome_means: object,
            propensities: object) -> tuple[np.ndarray, np.ndarray]:
    """(Γ ``(n, K)``, e ``(n, K)``), every input checked before anything is computed."""
    _check_observed(where, observed)
    n, k = observed.n_visitors, observed.n_arms
    arms = observed.arm_index()
    m = _checked_outcome_means(where, outcome_means, n, k)
    e = _checked_propensities(where, observed, propensities, arms)
    y = observed_outcomes(observed)
    if not np.isfinite(y).all():
        row = int(np.flatnonzero(~np.isfinite(y))[0])
        raise ValueError(f"{where}: the outcome of visitor {row} is {y[row]}. Fix: drop or repair that row.")
    rows = np.arange(n)
    scores = m.copy()
    # Only the received arm has a residual; the others keep the model's prediction.
    scores[rows, arms] += (y - m[rows, arms]) / e[rows, arms]
    return scores, e


def doubly_robust_scores(observed: ObservedExperimentData, outcome_means: np.ndarray | None = None, *,
                         propensities: np.ndarray | None = None) -> np.ndarray:
    """Doubly-robust scores Γ ``(n, K)`` of every visitor under every arm (docs/concepts/policy-evaluation.md).

    ``Γ[i, k] = m̂[i, k] + 1[z_i = k] (y_i − m̂[i, k]) / e[i, k]``, rows aligned
    with ``observed.visitors()``, columns with ``observed.arm_names``; in the
    metric's unit per visitor. ``outcome_means`` ``(n, K)``: m̂, ideally
    out-of-fold; None means 0 (inverse-propensity weighting). ``propensities``
    ``(n, K)`` overrides the recorded assignment probabilities.

    ``E[Γ[i, k] | x_i] = E[Y_i(k) | x_i]`` for every arm with ``e[i, k] > 0``;
    where ``e[i, k] = 0`` the entry is just ``m̂[i, k]`` (not identified), and
    ``policy_value`` / ``rate`` refuse to use it.
    """
    scores, _ = _scores("doubly_robust_scores", observed, outcome_means, propensities)
    return scores


def _mean_and_se(values: np.ndarray) -> PolicyValue:
    n = len(values)
    return PolicyValue(value=float(values.mean()), standard_error=float(values.std(ddof=1) / np.sqrt(n)), n=n)


def policy_value(observed: ObservedExperimentData, policy: np.ndarray | int | str,
                 outcome_means: np.ndarray | None = None, *,
                 propensities: np.ndarray | None = None) -> PolicyValue:
    """Estimated mean outcome per visitor if everyone got the arm ``policy`` picks.

    ``policy``: ``(n,)`` arm indices (0 = control) or arm names, aligned with
    ``observed.visitors()``; a single index or name means that arm for all.
    The policy must be fixed before these outcomes were seen (fitted on
    other data or other folds). Value = ``mean_i Γ[i, π(i)]``, standard error
    ``sd / √n``. A policy that picks an arm of assignment probability 0 for
    some visitor is refused: its value is not identified.
    """
    where = "policy_value"
    scores, e = _scores(where, observed, outcome_means, propensities)
    arms = _policy_arms(where, "policy", observed, policy)
    _require_support(where, "policy", observed, e, arms)
    return _mean_and_se(scores[np.arange(len(arms)), arms])


def policy_value_difference(observed: ObservedExperimentData, policy: np.ndarray | int | str,
                            baseline_policy: np.ndarray | int | str,
                            outcome_means: np.ndarray | None = None, *,
                            propensities: np.ndarray | None = None) -> PolicyValue:
    """Value of ``policy`` minus value of ``baseline_policy``, paired visitor by visitor.

    Both policies as in ``policy_value`` (e.g. ``baseline_policy=0`` for
    all-control). The standard error comes from the per-visitor differences
    ``Γ[i, π(i)] − Γ[i, b(i)]``, so it accounts for the shared visitors:
    "this policy beats all-control by value ± standard_error".
    """
    where = "policy_value_difference"
    scores, e = _scores(where, observed, outcome_means, propensities)
    arms = _policy_arms(where, "policy", observed, policy)
    base = _policy_arms(where, "baseline_policy", observed, baseline_policy)
    _require_support(where, "policy", observed, e, arms)
    _require_support(where, "baseline_policy", observed, e, base)
    rows = np.arange(len(arms))
    return _mean_and_se(scores[rows, arms] - scores[rows, base])


# -- RATE -------------------------------------------------------------------------------


def _rate_statistic(group: np.ndarray, scores: np.ndarray, counts: np.ndarray, n_groups: int,
                    harmonic: np.ndarray, weighting: str) -> float:
    """AUTOC or Qini of scores sorted by priority, each repeated ``counts`` times.

    ``group`` labels tie groups of equal priority in sorted order; within a
    group the scores are replaced by their (count-weighted) mean, which is
    the expectation over every order of breaking the tie. Every group is then
    a block of equal scores, whose contribution to the sums over ranks has a
    closed form, so a bootstrap draw costs O(n) and no re-sort.
    """
    c = np.bincount(group, weights=counts, minlength=n_groups)
    s = np.bincount(group, weights=counts * scores, minlength=n_groups)
    keep = c > 0
    c, s = np.rint(c[keep]).astype(np.int64), s[keep]
    total = int(c.sum())
    mean = s.sum() / total
    block_mean = s / c
    before = np.concatenate([[0], np.cumsum(c)[:-1]])        # ranks before each block
    sum_before = np.concatenate([[0.0], np.cumsum(s)[:-1]])  # score sum before each block
    if weighting == "autoc":
        # Σ_{t=1..c} (S_a + t g) / (a + t) with H the harmonic numbers.
        dh = harmonic[before + c] - harmonic[before]
        sum_running_means = np.sum(sum_before * dh + block_mean * (c - before * dh))
        return float(sum_running_means / total - mean)
    # Qini: (1/n) Σ_j (j/n) (S_j / j − mean) = (Σ_j S_j − mean n(n+1)/2) / n².
    sum_running_sums = np.sum(c * sum_before + block_mean * c * (c + 1) / 2.0)
    return float((sum_running_sums - mean * total * (total + 1) / 2.0) / total**2)


def _rng(where: str, seed: object) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        return np.random.default_rng(int(seed))
    raise ValueError(f"{where}: seed {seed!r} is not an int >= 0 or a numpy Generator. Fix: pass seed=0.")


def rate_from_scores(effect_scores: np.ndarray, priority: np.ndarray, *, weighting: Weighting = "autoc",
                     n_bootstrap: int = 200, seed: SeedLike = 0, ci_level: float = 0.95) -> RateResult:
    """RATE of ``priority`` from per-visitor effect scores, both ``(n,)``.

    Visitors are ranked by ``priority`` descending; at rank j,
    ``TOC_j = mean(scores of the top j) − mean(all scores)``;
    AUTOC = ``(1/n) Σ_j TOC_j`` and Qini = ``(1/n) Σ_j (j/n) TOC_j`` (the
    rank sums discretising ∫₀¹ TOC(q) dq and ∫₀¹ q TOC(q) dq). Ties in
    priority are averaged: tied visitors share their mean score, the
    expectation over every way of breaking the tie, so the result does not
    depend on row order. Standard error: sd of ``n_bootstrap`` visitor
    resamples (seeded by ``seed``); ``ci`` = estimate ± z · SE.
    """
    where = "rate_from_scores"
    scores = _real_array(where, "effect_scores", effect_scores, np.shape(effect_scores), "one per visitor")
    if scores.ndim != 1 or len(scores) < 2:
        raise ValueError(f"{where}: effect_scores has shape {scores.shape}. Fix: pass (n,) scores, n >= 2.")
    n = len(scores)
    ranks = _real_array(where, "priority", priority, (n,), "one priority per visitor, higher = treat first")
    if weighting not in WEIGHTINGS:
        raise ValueError(f"{where}: weighting {weighting!r}. Fix: use one of {list(WEIGHTINGS)}.")
    n_bootstrap = integer(where, "n_bootstrap", n_bootstrap, minimum=2)
    z = _normal_quantile(where, "ci_level", ci_level)
    rng = _rng(where, seed)

    order = np.argsort(-ranks, kind="stable")
    sorted_priority, sorted_scores = ranks[order], scores[order]
    group = np.concatenate([[0], np.cumsum(sorted_priority[1:] != sorted_priority[:-1])])
    n_groups = int(group[-1]) + 1
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, n + 1))])

    def statistic(counts: np.ndarray) -> float:
        return _rate_statistic(group, sorted_scores, counts, n_groups, harmonic, weighting)

    estimate = statistic(np.ones(n))
    # Resampling positions of the sorted array is resampling visitors; counts keep the sort.
    boot = np.array([statistic(np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64))
                     for _ in range(n_bootstrap)])
    se = float(boot.std(ddof=1))
    return RateResult(estimate=estimate, standard_error=se, ci=(estimate - z * se, estimate + z * se),
                      weighting=weighting, ci_level=ci_level)


def rate(observed: ObservedExperimentData, priority: np.ndarray, treatment: str | int,
         outcome_means: np.ndarray | None = None, *, propensities: np.ndarray | None = None,
         weighting: Weighting = "autoc", n_bootstrap: int = 200, seed: SeedLike = 0,
         ci_level: float = 0.95) -> RateResult:
    """Rank-weighted average treatment effect of ``treatment`` vs control, ranked by ``priority``.

    ``priority`` ``(n,)``: who to treat first (higher first), e.g. the
    estimated effect, fitted WITHOUT these visitors' outcomes. Effect scores
    are ``Γ[:, treatment] − Γ[:, control]`` (``doubly_robust_scores``);
    the RATE is computed by ``rate_from_scores``. A positive AUTOC says the
    visitors ranked first gain more than average: the priority finds real
    heterogeneity. Every visitor needs a positive probability of both arms.
    """
    where = "rate"
    scores, e = _scores(where, observed, outcome_means, propensities)
    arm = _treatment_index(where, observed, treatment)
    for k in (0, arm):
        zero = e[:, k] <= 0
        if zero.any():
            first = int(np.flatnonzero(zero)[0])
            raise ValueError(f"{where}: {int(zero.sum())} visitor(s) (first: row {first}) "
                             f"could not receive arm {observed.arm_names[k]!r} (probability 0), so their "
                             "effect is not identified. Fix: evaluate on visitors whose design gave both "
                             "arms a positive probability (e.g. the exploration cell).")
    return rate_from_scores(scores[:, arm] - scores[:, 0], priority, weighting=weighting,
                            n_bootstrap=n_bootstrap, seed=seed, ci_level=ci_level)


__all__ = [
    "WEIGHTINGS",
    "PolicyValue",
    "RateResult",
    "doubly_robust_scores",
    "observed_outcomes",
    "policy_value",
    "policy_value_difference",
    "rate",
    "rate_from_scores",
]
