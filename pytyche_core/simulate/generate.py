"""``simulate``: one simulated experiment, from a config to a ``CalibrationBundle``.

Stages: sample features -> potential outcomes -> (optional) external
assignment plan -> assign and observe -> bundle with the truth aligned to
the observed rows. Randomness: ``SeedSequence(config.seed)`` has three
children (assignment, outcome noise, features), so the same seed gives the
same bundle bit for bit, and changing the assignment leaves features and
outcome noise as they were.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..contracts import CalibrationBundle
from .bundle import build_bundle
from .config import LATENT_CLUSTER_COLUMN, AssignmentPlan, SimulationConfig
from .features import sample_features
from .observe import assign_and_observe, child_seeds
from .outcomes import compute_potential_outcomes

#: Child of the root seed that draws features (0 and 1 are assignment and outcomes).
_FEATURE_STREAM = 2

AssignHook = Callable[[pd.DataFrame], AssignmentPlan]


def _checked_plan(plan: object, n: int, k: int) -> AssignmentPlan:
    if not isinstance(plan, AssignmentPlan):
        raise TypeError(f"simulate: the assign hook returned {type(plan).__name__}, not an AssignmentPlan. "
                        "Fix: return AssignmentPlan(probabilities=(n, K) array, arms=..., cells=...).")
    if plan.probabilities.shape != (n, k):
        raise ValueError(f"simulate: the assign hook's plan has probabilities of shape {plan.probabilities.shape}, "
                         f"expected ({n}, {k}): one row per visitor, one column per arm (control first). "
                         "Fix: build the plan over every row of the frame the hook received.")
    return plan


def simulate(config: SimulationConfig, *, assign: AssignHook | None = None) -> CalibrationBundle:
    """Simulate one experiment: observed data plus its aligned ground truth.

    ``assign``, when given, receives the observable features (n rows in
    generation order; no latent cluster column) and returns an
    ``AssignmentPlan`` for n visitors and K arms; without it, arms are drawn
    from ``config.assignment``.
    """
    if not isinstance(config, SimulationConfig):
        raise TypeError(f"simulate: expected a SimulationConfig, got {type(config).__name__}.")
    root = np.random.SeedSequence(config.seed)
    feature_rng = np.random.default_rng(child_seeds(root, _FEATURE_STREAM + 1)[_FEATURE_STREAM])
    features = sample_features(config.feature_sampler, feature_rng, config.n_visitors)
    outcomes = compute_potential_outcomes(features, config.metric_mode, config.revenue_model)
    observable = features.drop(columns=[LATENT_CLUSTER_COLUMN], errors="ignore")
    plan = None
    if assign is not None:
        plan = _checked_plan(assign(observable.copy()), config.n_visitors, config.metric_mode.n_treatments)
    variants, order = assign_and_observe(
        observable, outcomes, config.assignment, root,
        revenue_model=config.revenue_model, plan=plan, experiment_id=config.experiment_id,
        visitor_id_prefix=config.visitor_id_prefix,
    )
    return build_bundle(variants, outcomes, order, experiment_id=config.experiment_id)


__all__ = ["AssignHook", "simulate"]
