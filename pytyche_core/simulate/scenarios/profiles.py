"""Profiles: the baseline business and the default effect sizes of every template.

Default effects are stated as fractions of the baseline metric (the baseline
conversion rate, or the baseline revenue per visitor ``baseline_rate * aov``)
so they scale with ``baseline_rate`` / ``aov`` overrides. ``main`` is the
population-average effect of arm 1; ``None`` means derived from ``hte`` so
that the effect is exactly 0 wherever the template's shape is 0. ``hte`` is
the population sd of the per-shopper effect.

- ``realistic``: about 3% conversion, $60 AOV, log-normal sigma 0.6 and
  modest effects (main about 3-5%, heterogeneity 6-10% of baseline):
  per-shopper effects are barely identifiable at typical sample sizes.
- ``stress``: 15% conversion and effects about 2.5x larger relative to the
  baseline: the signal-to-noise-friendly benchmarking regime.

Defaults as % of the baseline metric, main / hte ("derived" = hte * mean(r) / sd(r),
the value that zeroes the effect outside the benefit group):

    template            realistic        stress
    constant            4 / 0            10 / 0
    reversal            3 / 8            8 / 20
    sparse_benefit      derived / 10     derived / 25     (derived ~ 0.41 hte)
    monotone_gradient   4 / 6            10 / 15
    nonlinear           4 / 6            10 / 15
    interaction_only    4 / 6            10 / 15
    partial_null        derived / 6      derived / 15     (derived ~ 0.88 hte)
    high_noise          2 / 3            3 / 5
    clustered           derived / 10     derived / 25     (derived ~ 0.40 hte)

Headroom: at realistic revenue defaults hte_scale can roughly double before
some shopper's treated revenue would turn negative (stress: about 1.2x; sparse
and partial_null: 3-6x); ``scenario`` says so, naming the knob, when it does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

from ...contracts._checks import fail
from .templates import SCENARIO_NAMES


@dataclasses.dataclass(frozen=True)
class EffectDefaults:
    """Default knobs of one template, as fractions of the baseline metric (``main`` None = derived)."""

    main: float | None
    hte: float


@dataclasses.dataclass(frozen=True)
class Profile:
    """A baseline business (conversion rate, AOV in dollars, log-normal sigma) and default effects."""

    name: str
    baseline_rate: float
    aov: float
    sigma: float
    noisy_sigma: float  # high_noise's heavier-tailed order values
    effects: Mapping[str, EffectDefaults]

    def __post_init__(self) -> None:
        missing = set(SCENARIO_NAMES) - set(self.effects)
        if missing:
            raise fail("Profile", "effects", f"no defaults for {sorted(missing)}", "give every template EffectDefaults")
        object.__setattr__(self, "effects", MappingProxyType(dict(self.effects)))


REALISTIC = Profile(
    name="realistic", baseline_rate=0.03, aov=60.0, sigma=0.6, noisy_sigma=1.2,
    effects={
        "constant": EffectDefaults(main=0.04, hte=0.0),
        "reversal": EffectDefaults(main=0.03, hte=0.08),
        "sparse_benefit": EffectDefaults(main=None, hte=0.10),
        "monotone_gradient": EffectDefaults(main=0.04, hte=0.06),
        "nonlinear": EffectDefaults(main=0.04, hte=0.06),
        "interaction_only": EffectDefaults(main=0.04, hte=0.06),
        "partial_null": EffectDefaults(main=None, hte=0.06),
        "high_noise": EffectDefaults(main=0.02, hte=0.03),
        "clustered": EffectDefaults(main=None, hte=0.10),
    },
)

STRESS = Profile(
    name="stress", baseline_rate=0.15, aov=60.0, sigma=0.6, noisy_sigma=1.2,
    effects={
        "constant": EffectDefaults(main=0.10, hte=0.0),
        "reversal": EffectDefaults(main=0.08, hte=0.20),
        "sparse_benefit": EffectDefaults(main=None, hte=0.25),
        "monotone_gradient": EffectDefaults(main=0.10, hte=0.15),
        "nonlinear": EffectDefaults(main=0.10, hte=0.15),
        "interaction_only": EffectDefaults(main=0.10, hte=0.15),
        "partial_null": EffectDefaults(main=None, hte=0.15),
        "high_noise": EffectDefaults(main=0.03, hte=0.05),
        "clustered": EffectDefaults(main=None, hte=0.25),
    },
)

PROFILES: Mapping[str, Profile] = MappingProxyType({p.name: p for p in (REALISTIC, STRESS)})
