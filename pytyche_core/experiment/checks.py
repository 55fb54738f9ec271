"""Checks of one round, as plain results a pipeline can report (Dagster asset checks, logs, tests).

- ``probabilities_valid``: every visitor's recorded assignment probabilities lie in [0, 1] and sum to 1;
- ``cell_floors``: the proposed cells keep the Control and Explore floors and sum to 1;
- ``row_counts``: the round holds the visitors the schedule asked for;
- ``convergence``: rank-normalized R-hat below 1.1 on the effects and noise variances (a warning, not an
  error: a fit that has not mixed still gives a usable, if wider, answer). The sampled prior settings
  (leaf sds, alpha) are in the diagnostics table but not checked: they settle far more slowly than the
  effects they govern (docs/benchmarks.md, "How one fit mixes"), so the warning would always fire;
- ``guardrail_held``: no segment (and not the pooled decision) is routed to an arm the guardrail vetoed.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from ..contracts import ObservedExperimentData, propensity_matrix
from ..posterior.diagnostics import PRIOR_SETTINGS
from .cells import check_cells
from .recommendation import NextRoundPlan
from .round_step import LoopSettings

R_HAT_LIMIT = 1.1


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, ``"error"`` or ``"warn"``, what it found."""

    name: str
    passed: bool
    severity: str
    detail: str


def probabilities_valid(observed: ObservedExperimentData) -> CheckResult:
    probs = propensity_matrix(observed)
    if probs is None:
        return CheckResult("probabilities_valid", False, "error", "no assignment probabilities recorded")
    in_range = bool(((probs >= -1e-12) & (probs <= 1 + 1e-12)).all())
    worst = float(np.abs(probs.sum(axis=1) - 1.0).max()) if len(probs) else 0.0
    return CheckResult("probabilities_valid", in_range and worst <= 1e-6, "error",
                       f"all in [0, 1]: {in_range}; largest |row sum - 1|: {worst:.2e}")


def cell_floors(plan: NextRoundPlan, settings: LoopSettings) -> CheckResult:
    try:
        check_cells(plan.cells, min_control_weight=settings.min_control_weight,
                    min_explore_weight=settings.min_explore_weight)
    except ValueError as err:
        return CheckResult("cell_floors", False, "error", str(err))
    weights = ", ".join(f"{c.name} {c.weight:.3f}" for c in plan.cells)
    return CheckResult("cell_floors", True, "error", weights)


def row_counts(observed: ObservedExperimentData, expected: int) -> CheckResult:
    n = observed.n_visitors
    per_arm = ", ".join(f"{v.name} {v.n_visitors}" for v in observed.variants)
    return CheckResult("row_counts", n == expected, "error", f"{n} visitors (expected {expected}): {per_arm}")


def convergence(posterior) -> CheckResult:
    if posterior.config.chains < 2:
        return CheckResult("convergence", True, "warn", "one chain: R-hat needs two or more (not checked)")
    table = posterior.diagnostics_summary()
    table = table[~table["variable"].str.startswith(PRIOR_SETTINGS)]
    r_hat = table["r_hat"].dropna()
    worst = float(r_hat.max()) if len(r_hat) else math.nan
    label = str(r_hat.idxmax()) if len(r_hat) else "none"
    return CheckResult("convergence", not worst >= R_HAT_LIMIT, "warn",
                       f"largest R-hat {worst:.3f} ({label}); limit {R_HAT_LIMIT}")


def guardrail_held(plan: NextRoundPlan) -> CheckResult:
    routing = plan.routing
    if routing is None:
        return CheckResult("guardrail_held", True, "error", "cold start: no routes")
    broken = [f"segment {r.segment_id} -> {r.arm}" for r in routing.routes if r.arm in r.vetoed_arms]
    if routing.pooled_arm in routing.pooled_vetoed_arms:
        broken.append(f"pooled -> {routing.pooled_arm}")
    vetoes = "; ".join(f"segment {sid}: {', '.join(a)}" for sid, a in sorted(routing.vetoes.items())) or "none"
    return CheckResult("guardrail_held", not broken, "error",
                       f"routes to vetoed arms: {', '.join(broken) or 'none'}; vetoes: {vetoes}")


__all__ = ["CheckResult", "R_HAT_LIMIT", "cell_floors", "convergence", "guardrail_held", "probabilities_valid",
           "row_counts"]
