"""The same engine on a GPU (run only where JAX sees one; skipped elsewhere).

The sampler's code path does not branch on the device, so these check what
can differ: that the fit lands on the GPU, that float32 arithmetic there
keeps every draw finite and the hurdle identity exact, and that the effects
it recovers are as good as the CPU tier's bounds demand.
"""

from __future__ import annotations

import numpy as np
import pytest

import pytyche_core as pt
from pytyche_core.simulate import scenario

pytestmark = pytest.mark.gpu

CONFIG = pt.BCFConfig(mu_trees=50, tau_trees=20, max_depth=5, burn_in=150, draws=100, chains=2)


@pytest.fixture(scope="module")
def gpu_fit():
    observed, truth = pt.simulate(scenario("reversal", k=3, profile="stress", baseline_rate=0.5, hte_scale=9.0)
                                  .config(20_000, seed=3))
    return pt.fit(observed, config=CONFIG, seed=0), truth


def test_the_fit_runs_on_the_gpu(gpu_fit):
    result, _ = gpu_fit
    assert result.info.device == "gpu"


def test_draws_are_finite_and_the_hurdle_identity_holds(gpu_fit):
    result, _ = gpu_fit
    total = result.rpv_cate_samples
    assert np.isfinite(total).all()
    np.testing.assert_allclose(result.conversion_part_samples + result.order_value_part_samples, total,
                               rtol=1e-4, atol=1e-4)


def test_recovers_strong_effects_per_visitor(gpu_fit):
    result, truth = gpu_fit
    contrasts = truth.contrasts()
    estimate = result.rpv_cate_samples.mean(axis=1)
    relative = np.sqrt(((estimate - contrasts) ** 2).mean()) / contrasts.std()
    assert relative < 0.8  # the CPU tier's hurdle bound (test_fit_recovery.PER_VISITOR_BOUND)


def test_analysis_runs_on_gpu_draws(gpu_fit):
    result, _ = gpu_fit
    analysis = result.analyze(n_bootstrap=5)
    assert len(analysis.comparisons) == 2


def test_leaf_sums_use_float_scatters_on_the_gpu():
    # A complex scatter-add has no atomic form on a GPU and stalls the sweep (docs/benchmarks.md, "On a GPU").
    from pytyche_core.bcf import pair_sums

    assert not pair_sums.uses_complex_scatter()
