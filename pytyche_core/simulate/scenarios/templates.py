"""The nine scenario templates: where each treatment arm helps or hurts.

A template fixes the *shape* of the truth; the profile and the knobs fix its
size. Arm 1 is the K = 2 treatment; K = 3 adds arm 2 with a different shape,
so that (except in constant, partial_null and high_noise) the best arm
differs across shoppers.

``main_ratio`` of an arm is its default main effect relative to the
profile's default for the template (arm 1: 1.0). ``None`` means "derived":
the main effect is chosen so that tau is exactly 0 wherever the raw shape is
0, which is how sparse_benefit, partial_null and clustered get their exact
null groups.

Truth shapes (tau_k = main_delta_k + hte_scale * standardised r_k(x)):

- constant: r = 0, the same effect for everyone; arm 2 half of arm 1's.
- reversal: a steep step in price_sensitivity; about half harmed; arm 2 mirrored.
- sparse_benefit: 0 for 85%, positive for the top 15% of basket_affinity; arm 2 recency.
- monotone_gradient: strictly increasing in engagement; arm 2 strictly decreasing.
- nonlinear: a bump in (engagement, basket_affinity); arm 2 a valley in
  (recency, price_sensitivity); no linear trend in any feature.
- interaction_only: tanh(engagement) x tanh(price_sensitivity), an independent
  pair; arm 2 recency x basket_affinity.
- partial_null: 0 for returning shoppers, positive for new ones; arm 2 null.
- high_noise: a weak tanh(recency) gradient under strong baseline variation
  and log-normal sigma 1.2; arm 2 along engagement.
- clustered: a level per latent segment (helps 45%, null 20%, harms 35%),
  with segment-specific conversion / order-value splits; arm 2 its own levels.
"""

from __future__ import annotations

import dataclasses

from .effects import SegmentSplit, Split, UniformSplit
from .population import (
    BASKET_AFFINITY,
    ENGAGEMENT,
    PRICE_SENSITIVITY,
    RECENCY,
    SEGMENTS,
)
from .shapes import (
    Bump,
    Gradient,
    Interaction,
    NewShoppersOnly,
    NoHeterogeneity,
    Ring,
    SegmentLevels,
    Shape,
    SignStep,
    TopShare,
)


@dataclasses.dataclass(frozen=True)
class ArmTemplate:
    """One treatment arm of a template: its raw shape, default main-effect rule and revenue split."""

    shape: Shape
    main_ratio: float | None = 1.0
    split: Split = UniformSplit()


