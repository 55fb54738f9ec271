"""Exact checks of the sampler's likelihood side (docs/concepts/sampler-math.md §2-3).

The prior-only and root-only tests elsewhere never weigh a split against the
data; these do, against scipy:

- the leaf marginal likelihood, and a split's Bayes factor, against scipy's
  multivariate normal;
- on a problem small enough to enumerate every tree, the chain's tree
  frequencies against the exact posterior over trees: one forest's sweeps,
  and whole channel steps (a prognostic root beside the treatment tree, one
  or two treatment passes per step);
- the same with Student-t treatment leaves (each leaf's tail scale integrated out
  numerically);
- the noise-variance draw against scipy's inverse gamma;
- a prior-predictive run of a whole channel step (no visitor in the
  likelihood): noise variance, leaf values and sampled leaf scales against
  their priors.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import ClassVar

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from pytyche_core.bcf.config import BCFConfig
from pytyche_core.bcf.families import GAUSSIAN, OutcomeFamily, draw_sigma2
from pytyche_core.bcf.forest import empty_forest
from pytyche_core.bcf.leaves import draw_tail_scales, log_marginal
from pytyche_core.bcf.models import ChannelData, ChannelSpec, step
from pytyche_core.bcf.run import _spec, init_state
from pytyche_core.bcf.sweep import ForestPrior, SweepData, sweep, sweep_student


def _log_mvn(r: np.ndarray, sigma2: float, blocks: list[np.ndarray], v: float) -> float:
    """log N(r; 0, sigma2 I + v sum_b 1_b 1_b'): leaves iid N(0, v) integrated out."""
    cov = sigma2 * np.eye(len(r))
    for block in blocks:
        cov += v * np.outer(block, block)
    return float(stats.multivariate_normal(np.zeros(len(r)), cov).logpdf(r))


@pytest.mark.parametrize("sigma2,v", [(1.0, 0.3), (0.25, 2.0), (4.0, 0.01)])
def test_leaf_marginal_likelihood_matches_scipy(sigma2, v):
    rng = np.random.default_rng(5)
    r = rng.normal(0.4, np.sqrt(sigma2), 12)
    # One leaf: l(n, S) is log p(r | leaf) - log p(r | leaf value 0).
    ours = float(log_marginal(jnp.array([[12.0]]), jnp.array([[r.sum()]]), jnp.float32(sigma2),
                              jnp.array([v], jnp.float32))[0])
    null = float(stats.norm(0, np.sqrt(sigma2)).logpdf(r).sum())
    assert ours == pytest.approx(_log_mvn(r, sigma2, [np.ones(12)], v) - null, rel=1e-4, abs=1e-4)
    # A split's gain is the Bayes factor of two leaves against one.
    left = np.arange(12) < 5
    gain = log_marginal(jnp.array([[5.0], [7.0], [12.0]]),
                        jnp.array([[r[left].sum()], [r[~left].sum()], [r.sum()]]),
                        jnp.float32(sigma2), jnp.array([v], jnp.float32))
    exact = _log_mvn(r, sigma2, [left * 1.0, ~left * 1.0], v) - _log_mvn(r, sigma2, [np.ones(12)], v)
    assert float(gain[0] + gain[1] - gain[2]) == pytest.approx(exact, rel=1e-4, abs=1e-4)
    # Vector leaves (one column per arm, control fixed at 0): columns add up.
    arm = np.arange(12) % 3
    cols = jnp.array([[float((arm == k).sum()) for k in range(3)]])
    sums = jnp.array([[r[arm == k].sum() for k in range(3)]])
    ours = float(log_marginal(cols, sums, jnp.float32(sigma2), jnp.array([0.0, v, 2 * v], jnp.float32))[0])
    exact = (_log_mvn(r, sigma2, [(arm == 1) * 1.0], v) + _log_mvn(r, sigma2, [(arm == 2) * 1.0], 2 * v)
             - 2 * null)
    assert ours == pytest.approx(exact, rel=1e-4, abs=1e-4)


# --- the exact posterior over every tree of a tiny problem --------------------------------
# Trees of depth <= 2 over a few binned covariates (right if bin > cut). Each internal node picks
# a variable uniformly among those with a cut left in its range, then a cut uniformly: the
# prior the sampler's proposals are weighed against. One covariate in 4 bins gives eleven trees,
# among them one whose two children both split (two prunable nodes, which a grow / prune ratio
# must count); two covariates in 3 bins give 49, where a change move can swap the variable.
ALPHA, BETA, DEPTH = 0.95, 1.0, 2


def _enumerate(box: tuple[tuple[int, int], ...], depth: int = 0):
    """Every subtree over the bin ranges ``box`` (one (lo, hi) per covariate) at ``depth``:
    (tree, prior probability, leaves as boxes). A tree is None (a leaf) or (var, cut, left, right)."""
    splittable = [v for v, (lo, hi) in enumerate(box) if hi > lo]
    p_split = ALPHA * (1.0 + depth) ** -BETA if depth < DEPTH and splittable else 0.0
    yield None, 1.0 - p_split, [box]
    for v in splittable if p_split else ():
        lo, hi = box[v]
        for cut in range(lo, hi):
            left_box = box[:v] + ((lo, cut),) + box[v + 1:]
            right_box = box[:v] + ((cut + 1, hi),) + box[v + 1:]
            for (left, p_left, l_leaves), (right, p_right, r_leaves) in itertools.product(
                    list(_enumerate(left_box, depth + 1)), list(_enumerate(right_box, depth + 1))):
                yield ((v, cut, left, right), p_split / len(splittable) / (hi - lo) * p_left * p_right,
                       l_leaves + r_leaves)


def _read_tree(var: np.ndarray, cut: np.ndarray, slot: int = 1):
    """The sampler's heap arrays as the nested form of ``_enumerate``."""
    if slot >= len(var) or var[slot] < 0:
        return None
    return int(var[slot]), int(cut[slot]), _read_tree(var, cut, 2 * slot), _read_tree(var, cut, 2 * slot + 1)


def _tree_problem(n_bins: tuple[int, ...], arms: int, seed: int):
    """Visitors on every bin combination (12 per cell over all, arms alternating), a residual with
    signal in the last bins of each covariate, and the leaf prior variance per column."""
    rng = np.random.default_rng(seed)
    cells = np.array(list(itertools.product(*(range(b) for b in n_bins))))
    bins = np.repeat(cells, 48 // len(cells), axis=0)
    column = np.arange(len(bins)) % arms if arms > 1 else np.zeros(len(bins), int)
    signal = 1.25 * (bins[:, -1] >= n_bins[-1] // 2) + 0.75 * (bins[:, 0] == n_bins[0] - 1)
    r = rng.normal(np.where(column > 0, signal, 0.5 * signal if arms == 1 else 0.0), 1.0)
    prior_var = np.array([0.4] if arms == 1 else [0.0] + [0.4] * (arms - 1))
    return bins, column, r, prior_var


def _exact_tree_posterior(table, bins, column, r, prior_var, sigma2: float, shared_var: float = 0.0) -> np.ndarray:
    """Posterior over ``table``'s trees; ``shared_var`` > 0 adds one N(0, shared_var) level every
    visitor shares (a root-only prognostic forest beside the tree), integrated out."""
    def in_box(box):
        return np.all([(bins[:, v] >= lo) & (bins[:, v] <= hi) for v, (lo, hi) in enumerate(box)], axis=0)

    def log_lik(leaves):
        # Columns with prior variance v > 0 each carry an independent N(0, v) value per leaf.
        blocks = [in_box(box) & (column == c) for box in leaves for c in np.flatnonzero(prior_var > 0)]
        cov = sigma2 * np.eye(len(r)) + shared_var + sum(prior_var[column[np.argmax(b)]] * np.outer(b, b)
                                                         for b in blocks if b.any())
        return float(stats.multivariate_normal(np.zeros(len(r)), cov).logpdf(r))

    log_post = np.array([np.log(prior) + log_lik(leaves) for _, prior, leaves in table])
    exact = np.exp(log_post - log_post.max())
    return exact / exact.sum()


@pytest.mark.parametrize(("n_bins", "arms", "p_change"), [
    ((4,), 1, 0.0), ((4,), 1, 0.4), ((3, 3), 1, 0.4), ((3, 3), 2, 0.4)],
    ids=["one-covariate", "one-covariate-changes", "two-covariates-changes", "two-covariates-arm-columns-changes"])
def test_the_chain_visits_every_tree_at_its_exact_posterior(n_bins, arms, p_change):
    bins, column, r, prior_var = _tree_problem(n_bins, arms, seed=11)
    sigma2 = 1.0
    table = list(_enumerate(tuple((0, b - 1) for b in n_bins)))
    assert len(table) == {(4,): 11, (3, 3): 49}[n_bins]
    exact = _exact_tree_posterior(table, bins, column, r, prior_var, sigma2)
    assert exact.max() < 0.6  # the data leave several trees plausible: a real test of the weights

    n = len(r)
    data = SweepData(jnp.asarray(bins.T, jnp.uint8), jnp.asarray(column, jnp.int32), jnp.ones(n, jnp.float32),
                     jnp.asarray(n_bins, jnp.int32), jnp.asarray(prior_var, jnp.float32))
    prior = ForestPrior(DEPTH, ALPHA, BETA, 0.0, p_change)

    @jax.jit
    def chain(key):
        def one(carry, k):
            forest, nodes, residual = carry
            forest, nodes, residual, _ = sweep(k, forest, nodes, residual, data, jnp.float32(sigma2), prior)
            return (forest, nodes, residual), (forest.var[0], forest.cut[0])

        start = (empty_forest(1, DEPTH, len(prior_var)), jnp.ones((1, n), jnp.int32), jnp.asarray(r, jnp.float32))
        return jax.lax.scan(one, start, jax.random.split(key, 160_000))[1]

    var, cut = (np.asarray(a) for a in chain(jax.random.PRNGKey(0)))
    trees = [tree for tree, _, _ in table]
    visits = [_read_tree(a, c) for a, c in zip(var[1000:], cut[1000:], strict=True)]
    assert all(tree in trees for tree in visits)
    freq = np.array([sum(visit == tree for visit in visits) / len(visits) for tree in trees])
    # Successive trees are correlated (a move changes one node); 0.015 is about 4 standard errors
    # at the chain's effective size, while a prior or likelihood term off by a factor of 2 moves
    # some tree's share by more.
    np.testing.assert_allclose(freq, exact, atol=0.015, err_msg=f"trees {trees}")


def _exact_tree_posterior_student(table, bins, column, r, prior_var, sigma2: float, dof: float) -> np.ndarray:
    """Posterior over ``table``'s trees with Student-t leaves: a leaf's value is N(0, v lam) with
    lam ~ IG(dof / 2, dof / 2) shared by its columns; lam integrated out per leaf by quadrature.
    Leaves own disjoint visitors, so the likelihood is a product over leaves of the integral over
    lam of scipy's normal density of the leaf's residuals (``_log_mvn``), relative to value 0."""
    def in_box(box):
        return np.all([(bins[:, v] >= lo) & (bins[:, v] <= hi) for v, (lo, hi) in enumerate(box)], axis=0)

    lam_prior = stats.invgamma(0.5 * dof, scale=0.5 * dof)
    active = np.flatnonzero(prior_var > 0)

    def log_leaf(box):
        members = in_box(box)
        parts = [r[members & (column == c)] for c in active]
        nulls = [float(stats.norm(0, np.sqrt(sigma2)).logpdf(part).sum()) for part in parts]

        def log_lik(lam):  # the leaf's columns share lam; each column its own value N(0, v_c lam)
            return sum(_log_mvn(part, sigma2, [np.ones(len(part))], prior_var[c] * lam) - null
                       for part, c, null in zip(parts, active, nulls, strict=True) if len(part))

        # Scale by the integrand's peak over a grid so quad sees values near 1.
        peak = max(log_lik(g) for g in np.geomspace(1e-3, 1e3, 60))
        value, _ = integrate.quad(lambda lam: np.exp(log_lik(lam) - peak) * lam_prior.pdf(lam), 0, np.inf,
                                  limit=200)
        return peak + np.log(value)

    boxes = {box: log_leaf(box) for _, _, leaves in table for box in leaves}
    log_post = np.array([np.log(prior) + sum(boxes[box] for box in leaves) for _, prior, leaves in table])
    exact = np.exp(log_post - log_post.max())
    return exact / exact.sum()


@pytest.mark.parametrize("arms", [1, 2], ids=["one-column", "arm-columns"])
def test_student_leaves_visit_every_tree_at_its_exact_posterior(arms):
    # Student-t treatment leaves (sampler-math.md §3g): a grow's children and a prune's merged node
    # take fresh tail scales from their prior, and every scale is then redrawn given its leaf. The
    # chain's tree shares must match the posterior with every scale integrated out.
    bins, column, r, prior_var = _tree_problem((4,), arms, seed=11)
    prior_var = 0.1 * prior_var  # narrow leaves, which the signal's leaves must escape through their tails
    sigma2, dof = 1.0, 3.0
    table = list(_enumerate(((0, 3),)))
    exact = _exact_tree_posterior_student(table, bins, column, r, prior_var, sigma2, dof)
    assert exact.max() < 0.6
    normal = _exact_tree_posterior(table, bins, column, r, prior_var, sigma2)
    assert np.abs(exact - normal).max() > 0.03  # the tails change the answer: the test can tell them apart

    n = len(r)
    data = SweepData(jnp.asarray(bins.T, jnp.uint8), jnp.asarray(column, jnp.int32), jnp.ones(n, jnp.float32),
                     jnp.array([4], jnp.int32), jnp.asarray(prior_var, jnp.float32))
    prior = ForestPrior(DEPTH, ALPHA, BETA, 0.0, 0.0, dof)

    @jax.jit
    def chain(key):
        def one(carry, k):
            forest, nodes, residual, tails = carry
            k_sweep, k_tails = jax.random.split(k)
            (forest, nodes, residual, _), tails = sweep_student(k_sweep, forest, nodes, residual, data,
                                                                jnp.float32(sigma2), prior, tails)
            tails = draw_tail_scales(k_tails, forest, data.prior_var, dof)
            return (forest, nodes, residual, tails), (forest.var[0], forest.cut[0])

        start = (empty_forest(1, DEPTH, len(prior_var)), jnp.ones((1, n), jnp.int32), jnp.asarray(r, jnp.float32),
                 jnp.ones((1, 2 ** (DEPTH + 1)), jnp.float32))
        return jax.lax.scan(one, start, jax.random.split(key, 160_000))[1]

    var, cut = (np.asarray(a) for a in chain(jax.random.PRNGKey(0)))
    trees = [tree for tree, _, _ in table]
    rows, counts = np.unique(np.concatenate([var[1000:], cut[1000:].astype(var.dtype)], axis=1), axis=0,
                             return_counts=True)
    h = var.shape[1]
    freq = np.zeros(len(trees))
    for row, count in zip(rows, counts, strict=True):
        freq[trees.index(_read_tree(row[:h], row[h:]))] += count / (len(var) - 1000)
    np.testing.assert_allclose(freq, exact, atol=0.015, err_msg=f"trees {trees}")


@dataclasses.dataclass(frozen=True)
class _UnitNoise(OutcomeFamily):
    """Gaussian with the noise variance held at 1: the step's only moves are the forests'."""

    name: ClassVar[str] = "unit-noise"
    noise: ClassVar[bool] = False

    def after_sweeps(self, key, residual, weight, sigma2, nu, lam):
        return sigma2


@pytest.mark.parametrize("tau_sweeps", [1, 2], ids=["one-treatment-pass", "two-treatment-passes"])
def test_channel_steps_visit_every_treatment_tree_at_its_exact_posterior(tau_sweeps):
    # A whole channel step: a prognostic forest of one root (it may not split) shares the residual
    # with a treatment tree over one covariate in 4 bins, arm columns (control held at 0). With the
    # root's value integrated out, the treatment tree's posterior is exact; passes over the
    # treatment side must each hand the next the residual and trees they leave.
    bins, column, r, prior_var = _tree_problem((4,), 2, seed=4)
    r = r + 0.8  # a shared level for the prognostic root to carry
    n, mu_var = len(r), 0.5
    table = list(_enumerate(((0, 3),)))
    exact = _exact_tree_posterior(table, bins, column, r, prior_var, 1.0, shared_var=mu_var)
    assert exact.max() < 0.6
    data = ChannelData(bins=jnp.asarray(bins.T, jnp.uint8), arm=jnp.asarray(column, jnp.int32),
                       weight=jnp.ones(n, jnp.float32), target=jnp.asarray(r, jnp.float32), offset=jnp.float32(0.0),
                       mu_bins=jnp.array([4], jnp.int32), tau_bins=jnp.array([4], jnp.int32),
                       mu_prior_var=jnp.array([mu_var], jnp.float32), tau_prior_var=jnp.asarray(prior_var, jnp.float32),
                       tau0_prior_var=jnp.zeros(2, jnp.float32), nu=jnp.float32(3.0), lam=jnp.float32(1.0))
    spec = ChannelSpec(mu=ForestPrior(DEPTH, ALPHA, BETA, float(n + 1)), tau=ForestPrior(DEPTH, ALPHA, BETA, 0.0),
                       family=_UnitNoise(), tau_sweeps=tau_sweeps)
    config = BCFConfig(mu_trees=1, tau_trees=1, max_depth=DEPTH, sample_leaf_scales=False,
                       tau_alpha_concentration=None)

    @jax.jit
    @jax.vmap
    def chain(key):
        def one(state, k):
            state, _ = step(k, state, data, spec)
            return state, (state.tau.var[0], state.tau.cut[0])

        start = init_state(key, data, config, 2, spec.family)
        return jax.lax.scan(one, start, jax.random.split(key, 15_000))[1]

    # 32 chains, each after 500 steps: on this problem their pooled shares sit within 0.005 of the
    # exact ones (six runs), while a pass handed a stale residual is off by more than 0.1.
    var, cut = (np.asarray(a)[:, 500:].reshape(-1, a.shape[-1]) for a in chain(jax.random.split(
        jax.random.PRNGKey(2), 32)))
    trees = [tree for tree, _, _ in table]
    # Each distinct (var, cut) row read once: 464k visits, a few dozen distinct heaps.
    rows, counts = np.unique(np.concatenate([var, cut.astype(var.dtype)], axis=1), axis=0, return_counts=True)
    h = var.shape[1]
    freq = np.zeros(len(trees))
    for row, count in zip(rows, counts, strict=True):
        freq[trees.index(_read_tree(row[:h], row[h:]))] += count / len(var)
    np.testing.assert_allclose(freq, exact, atol=0.012, err_msg=f"trees {trees}")


def test_treatment_passes_are_a_validated_setting_the_run_threads_through():
    with pytest.raises(ValueError, match="tau_sweeps"):
        BCFConfig(tau_sweeps=0)
    assert BCFConfig().tau_sweeps == 1
    assert _spec(BCFConfig(tau_sweeps=2), GAUSSIAN).tau_sweeps == 2


def test_noise_variance_draw_is_the_inverse_gamma_conditional():
    rng = np.random.default_rng(3)
    residual = rng.normal(0, 1.3, 200)
    weight = (rng.random(200) < 0.7).astype(np.float32)  # weight-0 visitors must not count
    nu, lam = 3.0, 0.4
    keys = jax.random.split(jax.random.PRNGKey(1), 20_000)
    draws = np.asarray(jax.vmap(lambda k: draw_sigma2(k, jnp.asarray(residual, jnp.float32), jnp.asarray(weight),
                                                      jnp.float32(nu), jnp.float32(lam)))(keys))
    shape = (nu + weight.sum()) / 2
    scale = (nu * lam + (weight * residual**2).sum()) / 2
    assert stats.kstest(draws, stats.invgamma(shape, scale=scale).cdf).pvalue > 0.001


def _prior_only_chains(config: BCFConfig, chains: int, iterations: int):
    """Gaussian channel steps with no visitor in the likelihood: the chain samples the prior."""
    n, k = 6, 3
    rng = np.random.default_rng(0)
    data = ChannelData(bins=jnp.asarray(rng.integers(0, 8, (2, n)), jnp.uint8),
                       arm=jnp.asarray(np.arange(n) % k, jnp.int32), weight=jnp.zeros(n, jnp.float32),
                       target=jnp.zeros(n, jnp.float32), offset=jnp.float32(0.0),
                       mu_bins=jnp.array([8, 8], jnp.int32), tau_bins=jnp.array([8, 8], jnp.int32),
                       mu_prior_var=jnp.array([0.3], jnp.float32),
                       tau_prior_var=jnp.array([0.0, 0.05, 0.05], jnp.float32),
                       tau0_prior_var=jnp.array([0.0, 1.0, 1.0], jnp.float32),
                       nu=jnp.float32(3.0), lam=jnp.float32(0.5))
    spec = ChannelSpec(mu=ForestPrior(config.max_depth, config.mu_alpha, config.mu_beta, 0.0),
                       tau=ForestPrior(config.max_depth, config.tau_alpha, config.tau_beta, 0.0, 0.0,
                                       config.tau_leaf_dof), family=GAUSSIAN,
                       leaf_scale_shape=config.leaf_scale_shape if config.sample_leaf_scales else None,
                       rescale_leaves=config.rescale_leaves)

    def run(key):
        k0, k1 = jax.random.split(key)
        state = init_state(k0, data, config, k, GAUSSIAN)

        def one(state, key):
            before = (state.mu_leaf_var[0], state.tau_leaf_var[1])
            state, _ = step(key, state, data, spec)
            return state, before

        state, before = jax.lax.scan(one, state, jax.random.split(k1, iterations))
        used = (before[0][-1], before[1][-1])  # the leaf variances the last step drew leaves with
        if config.rescale_leaves:  # the move rescaled leaves and variances together after that draw
            used = (state.mu_leaf_var[0], state.tau_leaf_var[1])
        # The value of the leaf that visitor 0 sits in, in the first tree of each forest.
        mu_leaf = state.mu.leaf[0, state.mu_nodes[0, 0], 0]
        tau_leaf = state.tau.leaf[0, state.tau_nodes[0, 0], 1]
        return state.sigma2, state.mu_leaf_var[0], state.tau_leaf_var[1], mu_leaf, tau_leaf, used[0], used[1]

    return [np.asarray(a) for a in jax.jit(jax.vmap(run))(jax.random.split(jax.random.PRNGKey(4), chains))]


@pytest.mark.parametrize(("sampled", "shape", "rescale"),
                         [(False, 3.0, False), (True, 3.0, False), (True, BCFConfig().leaf_scale_shape, False),
                          (True, BCFConfig().leaf_scale_shape, True)],
                         ids=["fixed-scales", "sampled-scales-shape-3", "sampled-scales-default-shape",
                              "sampled-scales-rescaled"])
def test_prior_predictive_of_a_channel_step(sampled, shape, rescale):
    config = BCFConfig(mu_trees=8, tau_trees=4, max_depth=3, sample_leaf_scales=sampled, leaf_scale_shape=shape,
                       rescale_leaves=rescale)
    sigma2, mu_var, tau_var, mu_leaf, tau_leaf, mu_used, tau_used = _prior_only_chains(config, 3000, 40)
    # Noise variance: its prior InvGamma(nu / 2, nu lam / 2).
    assert stats.kstest(sigma2, stats.invgamma(1.5, scale=0.75).cdf).pvalue > 0.001
    # A leaf's value: N(0, the leaf variance it was drawn with).
    assert stats.kstest(mu_leaf / np.sqrt(mu_used), "norm").pvalue > 0.001
    assert stats.kstest(tau_leaf / np.sqrt(tau_used), "norm").pvalue > 0.001
    if sampled:  # leaf variances: InvGamma(a, (a - 1) x the default variance), whose mean is the default
        assert stats.kstest(mu_var, stats.invgamma(shape, scale=(shape - 1) * 0.3).cdf).pvalue > 0.001
        assert stats.kstest(tau_var, stats.invgamma(shape, scale=(shape - 1) * 0.05).cdf).pvalue > 0.001
    else:
        np.testing.assert_array_equal(mu_var, np.float32(0.3))
        np.testing.assert_array_equal(tau_var, np.float32(0.05))



@pytest.mark.parametrize("sampled", [False, True], ids=["fixed-scale", "sampled-scale"])
def test_prior_predictive_of_student_treatment_leaves(sampled):
    # No visitor in the likelihood: a treatment leaf is sqrt(v) times a Student-t with tau_leaf_dof
    # degrees of freedom (its tail scale integrated out), and v keeps its own prior.
    dof = 3.0
    config = BCFConfig(mu_trees=8, tau_trees=4, max_depth=3, sample_leaf_scales=sampled, tau_leaf_dof=dof)
    _, _, tau_var, _, tau_leaf, _, tau_used = _prior_only_chains(config, 3000, 40)
    assert stats.kstest(tau_leaf / np.sqrt(tau_used), stats.t(dof).cdf).pvalue > 0.001
    # A normal leaf would fail here: its tails are far lighter than a t with 3 degrees of freedom.
    assert stats.kstest(tau_leaf / np.sqrt(tau_used), "norm").pvalue < 0.001
    if sampled:
        shape = config.leaf_scale_shape
        assert stats.kstest(tau_var, stats.invgamma(shape, scale=(shape - 1) * 0.05).cdf).pvalue > 0.001


def test_student_leaves_are_a_validated_setting():
    assert BCFConfig().tau_leaf_dof is None
    assert BCFConfig(tau_leaf_dof=3).tau_leaf_dof == 3.0
    assert _spec(BCFConfig(tau_leaf_dof=3), GAUSSIAN).tau.tail_dof == 3.0
    for bad in (0, -1.0, float("inf")):
        with pytest.raises(ValueError, match="tau_leaf_dof"):
            BCFConfig(tau_leaf_dof=bad)
    for other in ({"warm_start": 2}, {"rescale_leaves": True}, {"change_probability": 0.3}):
        with pytest.raises(ValueError, match="tau_leaf_dof.*Fix"):
            BCFConfig(tau_leaf_dof=3, **other)
    with pytest.raises(ValueError, match="sweep_student"):  # a t forest through the normal sweep
        sweep(jax.random.PRNGKey(0), empty_forest(1, 2, 1), jnp.ones((1, 4), jnp.int32), jnp.zeros(4),
              SweepData(jnp.zeros((1, 4), jnp.uint8), jnp.zeros(4, jnp.int32), jnp.ones(4), jnp.array([2]),
                        jnp.array([0.1])), jnp.float32(1.0), ForestPrior(2, 0.95, 2.0, 0.0, 0.0, 3.0))
