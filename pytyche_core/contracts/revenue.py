"""Configuration of the cart-based revenue model used by the simulator."""

from __future__ import annotations

import dataclasses

from ._checks import fail, finite_float, non_empty_str, set_field


@dataclasses.dataclass(frozen=True)
class ProductCategory:
    """One product category of a cart.

    A converter buys it with probability ``base_purchase_prob`` (before
    visitor affinity and treatment shifts) at a price drawn from
    Normal(base_price, price_std) and floored at base_price / 2.
    """

    name: str
    base_price: float
    price_std: float
    base_purchase_prob: float

    def __post_init__(self) -> None:
        owner = "ProductCategory"
        non_empty_str(owner, "name", self.name)
        price = finite_float(owner, "base_price", self.base_price)
        if price <= 0:
            raise fail(owner, "base_price", f"{price} <= 0", "prices are positive dollars")
        std = finite_float(owner, "price_std", self.price_std)
        if std < 0:
            raise fail(owner, "price_std", f"{std} < 0", "use 0.0 for a fixed price")
        prob = finite_float(owner, "base_purchase_prob", self.base_purchase_prob)
        if not 0.0 < prob <= 1.0:
            raise fail(owner, "base_purchase_prob", f"{prob} outside (0, 1]", "pass a probability")
        set_field(self, "base_price", price)
        set_field(self, "price_std", std)
        set_field(self, "base_purchase_prob", prob)


@dataclasses.dataclass(frozen=True)
class CartRevenueConfig:
    """Revenue of a converter = quantity multiplier x sum of the prices of the categories bought.

    The quantity multiplier has mean ``base_quantity_mu`` and standard
    deviation ``base_quantity_sigma`` (a gamma draw; constant when sigma is 0).
    A cart that comes out empty buys the cheapest category.
    """

    categories: tuple[ProductCategory, ...]
    base_quantity_mu: float = 1.0
    base_quantity_sigma: float = 0.0

    def __post_init__(self) -> None:
        owner = "CartRevenueConfig"
        if not isinstance(self.categories, (list, tuple)) or not self.categories:
            raise fail(owner, "categories", f"got {self.categories!r}", "pass at least one ProductCategory")
        cats = tuple(self.categories)
        for i, c in enumerate(cats):
            if not isinstance(c, ProductCategory):
                raise fail(owner, f"categories[{i}]", f"got {type(c).__name__}", "pass ProductCategory")
        names = [c.name for c in cats]
        if len(set(names)) != len(names):
            raise fail(owner, "categories", f"duplicate names {names}", "name categories uniquely")
        mu = finite_float(owner, "base_quantity_mu", self.base_quantity_mu)
        if mu <= 0:
            raise fail(owner, "base_quantity_mu", f"{mu} <= 0", "pass a positive mean quantity")
        sigma = finite_float(owner, "base_quantity_sigma", self.base_quantity_sigma)
        if sigma < 0:
            raise fail(owner, "base_quantity_sigma", f"{sigma} < 0", "pass 0.0 for a fixed quantity")
        set_field(self, "categories", cats)
        set_field(self, "base_quantity_mu", mu)
        set_field(self, "base_quantity_sigma", sigma)
