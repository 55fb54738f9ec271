"""Padding visitor counts to size buckets: few distinct shapes, and padding rows never enter the model."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from pytyche_core.bcf.buckets import MIN_BUCKET, bucket_size
from pytyche_core.bcf.config import BCFConfig
from pytyche_core.bcf.families import GAUSSIAN, PROBIT
from pytyche_core.bcf.run import ChannelInputs, run_channel


def test_buckets_cover_every_size_with_little_waste():
    sizes = np.unique(np.geomspace(1, 400_000, 3000).astype(int))
    buckets = np.array([bucket_size(int(n)) for n in sizes])
    assert (buckets >= sizes).all() and (buckets % 64 == 0).all()
    above = sizes > MIN_BUCKET
    assert (buckets[above] / sizes[above]).max() < 1.2 + 64 / MIN_BUCKET
    # From 10k to 50k visitors (a sequential experiment's cumulative rounds) there are about ten shapes.
    assert len({bucket_size(n) for n in range(10_000, 50_001)}) <= 10


@pytest.mark.parametrize("probit", [False, True], ids=["gaussian", "probit"])
def test_padding_rows_leave_the_draws_unchanged(probit):
    rng = np.random.default_rng(0)
    n = 700  # padded to 704 + 64 = 768
    bins = rng.integers(0, 20, (3, n)).astype(np.uint8)
    arm = rng.integers(0, 3, n).astype(np.int32)
    y = (bins[0] > 9) * 1.0 + (arm == 1) * 0.5 + rng.normal(0, 1, n)
    target = (y > 0.8) if probit else y
    inputs = ChannelInputs(bins, np.full(3, 20), arm, 3, target.astype(np.float32), np.ones(n, np.float32),
                           np.ones(3, bool), PROBIT if probit else GAUSSIAN)
    config = BCFConfig(mu_trees=10, tau_trees=5, burn_in=20, draws=10, chains=2, chunk=10)
    assert bucket_size(n) > n
    plain, padded = (run_channel(inputs, BCFConfig(**{**config.__dict__, "pad_to_buckets": pad}),
                                 jax.random.PRNGKey(0)) for pad in (False, True))
    assert padded.mu.shape == plain.mu.shape == (2, 10, n)
    # The generator hands out the same leading numbers for a longer array, and weight-0 rows add
    # exact zeros to every sum: the chains are the same up to float rounding of the reductions.
    np.testing.assert_allclose(padded.mu, plain.mu, atol=1e-4)
    np.testing.assert_allclose(padded.tau, plain.tau, atol=1e-4)
    np.testing.assert_allclose(padded.sigma2, plain.sigma2, rtol=1e-4)