@dataclasses.dataclass(frozen=True)
class Template:
    """A scenario template: ``arms[0]`` is arm 1, ``arms[1]`` arm 2 (K >= 3).

    ``truth_shape`` is one line on arm 1 (the K = 2 truth); ``second_arm``
    a clause on arm 2 that K >= 3 appends. Arms 3 and 4 (K = 4, 5: for
    scaling in the number of arms) repeat arms 1 and 2's shapes at half
    their main effect, or at the same one where the shape sets it (``arm``).
    """

    name: str
    description: str
    truth_shape: str
    second_arm: str
    arms: tuple[ArmTemplate, ArmTemplate]
    segmented: bool = False  # features from the latent-segment mixture, not the copula
    prognostic_strength: float = 1.0
    noisy: bool = False  # use the profile's large log-normal sigma

    def arm(self, index: int) -> ArmTemplate:
        """Treatment arm ``index + 1``: the template's own two, then the same shapes at half the main effect."""
        own = self.arms[index % 2]
        if index < 2 or own.main_ratio is None:  # None: the main effect follows the shape (0 outside its groups)
            return own
        return dataclasses.replace(own, main_ratio=own.main_ratio * 0.5 ** (index // 2))


_ENGAGEMENT_BY_SEGMENT = tuple(s.means[ENGAGEMENT] for s in SEGMENTS)

TEMPLATES: dict[str, Template] = {}


def _register(template: Template) -> None:
    TEMPLATES[template.name] = template


_register(Template(
    name="constant",
    description="Homogeneous effect: every shopper gains the same; targeting cannot help.",
    truth_shape="tau_1(x) = main_delta for every shopper (effect sd exactly 0).",
    second_arm="tau_2 = a constant half of tau_1.",
    arms=(ArmTemplate(NoHeterogeneity()), ArmTemplate(NoHeterogeneity(), main_ratio=0.5)),
))

_register(Template(
    name="reversal",
    description="The effect flips sign across price sensitivity: price-insensitive shoppers gain, "
                "price-sensitive shoppers are harmed (about half); arm 2 is the mirror image.",
    truth_shape="tau_1 = main + hte * h, h a steep standardised step falling at the median of "
                "price_sensitivity (about half harmed when main_delta << hte_scale).",
    second_arm="tau_2 the mirror image, rising there (main 0.8x arm 1's).",
    arms=(ArmTemplate(SignStep(PRICE_SENSITIVITY, sign=-1.0)),
          ArmTemplate(SignStep(PRICE_SENSITIVITY, sign=1.0), main_ratio=0.8)),
))

_register(Template(
    name="sparse_benefit",
    description="Only the top 15% of basket affinity benefit; everyone else is unaffected. "
                "Arm 2 helps only the 15% most recent shoppers.",
    truth_shape="tau_1 = 0 exactly for the 85% below the basket_affinity 85th percentile, > 0 above "
                "it (at the default main_delta).",
    second_arm="tau_2 the same on the recency 85th percentile.",
    arms=(ArmTemplate(TopShare(BASKET_AFFINITY), main_ratio=None),
          ArmTemplate(TopShare(RECENCY), main_ratio=None)),
))

_register(Template(
    name="monotone_gradient",
    description="The effect rises smoothly with engagement; arm 2's falls with it.",
    truth_shape="tau_1 strictly increasing in engagement: main + hte * standardised Phi(engagement).",
    second_arm="tau_2 strictly decreasing in engagement.",
    arms=(ArmTemplate(Gradient(ENGAGEMENT)), ArmTemplate(Gradient(ENGAGEMENT, sign=-1.0))),
))

_register(Template(
    name="nonlinear",
    description="A non-monotone effect: shoppers average on engagement and basket affinity gain "
                "most; arm 2 favours shoppers extreme on recency or price sensitivity.",
    truth_shape="tau_1 = main + hte * standardised bump exp(-(engagement^2 + basket_affinity^2) / 2): "
                "non-monotone, no linear trend in any feature.",
    second_arm="tau_2 a valley tanh(recency^2 + price_sensitivity^2 - 1.5), also without linear trend.",
    arms=(ArmTemplate(Bump(ENGAGEMENT, BASKET_AFFINITY)), ArmTemplate(Ring(RECENCY, PRICE_SENSITIVITY))),
))

_register(Template(
    name="interaction_only",
    description="The effect depends on two features jointly and on neither alone: engaged "
                "price-sensitive and disengaged price-insensitive shoppers gain.",
    truth_shape="tau_1 = main + hte * standardised tanh(1.5 engagement) tanh(1.5 price_sensitivity), "
                "an independent pair: no effect of either alone.",
    second_arm="tau_2 the same on recency x basket_affinity.",
    arms=(ArmTemplate(Interaction(ENGAGEMENT, PRICE_SENSITIVITY)),
          ArmTemplate(Interaction(RECENCY, BASKET_AFFINITY))),
))

_register(Template(
    name="partial_null",
    description="Returning shoppers are unaffected; new shoppers gain, more so when engaged. "
                "At K = 3 arm 2 does nothing for anyone.",
    truth_shape="tau_1 = 0 exactly for returning shoppers, > 0 and rising with engagement for new "
                "ones (at the default main_delta).",
    second_arm="tau_2 = 0 exactly for everyone.",
    arms=(ArmTemplate(NewShoppersOnly(ENGAGEMENT), main_ratio=None),
          ArmTemplate(NoHeterogeneity(), main_ratio=0.0)),
))

_register(Template(
    name="high_noise",
    description="A weak, smooth effect buried in strong baseline variation and heavy-tailed order "
                "values (large log-normal sigma).",
    truth_shape="tau_1 = main + hte * standardised tanh(recency), small next to the spread of baseline "
                "revenue (prognostic strength 1.3, large log-normal sigma).",
    second_arm="tau_2 along tanh(engagement) with half the main effect.",
    arms=(ArmTemplate(SignStep(RECENCY, steepness=1.0)),
          ArmTemplate(SignStep(ENGAGEMENT, steepness=1.0), main_ratio=0.5)),
    prognostic_strength=1.3,
    noisy=True,
))

# Latent segments (population.SEGMENTS): loyal high-value, bargain hunters,
# mobile browsers, new explorers, deal-driven bulk buyers. Arm 1 helps the
# loyal and the explorers, harms bargain hunters and bulk buyers (35% of
# shoppers), leaves mobile browsers alone. Explorers convert more but buy
# smaller baskets (omega > 1); bulk buyers convert a little more but spend
# much less (omega < 0): the parts move in opposite directions.
_register(Template(
    name="clustered",
    description="Five latent shopper segments with benefit / neutral / harm profiles and separate "
                "conversion and order-value responses; arm 2 has its own segment profile.",
    truth_shape="tau_1 nearly constant within each latent segment (cluster_id): helps 45%, exactly 0 "
                "for 20%, harms 35% (at the default main_delta); conversion and order value can move apart.",
    second_arm="tau_2 its own segment profile (helps bargain hunters and mobile browsers).",
    arms=(
        ArmTemplate(SegmentLevels((1.2, -0.6, 0.0, 1.0, -0.5), ENGAGEMENT, _ENGAGEMENT_BY_SEGMENT),
                    main_ratio=None, split=SegmentSplit((0.5, 0.5, 0.5, 1.6, -0.6))),
        ArmTemplate(SegmentLevels((-0.4, 1.0, 0.8, 0.0, -0.6), ENGAGEMENT, _ENGAGEMENT_BY_SEGMENT),
                    main_ratio=None, split=SegmentSplit((0.5, 1.5, 0.3, 0.5, -0.4))),
    ),
    segmented=True,
))

SCENARIO_NAMES: tuple[str, ...] = tuple(TEMPLATES)
