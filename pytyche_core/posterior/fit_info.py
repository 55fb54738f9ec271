"""How a fit was made, recorded with its result (and in its file)."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, eq=False)
class FitInfo:
    """How a fit was made: pooling, seed, the JAX backend, seconds per channel, zero-revenue converters."""

    pooling: str
    seed: int
    device: str
    seconds: dict[str, float]
    zero_revenue_converters: int = 0
