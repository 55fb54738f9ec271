"""The ground-truth simulator: features, potential outcomes, assignment, observation, truth.

``simulate(config)`` runs the whole pipeline; the stages are public too, so
a sequential experiment can drive assignment round by round.
"""

from .bundle import build_bundle, build_truth
from .cart import expected_cart_revenue, expected_prices, sample_cart_revenue
from .config import (
    LATENT_CLUSTER_COLUMN,
    AssignmentConfig,
    AssignmentPlan,
    CopulaConfig,
    FeatureSamplerConfig,
    FeatureSpec,
    MetricMode,
    MixtureConfig,
    SimulationConfig,
    SurfaceConfig,
)
from .features import sample_features
from .generate import AssignHook, simulate
from .observe import (
    OutcomeNoise,
    assign_and_observe,
    child_seeds,
    draw_outcome_noise,
    realize_outcomes,
)
from .outcomes import PotentialOutcomes, compute_potential_outcomes
from .rounds import SimulatedRounds
from .scenarios import PROFILES, SCENARIO_NAMES, Scenario, scenario
from .surfaces import (
    add_surfaces,
    constant_surface,
    feature_surface,
    multiply_surfaces,
    scale_surface,
    sigmoid_surface,
    threshold_surface,
)

__all__ = [
    "LATENT_CLUSTER_COLUMN",
    "AssignHook",
    "AssignmentConfig",
    "AssignmentPlan",
    "CopulaConfig",
    "FeatureSamplerConfig",
    "FeatureSpec",
    "MetricMode",
    "MixtureConfig",
    "OutcomeNoise",
    "PotentialOutcomes",
    "PROFILES",
    "SCENARIO_NAMES",
    "Scenario",
    "SimulatedRounds",
    "SimulationConfig",
    "scenario",
    "SurfaceConfig",
    "add_surfaces",
    "assign_and_observe",
    "build_bundle",
    "build_truth",
    "child_seeds",
    "compute_potential_outcomes",
    "constant_surface",
    "draw_outcome_noise",
    "expected_cart_revenue",
    "expected_prices",
    "feature_surface",
    "multiply_surfaces",
    "realize_outcomes",
    "sample_cart_revenue",
    "sample_features",
    "scale_surface",
    "sigmoid_surface",
    "simulate",
    "threshold_surface",
]
