"""Round checks: each one fails on the fault it exists for."""

from __future__ import annotations

import dataclasses

import pytest

from pytyche_core.experiment import (
    Cell,
    FixedSchedule,
    LoopSettings,
    UniformPolicy,
    checks,
    recommend,
)
from tests.core.posterior.small_fits import hurdle_fit

ARMS = ["control", "treatment_1", "treatment_2"]


@pytest.fixture(scope="module")
def plan():
    return recommend(hurdle_fit().analyze(n_bootstrap=0), history=[], treatments=ARMS,
                     schedule=FixedSchedule(100), n_bootstrap=0)


def test_checks_pass_on_a_sound_round(plan):
    observed = hurdle_fit().observed
    assert checks.probabilities_valid(observed).passed
    assert checks.row_counts(observed, observed.n_visitors).passed
    assert checks.cell_floors(plan, LoopSettings()).passed
    assert checks.guardrail_held(plan).passed
    assert checks.convergence(hurdle_fit()).severity == "warn"


def test_convergence_reads_the_effects_not_the_prior_settings():
    table = hurdle_fit().diagnostics_summary()
    effects = table[table["variable"].isin(["average_effect", "visitor_effect"])
                    | table["variable"].str.startswith("sigma2_")]
    worst = effects["r_hat"].idxmax()
    assert f"{effects['r_hat'].max():.3f} ({worst})" in checks.convergence(hurdle_fit()).detail


def test_checks_fail_on_their_faults(plan):
    observed = hurdle_fit().observed
    assert not checks.row_counts(observed, observed.n_visitors + 1).passed
    assert not checks.cell_floors(plan, LoopSettings(min_control_weight=0.2)).passed
    explore_only = dataclasses.replace(plan, cells=[Cell("explore", 1.0, UniformPolicy())])
    assert not checks.cell_floors(explore_only, LoopSettings()).passed
    route = plan.routing.routes[0]
    broken_route = dataclasses.replace(route, vetoed_arms=(route.arm,))
    broken = dataclasses.replace(plan, routing=dataclasses.replace(plan.routing, routes=(broken_route,)))
    assert not checks.guardrail_held(broken).passed
