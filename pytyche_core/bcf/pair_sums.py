"""Two weighted sums per slot from one pass over visitors: the scatter whose best form depends on the backend.

The sweep's leaf statistics and the grow-from-root histograms both need, per
slot, the sum of one per-visitor value and the sum of another (weighted
residual and weight). On a CPU one scatter of complex numbers (the pair as
real and imaginary part) is cheapest: two float scatters cost a pass more.
On a GPU a scatter-add runs as atomic adds, and there is no atomic add for
complex numbers: XLA falls back to compare-and-swap loops, which collide
when many visitors share a slot (on a stump, every visitor does) and
serialise. There two float scatters, each one native atomic add per visitor,
are the cheap form. The result is the same sum either way, up to the order
of float32 additions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax

#: Force one form ("complex" or "float"); None picks by backend. For benchmarks comparing the two.
FORCE: str | None = None


def uses_complex_scatter() -> bool:
    """Whether traced code on the default backend sums pairs by one complex scatter (CPU) or two float ones."""
    if FORCE is not None:
        return FORCE == "complex"
    return jax.default_backend() == "cpu"


def pair_sums(scatter_add, size: int, index: jax.Array, first: jax.Array, second: jax.Array):
    """(sum of ``first``, sum of ``second``) per slot of a [size] table, by ``scatter_add(table, index, values)``.

    ``scatter_add`` is passed in so the sweep can use its chain-batched form.
    """
    if uses_complex_scatter():
        pairs = lax.complex(first, second)
        table = scatter_add(jnp.zeros(size, pairs.dtype), index, pairs)
        return table.real, table.imag
    zeros = jnp.zeros(size, first.dtype)
    return scatter_add(zeros, index, first), scatter_add(zeros, index, second)
