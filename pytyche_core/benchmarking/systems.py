"""The systems compared on the catalog, and one scenario's comparison as rows.

``pytyche`` is our joint hurdle fit, ``pytyche_independent`` the same model
with independent pooling (one treatment forest per arm); ``stochtree`` and
``bartz`` (K = 2 only) are their BCFs as two-part models, ``econml`` is
``CausalForestDML`` on revenue, ``t_learner`` a cross-fitted T-learner
(``peers.py`` says how each is fitted).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence

import pandas as pd

from .peers import (
    STOCHTREE_SETTINGS,
    Estimate,
    as_estimate,
    bartz_effects,
    econml_estimate,
    stochtree_effects,
    stochtree_sweeps,
    t_learner_estimate,
)
from .scores import score

SYSTEMS = ("pytyche", "pytyche_independent", "stochtree", "bartz", "econml", "t_learner")
#: The package each peer needs (the ``bench`` extra).
_PACKAGES = {"stochtree": "stochtree", "bartz": "bartz", "econml": "econml"}


def check_systems(systems: Sequence[str], *, k: int, stochtree: str = "recommended") -> tuple[str, ...]:
    """``systems`` as a tuple, after refusing unknown names, bartz at K != 2 and peers not installed."""
    systems = tuple(systems)
    if not systems:
        raise ValueError(f"no system to compare. Fix: name one or more of {SYSTEMS}.")
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown:
        raise ValueError(f"unknown system(s) {unknown}. Fix: choose from {SYSTEMS}.")
    if "bartz" in systems and k != 2:
        raise ValueError(f"bartz's BCF has one binary treatment, so it runs at K = 2 only (here K = {k}). "
                         "Fix: leave bartz out, or compare two arms.")
    if stochtree not in STOCHTREE_SETTINGS:
        raise ValueError(f"unknown stochtree setting {stochtree!r}. Fix: one of {STOCHTREE_SETTINGS}.")
    missing = [s for s in systems if s in _PACKAGES and importlib.util.find_spec(_PACKAGES[s]) is None]
    if missing:
        raise ImportError(f"system(s) {missing} need package(s) {[_PACKAGES[s] for s in missing]}, not installed. "
                          "Fix: pip install -e '.[bench]', or leave them out.")
    return systems


def estimate_system(observed, system: str, *, seed: int, config=None, stochtree: str = "recommended") -> Estimate:
    """One system's ``Estimate`` of every visitor's revenue contrasts; ``config``: our ``BCFConfig``."""
    if system in ("pytyche", "pytyche_independent"):
        from ..posterior.fit import fit

        pooling = "joint" if system == "pytyche" else "independent"
        return as_estimate(fit(observed, config=config, seed=seed, pooling=pooling).rpv_cate_samples)
    if system == "stochtree":
        return as_estimate(stochtree_effects(observed, sweeps=stochtree_sweeps(stochtree), seed=seed))
    if system == "bartz":
        return as_estimate(bartz_effects(observed, seed=seed))
    if system == "econml":
        return econml_estimate(observed, seed=seed)
    if system == "t_learner":
        return t_learner_estimate(observed, seed=seed)
    raise ValueError(f"unknown system {system!r}. Fix: one of {SYSTEMS}.")


def score_system(observed, truth, system: str, *, seed: int, config=None,
                 stochtree: str = "recommended") -> dict[str, float]:
    """``score`` of one system on one data set, with ``seconds``: its fit and every visitor's effects."""
    started = time.perf_counter()
    estimate = estimate_system(observed, system, seed=seed, config=config, stochtree=stochtree)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, **score(estimate, truth.contrasts(), observed)}


def compare_on_scenario(scenario: str, *, k: int, profile: str, n: int, seed: int, systems: Sequence[str],
                        config=None, stochtree: str = "recommended") -> pd.DataFrame:
    """One catalog scenario simulated once, every system fitted and scored on it: one row per system.

    Columns: scenario, k, profile, n, seed, system, then ``score_system``'s. Systems run in
    this process one after another; the benchmark script runs each in its own process instead.
    """
    from ..simulate import scenario as catalog_scenario
    from ..simulate import simulate

    systems = check_systems(systems, k=k, stochtree=stochtree)
    observed, truth = simulate(catalog_scenario(scenario, k=k, profile=profile).config(n, seed=seed))
    rows = [{"scenario": scenario, "k": k, "profile": profile, "n": n, "seed": seed, "system": system,
             **score_system(observed, truth, system, seed=seed, config=config, stochtree=stochtree)}
            for system in systems]
    return pd.DataFrame(rows)
