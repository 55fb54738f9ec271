"""One treatment arm's true effect on the metric's own scale.

``tau_k(x) = main_delta + hte_scale * h(x)`` where ``h`` is the arm's raw
shape standardised to mean 0 and sd 1 on the reference sample. The knobs
therefore *are* the population mean and sd of the per-shopper effect
(exactly on the reference sample, up to sampling error on any other): in
absolute conversion probability for conversion_rate, in dollars per visitor
for revenue_per_visitor.

For revenue the effect is split into a conversion part and an order-value
part by omega, the arm's ``split`` (the share that goes through
conversion): the relative lift ``rho = tau / rpv0`` multiplies conversion by
``(1 + rho) ** omega`` and the order value by ``(1 + rho) ** (1 - omega)``. Any omega keeps ``p_k m_k - p_0 m_0 = tau``;
omega outside [0, 1] makes the two parts move in opposite directions.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .population import Shoppers
from .shapes import NoHeterogeneity, Shape


@dataclasses.dataclass(frozen=True)
class UniformSplit:
    """The same conversion share omega for every shopper (0.5: half via conversion, half via order value)."""

    omega: float = 0.5

    @property
    def label(self) -> str:
        return f"omega={self.omega:g}"

    def __call__(self, shoppers: Shoppers) -> np.ndarray:
        return np.full(len(shoppers), self.omega)


@dataclasses.dataclass(frozen=True)
class SegmentSplit:
    """A conversion share omega per latent segment (read from ``cluster_id``)."""

    omegas: tuple[float, ...]

    @property
    def label(self) -> str:
        return "omega by segment " + "/".join(f"{w:g}" for w in self.omegas)

    def __call__(self, shoppers: Shoppers) -> np.ndarray:
        return np.asarray(self.omegas)[shoppers.segment()]


Split = UniformSplit | SegmentSplit


@dataclasses.dataclass(frozen=True)
class ShapeMoments:
    """Mean and sd of a raw shape over the reference sample (sd 0 for no heterogeneity)."""

    mean: float
    sd: float

    @classmethod
    def of(cls, shape: Shape, reference: Shoppers) -> ShapeMoments:
        if isinstance(shape, NoHeterogeneity):
            return cls(0.0, 0.0)
        raw = shape(reference)
        sd = float(raw.std())
        if not sd > 0.0:
            raise ValueError(f"shape {shape.label!r} is constant on the reference sample. "
                             "Fix: use NoHeterogeneity for a homogeneous arm.")
        return cls(float(raw.mean()), sd)

    def zero_where_shape_is_zero(self, hte_scale: float) -> float:
        """The main effect that makes tau exactly 0 wherever the raw shape is 0."""
        return 0.0 if self.sd == 0.0 else hte_scale * self.mean / self.sd


@dataclasses.dataclass(frozen=True)
class ArmEffect:
    """The true effect of one treatment arm vs control, per shopper, on the metric's scale."""

    shape: Shape
    moments: ShapeMoments
    main_delta: float
    hte_scale: float
    split: Split

    @property
    def is_homogeneous(self) -> bool:
        return self.moments.sd == 0.0

    @property
    def effect_sd(self) -> float:
        """Population sd of tau: hte_scale, or 0 for an arm without heterogeneity."""
        return 0.0 if self.is_homogeneous else self.hte_scale

    def tau(self, shoppers: Shoppers) -> np.ndarray:
        if self.is_homogeneous:
            return np.full(len(shoppers), self.main_delta)
        # offset + slope * r: with the derived main effect the offset is exactly
        # 0.0 (same expression), so tau is exactly 0 where the shape is 0.
        offset = self.main_delta - self.moments.zero_where_shape_is_zero(self.hte_scale)
        slope = self.hte_scale / self.moments.sd
        return offset + slope * self.shape(shoppers)
