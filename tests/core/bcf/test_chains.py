"""Chains side by side: grouped over CPU devices or vmap-ed on one, the same sampler."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from pytyche_core.bcf import chains, run
from pytyche_core.bcf.config import BCFConfig
from pytyche_core.bcf.families import GAUSSIAN
from pytyche_core.bcf.run import ChannelInputs, run_channel
from pytyche_core.bcf.stored import predict_forests


def _inputs(n: int = 600) -> ChannelInputs:
    rng = np.random.default_rng(1)
    bins = rng.integers(0, 16, (3, n)).astype(np.uint8)
    arm = rng.integers(0, 3, n).astype(np.int32)
    y = (bins[0] > 7) * 1.0 + (arm == 1) * (bins[1] > 7) + rng.normal(0, 1, n)
    return ChannelInputs(bins, np.full(3, 16), arm, 3, y.astype(np.float32), np.ones(n, np.float32),
                         np.ones(3, bool), GAUSSIAN)


_CONFIG = BCFConfig(mu_trees=8, tau_trees=4, burn_in=10, draws=30, chains=2, chunk=10, pad_to_buckets=False)


def test_chains_are_grouped_over_devices_that_divide_them():
    n_devices = len(jax.devices())
    assert chains.chain_mesh(1) is None
    mesh = chains.chain_mesh(2)
    assert (mesh is None) == (n_devices < 2)
    if n_devices == 2:
        assert chains.chain_mesh(3) is None  # 3 chains do not split over 2 devices: one device
        assert chains.chain_mesh(4).devices.size == 2


def test_a_fit_placed_on_one_device_is_not_spread(monkeypatch):
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")  # what a GPU machine reports
    assert chains.chain_mesh(2) is None
    monkeypatch.undo()
    with jax.default_device(jax.devices("cpu")[0]):  # the pipeline's device="cpu" on any machine
        assert (chains.chain_mesh(2) is None) == (len(jax.devices("cpu")) < 2)


def test_the_test_process_runs_chains_on_every_core():
    # pytyche asked JAX for one CPU device per core when it was imported (CI has 2 cores).
    if jax.default_backend() == "cpu":
        assert len(jax.devices()) == min(chains._cores(), 8)


@pytest.mark.parametrize("value", ["two", "0"])
def test_a_bad_device_count_is_refused_with_the_fix(monkeypatch, value):
    monkeypatch.setenv(chains.CPU_DEVICES_ENV, value)
    with pytest.raises(ValueError, match=chains.CPU_DEVICES_ENV):
        chains.request_cpu_devices()


def test_the_request_changes_nothing_once_jax_runs(monkeypatch):
    monkeypatch.setenv(chains.CPU_DEVICES_ENV, "3")
    assert chains.request_cpu_devices() is None  # the test process has started JAX


@pytest.mark.skipif(len(jax.devices()) < 2, reason="needs two devices to group chains over")
def test_grouping_changes_the_random_streams_not_the_posterior(monkeypatch):
    grouped = [run_channel(_inputs(), _CONFIG, jax.random.PRNGKey(4)) for _ in range(2)]
    monkeypatch.setattr(run, "chain_mesh", lambda n_chains: None)
    shared = run_channel(_inputs(), _CONFIG, jax.random.PRNGKey(4))
    np.testing.assert_array_equal(grouped[0].mu, grouped[1].mu)  # one grouping: reproducible
    assert not np.allclose(grouped[0].mu, shared.mu, atol=1e-3)  # another grouping: other draws
    assert not np.allclose(grouped[0].mu[0], grouped[0].mu[1], atol=1e-3)  # chains apart on their devices
    # The same posterior: per-visitor means agree to a fraction of the posterior sd (measured 0.38 for
    # mu and 0.37 for tau: the Monte Carlo error of 2 x 30 short-chain draws). Data placed wrongly on
    # the second device would put it at several sd.
    for part in ("mu", "tau"):
        a, b = getattr(grouped[0], part), getattr(shared, part)
        sd = np.concatenate([a, b], axis=1).std(axis=(0, 1))
        assert (np.abs(a.mean(axis=(0, 1)) - b.mean(axis=(0, 1))) / sd).mean() < 0.75, part


def test_stored_forests_predict_the_sampled_draws():
    draws = run_channel(_inputs(), _CONFIG, jax.random.PRNGKey(5))
    mu, tau = predict_forests(draws.forests, _inputs().bins)
    # 30 draws: a full block of 25 and a padded one of 5.
    assert mu.shape == draws.mu.shape and tau.shape == draws.tau.shape
    np.testing.assert_allclose(draws.centre + draws.scale * (draws.offset + mu), draws.mu, atol=1e-4)
    np.testing.assert_allclose(draws.scale * tau, draws.tau, atol=1e-4)
