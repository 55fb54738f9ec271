"""The scenario catalog: nine calibrated ground truths for the simulator.

``scenario(name, k=2|3, metric=..., profile="realistic"|"stress", main_delta=...,
hte_scale=...)`` returns a ``Scenario`` whose ``config(n_visitors, seed=...)``
is a ready ``SimulationConfig``. ``main_delta`` (the population-average
effect of each arm) and ``hte_scale`` (the population sd of the
per-shopper effect) are independent knobs on the metric's own scale.

Modules: ``population`` (the shoppers), ``baseline`` (control surfaces),
``shapes`` (raw heterogeneity shapes), ``effects`` (knobs -> per-shopper
effect), ``truth`` (potential outcomes and surfaces), ``templates`` (the
nine shapes per arm), ``profiles`` (baselines and default knobs), ``build``
(``scenario``).
"""

from .build import ARM_COUNTS, METRICS, Scenario, scenario
from .profiles import PROFILES, EffectDefaults, Profile
from .templates import SCENARIO_NAMES

__all__ = ["ARM_COUNTS", "METRICS", "PROFILES", "SCENARIO_NAMES", "EffectDefaults", "Profile", "Scenario",
           "scenario"]
