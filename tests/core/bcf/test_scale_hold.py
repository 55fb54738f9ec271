"""When the sampled leaf variances and alpha start moving: half-way through the burn-in, or after
``hold_scales`` iterations where that is set."""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest

from pytyche_core.bcf import run
from pytyche_core.bcf.config import BCFConfig
from pytyche_core.bcf.families import GAUSSIAN
from pytyche_core.bcf.run import ChannelInputs, run_channel, scale_hold_blocks


@pytest.mark.parametrize(("settings", "blocks"), [
    ({}, 4),                                                # the default: half of 8 blocks of 25
    ({"burn_in": 30, "chunk": 10}, 1),                      # half of 3 blocks, rounded down
    ({"hold_scales": 25}, 1),                               # 25 iterations: one block of 25
    ({"hold_scales": 0}, 0),                                # sampled from the first iteration
    ({"hold_scales": 26}, 2),                               # rounded up to whole blocks
    ({"hold_scales": 10_000}, 4),                           # never more than half the burn-in
    ({"burn_in": 30, "chunk": 10, "hold_scales": 25}, 1),   # a short run: still at most half
    ({"burn_in": 200, "chunk": 10, "thin": 2, "hold_scales": 25}, 2),  # blocks of chunk * thin
])
def test_the_hold_is_whole_blocks_and_at_most_half_the_burn_in(settings, blocks):
    assert scale_hold_blocks(BCFConfig(**settings)) == blocks


def test_a_hold_as_long_as_the_burn_in_is_the_default_half():
    for burn_in in (0, 20, 25, 50, 200, 230):
        config = BCFConfig(burn_in=burn_in, hold_scales=burn_in)
        assert scale_hold_blocks(config) == scale_hold_blocks(BCFConfig(burn_in=burn_in))


def test_the_run_holds_the_scales_for_exactly_those_blocks(monkeypatch):
    seen = []
    block = run._block

    def recording(*args, **kwargs):
        seen.append(bool(args[5]))  # _block(states, block_keys, b, data, keep, sample_scales, ...)
        return block(*args, **kwargs)

    monkeypatch.setattr(run, "_block", recording)
    rng = np.random.default_rng(0)
    n = 300
    inputs = ChannelInputs(rng.integers(0, 8, (2, n)).astype(np.uint8), np.full(2, 8),
                           rng.integers(0, 2, n).astype(np.int32), 2, rng.normal(size=n).astype(np.float32),
                           np.ones(n, np.float32), np.ones(2, bool), GAUSSIAN)
    config = BCFConfig(mu_trees=4, tau_trees=2, burn_in=40, draws=10, chains=1, chunk=10, hold_scales=5)
    run_channel(inputs, config, jax.random.PRNGKey(0))
    assert seen == [False] + [True] * 4  # 5 -> 1 block of 10 held; 3 more of burn-in, 1 kept
    seen.clear()
    run_channel(inputs, dataclasses.replace(config, hold_scales=None), jax.random.PRNGKey(0))
    assert seen == [False, False] + [True] * 3  # the default: half of the 4 burn-in blocks


@pytest.mark.parametrize("bad", [-1, 2.5, "25"])
def test_a_hold_that_is_not_a_count_is_refused(bad):
    with pytest.raises((ValueError, TypeError), match="hold_scales"):
        BCFConfig(hold_scales=bad)
