"""Cart revenue: a converter's order is built from product categories.

A converter buys category j with probability
``sigmoid(logit(base_j) + delta * w_j)``, where ``w_j = base_j / sum(base)``
spreads the visitor's logit shift ``delta`` over categories in proportion to
how often they are bought. Under arm k, ``delta = m_k - m_0`` (the arm's
severity surface minus control's), so control uses the base probabilities.
Each bought category costs ``max(Normal(base_price, price_std), base_price / 2)``;
a cart that comes out empty buys the cheapest category (by base price). The
order is a quantity multiplier q (gamma with mean ``base_quantity_mu`` and
standard deviation ``base_quantity_sigma``; constant when that is 0) times
the cart sum. Money is in the prices' currency units.

Randomness comes in as per-visitor uniforms (``CartNoise``) drawn before any
arm is chosen, so a visitor's cart under arm k does not depend on the policy
that assigned it (common random numbers).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy import special, stats

from ..contracts import CartRevenueConfig

# Uniforms are mapped into (0, 1) before an inverse CDF so that no draw is infinite.
_EDGE = 2.0**-54


def open_unit(uniforms: np.ndarray) -> np.ndarray:
    """Uniforms from [0, 1) moved strictly inside (0, 1), safe for an inverse CDF."""
    return np.clip(uniforms, _EDGE, 1.0 - _EDGE)


@dataclasses.dataclass(frozen=True)
class _Catalogue:
    base_prob: np.ndarray  # (J,)
    price: np.ndarray  # (J,)
    price_std: np.ndarray  # (J,)

    @property
    def weights(self) -> np.ndarray:
        return self.base_prob / self.base_prob.sum()

    @property
    def cheapest(self) -> int:
        return int(np.argmin(self.price))


def _catalogue(config: CartRevenueConfig) -> _Catalogue:
    if not isinstance(config, CartRevenueConfig):
        raise TypeError(f"expected a CartRevenueConfig, got {type(config).__name__}. "
                        "Fix: pass revenue_model=CartRevenueConfig(...) or None.")
    cats = config.categories
    return _Catalogue(
        base_prob=np.array([c.base_purchase_prob for c in cats], dtype=float),
        price=np.array([c.base_price for c in cats], dtype=float),
        price_std=np.array([c.price_std for c in cats], dtype=float),
    )


def _shift(delta: np.ndarray) -> np.ndarray:
    shift = np.asarray(delta, dtype=float)
    if shift.ndim != 1 or not np.all(np.isfinite(shift)):
        raise ValueError(f"cart: delta must be a finite 1-D array (one logit shift per visitor), "
                         f"got shape {shift.shape}. Fix: pass m_k - m_0 per visitor.")
    return shift


def purchase_probabilities(config: CartRevenueConfig, delta: np.ndarray) -> np.ndarray:
    """P(category j is in visitor i's cart | conversion), shape ``(n, J)``.

    ``delta`` (shape ``(n,)``) is the visitor's logit shift; zeros give the
    base probabilities. A base probability of 1 has logit +inf and stays 1.
    """
    cat = _catalogue(config)
    shift = _shift(delta)
    # logit(1) = +inf; inf plus any finite shift is inf and expit(inf) = 1: no NaN.
    logits = special.logit(cat.base_prob)[None, :] + shift[:, None] * cat.weights[None, :]
    return special.expit(logits)


def expected_prices(config: CartRevenueConfig) -> np.ndarray:
    """E[price of category j], shape ``(J,)``, for a price floored at half its base.

    The price is max(X, a) with X ~ Normal(mu, sd) and a = mu / 2: a clip, so
    mass below a sits at a. Its mean is a*Phi(alpha) + mu*(1 - Phi(alpha)) +
    sd*phi(alpha) with alpha = (a - mu) / sd. (The mean of a normal truncated
    at a, which the older system used, describes rejection sampling, not a
    clip, and overstates the price.)
    """
    cat = _catalogue(config)
    floor = cat.price / 2.0
    out = cat.price.copy()
    varies = cat.price_std > 0
    sd = cat.price_std[varies]
    mu = cat.price[varies]
    a = floor[varies]
    alpha = (a - mu) / sd
    below = stats.norm.cdf(alpha)
    out[varies] = a * below + mu * (1.0 - below) + sd * stats.norm.pdf(alpha)
    return out


def expected_cart_revenue(config: CartRevenueConfig, delta: np.ndarray) -> np.ndarray:
    """Expected revenue of a converter, shape ``(n,)``, given logit shifts ``delta`` ``(n,)``.

    Sum over categories of P(bought) * E[price], plus P(empty cart) * E[price
    of the cheapest category], times the mean quantity.
    """
    cat = _catalogue(config)
    probs = purchase_probabilities(config, delta)
    prices = expected_prices(config)
    empty = np.prod(1.0 - probs, axis=1)
    cart = probs @ prices + empty * prices[cat.cheapest]
    return config.base_quantity_mu * cart


@dataclasses.dataclass(frozen=True)
class CartNoise:
    """The random inputs of n carts, fixed before assignment.

    ``purchase_uniforms`` ``(n, J)`` in [0, 1): category j is bought when its
    uniform is below its purchase probability. ``price_normals`` ``(n, J)``:
    standard normal price shocks. ``quantity`` ``(n,)``: the multiplier q > 0.
    """

    purchase_uniforms: np.ndarray
    price_normals: np.ndarray
    quantity: np.ndarray

    def __post_init__(self) -> None:
        n, j = np.shape(self.purchase_uniforms)
        if np.shape(self.price_normals) != (n, j) or np.shape(self.quantity) != (n,):
            raise ValueError(f"CartNoise: shapes {np.shape(self.purchase_uniforms)}, "
                             f"{np.shape(self.price_normals)}, {np.shape(self.quantity)} do not agree. "
                             "Fix: build it with cart_noise_from_uniforms.")

    def take(self, index: np.ndarray) -> CartNoise:
        """The noise of the visitors at ``index``."""
        return CartNoise(self.purchase_uniforms[index], self.price_normals[index], self.quantity[index])


def cart_noise_width(config: CartRevenueConfig) -> int:
    """How many uniforms one visitor's cart consumes: 2 per category plus 1 for the quantity."""
    return 2 * len(config.categories) + 1


def cart_noise_from_uniforms(config: CartRevenueConfig, uniforms: np.ndarray) -> CartNoise:
    """Turn ``(n, cart_noise_width(config))`` uniforms in [0, 1) into ``CartNoise``.

    Columns: J purchase uniforms, J price uniforms (to normals by the inverse
    CDF), one quantity uniform (to a gamma by the inverse CDF).
    """
    j = len(config.categories)
    u = np.asarray(uniforms, dtype=float)
    if u.ndim != 2 or u.shape[1] != cart_noise_width(config):
        raise ValueError(f"cart: uniforms have shape {u.shape}, expected (n, {cart_noise_width(config)}). "
                         "Fix: draw cart_noise_width(config) uniforms per visitor.")
    inner = open_unit(u)
    normals = special.ndtri(inner[:, j:2 * j])
    mu, sd = config.base_quantity_mu, config.base_quantity_sigma
    if sd == 0.0:
        quantity = np.full(len(u), mu)
    else:
        # Gamma with mean mu and sd sd: shape (mu/sd)^2, scale sd^2/mu.
        shape, scale = (mu / sd) ** 2, sd * sd / mu
        quantity = special.gammaincinv(shape, inner[:, 2 * j]) * scale
        # A very skewed gamma can round its lowest quantiles to 0; a converter still buys something.
        quantity = np.maximum(quantity, np.finfo(float).tiny)
    return CartNoise(purchase_uniforms=u[:, :j], price_normals=normals, quantity=quantity)


def draw_cart_noise(config: CartRevenueConfig, rng: np.random.Generator, n: int) -> CartNoise:
    """Draw the cart noise of ``n`` visitors from ``rng``."""
    return cart_noise_from_uniforms(config, rng.random((n, cart_noise_width(config))))


def sample_cart_revenue(config: CartRevenueConfig, delta: np.ndarray, noise: CartNoise) -> np.ndarray:
    """Revenue of each visitor's order *given that they convert*, shape ``(n,)``, all > 0.

    ``delta`` ``(n,)`` is each visitor's logit shift under the arm they got;
    ``noise`` their pre-drawn randomness. Callers zero the non-converters.
    """
    cat = _catalogue(config)
    shift = _shift(delta)
    if noise.purchase_uniforms.shape != (len(shift), len(cat.price)):
        raise ValueError(f"cart: noise for {noise.purchase_uniforms.shape} but {len(shift)} visitors and "
                         f"{len(cat.price)} categories. Fix: draw noise for the same visitors and config.")
    bought = noise.purchase_uniforms < purchase_probabilities(config, shift)
    prices = np.maximum(cat.price[None, :] + cat.price_std[None, :] * noise.price_normals,
                        cat.price[None, :] / 2.0)
    cart = np.where(bought, prices, 0.0).sum(axis=1)
    empty = ~bought.any(axis=1)
    cart[empty] = prices[empty, cat.cheapest]
    return noise.quantity * cart


__all__ = [
    "CartNoise",
    "cart_noise_from_uniforms",
    "cart_noise_width",
    "draw_cart_noise",
    "expected_cart_revenue",
    "expected_prices",
    "purchase_probabilities",
    "sample_cart_revenue",
]
