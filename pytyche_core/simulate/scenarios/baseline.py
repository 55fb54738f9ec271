"""Control (arm 0) surfaces: who converts and how much they spend without treatment.

Conversion is ``sigmoid(intercept + strength * conversion_score(x))`` and the
expected order value given conversion is ``aov * exp(strength *
order_value_score(x)) / normaliser``. Both scores are bounded sums of tanh
terms and indicators, so every shopper's probability stays strictly inside
(0, 1) and every order value positive. The intercept and the normaliser are
solved on the reference sample so that, exactly there, mean conversion is the
requested baseline rate and the average order value *of converters* (what an
analyst reads off the data) is the requested AOV; hence mean revenue per
visitor is baseline_rate * aov.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import optimize, special

from .population import Shoppers


def conversion_score(shoppers: Shoppers) -> np.ndarray:
    """Log-odds shift of conversion: engaged, recent, returning and desktop shoppers buy more."""
    return (0.5 * np.tanh(shoppers.engagement) + 0.3 * np.tanh(shoppers.recency)
            + 0.3 * shoppers.returning + 0.15 * shoppers.desktop - 0.1 * shoppers.tablet)


def order_value_score(shoppers: Shoppers) -> np.ndarray:
    """Log shift of order value: basket affinity and desktop raise it, price sensitivity lowers it."""
    return (0.25 * np.tanh(shoppers.basket_affinity) - 0.2 * np.tanh(shoppers.price_sensitivity)
            + 0.1 * shoppers.desktop)


@dataclasses.dataclass(frozen=True)
class Baseline:
    """Control conversion probability and expected order value (dollars) of each shopper.

    ``strength`` multiplies both scores (1 = modest prognostic variation;
    high_noise uses more). ``sigma`` is the log-normal dispersion of order
    values, the same under every arm.
    """

    intercept: float
    strength: float
    aov: float
    order_value_normaliser: float
    sigma: float

    def conversion(self, shoppers: Shoppers) -> np.ndarray:
        return special.expit(self.intercept + self.strength * conversion_score(shoppers))

    def order_value(self, shoppers: Shoppers) -> np.ndarray:
        return self.aov * np.exp(self.strength * order_value_score(shoppers)) / self.order_value_normaliser

    def revenue(self, shoppers: Shoppers) -> np.ndarray:
        """Expected revenue per visitor under control, p0 * m0 (dollars)."""
        return self.conversion(shoppers) * self.order_value(shoppers)


def _mean_matching_intercept(score: np.ndarray, rate: float) -> float:
    """The intercept a with mean(sigmoid(a + score)) = rate: Newton steps, bisection as a fallback."""
    a = float(special.logit(rate) - score.mean())
    for _ in range(30):
        p = special.expit(a + score)
        gap = float(p.mean()) - rate
        if abs(gap) <= 1e-12 * rate:
            return a
        a -= gap / float((p * (1.0 - p)).mean())
    # The mean is increasing in the intercept and spans (0, 1) on this bracket.
    return float(optimize.brentq(lambda b: float(special.expit(b + score).mean()) - rate, -40.0, 40.0,
                                 xtol=1e-12))


def solve_baseline(reference: Shoppers, *, baseline_rate: float, aov: float, sigma: float,
                   strength: float) -> Baseline:
    """The baseline whose mean conversion on ``reference`` is ``baseline_rate`` and converters' AOV ``aov``."""
    score = strength * conversion_score(reference)
    intercept = _mean_matching_intercept(score, baseline_rate)
    conversion = special.expit(intercept + score)
    # Weight by conversion: the AOV is an average over orders, not over visitors.
    spend = np.exp(strength * order_value_score(reference))
    normaliser = float((conversion * spend).mean() / conversion.mean())
    return Baseline(intercept=float(intercept), strength=strength, aov=aov,
                    order_value_normaliser=normaliser, sigma=sigma)
