"""Small BCF fits shared by the posterior tests, made once per test process.

Every fit here uses one config and n = 1500 visitors at K = 3, so the
jitted sampler block compiles once for the probit and once for the Gaussian
channel and every later fit reuses them (a new shape costs a compile).
"""

from __future__ import annotations

import functools

import pytyche_core as pt
from pytyche_core.simulate import scenario

SMALL_CONFIG = pt.BCFConfig(mu_trees=20, tau_trees=10, burn_in=30, draws=20, chains=2, chunk=10)


@functools.cache
def hurdle_fit() -> pt.HurdleBCFResult:
    """Revenue per visitor, reversal scenario, K = 3, 1500 visitors, 2 chains x 20 draws."""
    observed = pt.simulate(scenario("reversal", k=3, profile="stress").config(1500, seed=2)).observed
    return pt.fit(observed, config=SMALL_CONFIG, seed=0)


@functools.cache
def binary_fit() -> pt.BinaryBCFResult:
    """Conversion rate, same scenario and shapes as ``hurdle_fit`` (its compiled probit block is reused)."""
    observed = pt.simulate(scenario("reversal", k=3, profile="stress", metric="conversion_rate")
                           .config(1500, seed=2)).observed
    return pt.fit(observed, config=SMALL_CONFIG, seed=0)
