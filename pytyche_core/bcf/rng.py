"""The sampler's random numbers: XLA's counter-based ThreeFry generator as a JAX key implementation.

``channel_key`` turns any JAX key into a key of this generator; everything
the sampler draws (``jax.random.*`` on such keys) then comes from one
``RngBitGenerator`` op per call site.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax import lax
from jax.extend.random import define_prng_impl


# The channel's random numbers come from XLA's own counter-based ThreeFry generator (one
# RngBitGenerator op per draw). JAX's threefry keys compile, on CPU, to a loop per call site:
# the generator op halves a block's kernels and runs faster (a quarter off at n = 1000). A key is a
# 128-bit generator state; a split hands each child four fresh words of its parent's stream.
def _xla_threefry_bits(key: jax.Array, bit_width: int, shape: tuple[int, ...]) -> jax.Array:
    dtype = {8: jnp.uint8, 16: jnp.uint16, 32: jnp.uint32, 64: jnp.uint64}[bit_width]
    return lax.rng_bit_generator(key, shape, dtype, algorithm=lax.RandomAlgorithm.RNG_THREE_FRY)[1]


def _xla_threefry_split(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    return _xla_threefry_bits(key, 32, (*shape, 4))


def _xla_threefry_fold_in(key: jax.Array, data: jax.Array) -> jax.Array:
    salt = jnp.stack([jnp.uint32(0), jnp.uint32(0), jnp.uint32(0), data.astype(jnp.uint32)])
    return _xla_threefry_split(key ^ salt, ())


def _xla_threefry_seed(seed: jax.Array) -> jax.Array:
    return _xla_threefry_split(jnp.stack([jnp.uint32(0), jnp.uint32(0), jnp.uint32(0), seed.astype(jnp.uint32)]), ())


_XLA_THREEFRY = define_prng_impl(key_shape=(4,), seed=_xla_threefry_seed, split=_xla_threefry_split,
                                 random_bits=_xla_threefry_bits, fold_in=_xla_threefry_fold_in,
                                 name="pytyche_xla_threefry")


def channel_key(key: jax.Array) -> jax.Array:
    """The caller's key (any JAX key) as a key of the channel's generator."""
    return jax.random.wrap_key_data(jax.random.bits(key, (4,), jnp.uint32), impl=_XLA_THREEFRY)


__all__ = ["channel_key"]
