"""Fits shared by ``test_fit_recovery.py`` and ``test_fit_inputs.py``, made once per session.

JAX compiles the sampler once per distinct shape (visitors, covariates, arms,
trees, depth, chunk; probit or Gaussian), and a compile costs far more than
these small fits. So every fit here uses ``SHAPE`` and one of few sizes:

- scenario data: K = 2 at 3000 visitors, K = 3 at 4500 (binary and hurdle
  share the probit compile of their K; the hurdle's order-value channel is
  sized by its converters, so each hurdle data set compiles that once);
- hand-built Gaussian data: K = 2 at 600 visitors with 6 features, K = 3 at
  900 (300 per arm) with 5 features. Both have 7 covariates with the
  propensity columns, so the control-vs-arm fits of K = 3 under independent
  pooling (600 visitors, 2 arms, 7 covariates) reuse the K = 2 compile, and
  the coverage replicates reuse the K = 3 one.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pandas as pd
import pytest

import pytyche_core as pt
from pytyche_core.simulate import scenario

#: What decides the compiled shape, besides the data. Shallow trees keep compiles short.
SHAPE = dict(mu_trees=20, tau_trees=10, max_depth=4, chunk=25)
#: Recovery fits: 2 chains, 150 burn-in + 100 kept draws each.
RECOVERY = pt.BCFConfig(**SHAPE, burn_in=150, draws=100, chains=2)
#: Coverage replicates: 2 chains x (200 + 50). With 50 burn-in sweeps the confounded problems
#: still carried the start's regularisation bias (the ATE's posterior mean 0.2-0.4 posterior sd
#: high, its size depending on the sampler's random streams); at 200 it is gone to within noise.
COVERAGE = pt.BCFConfig(**SHAPE, burn_in=200, draws=50, chains=2)
#: Determinism and input checks: enough to run every code path, not to converge.
SHORT = pt.BCFConfig(**SHAPE, burn_in=25, draws=25, chains=2)

#: Strong-effect scenarios (per-visitor effects identifiable at these sizes): the stress
#: profile's reversal template with a higher baseline conversion, which leaves room for a
#: large effect spread (the catalog refuses effects that push outcomes out of range).
STRONG_BINARY = dict(name="reversal", metric="conversion_rate", profile="stress", baseline_rate=0.3,
                     hte_scale=0.1)
STRONG_REVENUE = dict(name="reversal", metric="revenue_per_visitor", profile="stress", baseline_rate=0.5,
                      hte_scale=9.0)
SIZES = {2: 3000, 3: 4500}


@dataclasses.dataclass(frozen=True)
class Bundle:
    """Observed data and its true effects ``(n, K-1)``, aligned with the observed rows."""

    observed: pt.ObservedExperimentData
    truth: np.ndarray
    decomposition: tuple[np.ndarray, np.ndarray] | None = None


@dataclasses.dataclass(frozen=True)
class Fitted(Bundle):
    result: pt.BinaryBCFResult | pt.ContinuousBCFResult | pt.HurdleBCFResult | None = None


def simulate_scenario(k: int, *, seed: int, name: str, metric: str, profile: str, **knobs) -> Bundle:
    observed, truth = pt.simulate(scenario(name, k=k, metric=metric, profile=profile, **knobs)
                                  .config(SIZES[k], seed=seed))
    return Bundle(observed, truth.contrasts(), truth.decomposition())


def make_gaussian_experiment(n: int, k: int, seed: int, *, noise: float = 1.0, confounding: float = 1.0,
                             floor: float = 0.2) -> Bundle:
    """A hand-built Gaussian BCF problem with confounded assignment, ``n / k`` visitors per arm.

    Features x1..x4 ~ N(0, 1), a categorical ``segment`` (and, at K = 2 only,
    an irrelevant x5). Assignment probabilities rise (arm 1) or fall (arm 2)
    with x1 and are recorded in the propensity columns; x1 also drives the
    prognostic surface, so the propensity is a useful covariate for mu:

        P(arm a | x) = floor + (1 - k floor) softmax_a(confounding * s_a * x1),
        s = (0, 1.5) at K = 2, (0, 0.8, -0.8) at K = 3.

    ``floor`` bounds every arm's probability from below (overlap); with
    ``floor=0`` at K = 3, arm 1 is rare (about 4%) among visitors with x1 < -1.5.

        mu(x)    = 3 x1 + 2 sin(2 x2) + 1.5 [segment = c]
        tau_1(x) = 0.5 + 2 [x3 > 0] + 0.8 x1
        tau_2(x) = -0.5 + 1.5 tanh(2 x4) + [segment = b]
        revenue  = 50 + mu + tau_z + noise * N(0, 1)      (every visitor "converts")

    Visitors are drawn until every arm has ``n / k``; the first of each arm are kept.
    """
    if n % k:
        raise ValueError(f"n={n} is not a multiple of k={k}")
    per_arm = n // k
    rng = np.random.default_rng(seed)
    pool = 4 * n
    x = rng.normal(size=(pool, 5))
    segment = rng.choice(np.array(["a", "b", "c"]), pool)
    slopes = {2: [0.0, 1.5], 3: [0.0, 0.8, -0.8]}[k]
    logits = confounding * x[:, :1] * np.array(slopes)[None, :]
    probs = floor + (1.0 - k * floor) * np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    arm = (rng.random(pool)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    mu = 3.0 * x[:, 0] + 2.0 * np.sin(2.0 * x[:, 1]) + np.where(segment == "c", 1.5, 0.0)
    tau = np.column_stack([0.5 + 2.0 * (x[:, 2] > 0) + 0.8 * x[:, 0],
                           -0.5 + 1.5 * np.tanh(2.0 * x[:, 3]) + (segment == "b")])[:, : k - 1]
    received = np.where(arm[:, None] == np.arange(1, k)[None, :], tau, 0.0).sum(axis=1)
    revenue = 50.0 + mu + received + noise * rng.normal(size=pool)
    frame = pd.DataFrame({
        "visitor_id": [f"g{seed}-{i}" for i in range(pool)],
        "experiment_id": f"gaussian-k{k}",
        "converted": np.ones(pool, dtype=bool),
        "revenue": revenue,
        "orders_count": np.ones(pool, dtype="int64"),
        "sessions_count": np.ones(pool, dtype="int64"),
        "x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2], "x4": x[:, 3],
        "segment": pd.Categorical(segment, categories=["a", "b", "c"]),
    })
    if k == 2:
        frame["x5"] = x[:, 4]
        frame["propensity"] = probs[:, 1]
    else:
        for j in range(1, k):
            frame[f"propensity_{j}"] = probs[:, j]
    names = ["control", *(f"arm_{j}" for j in range(1, k))]
    variants, truth = [], []
    for a, name in enumerate(names):
        rows = np.flatnonzero(arm == a)[:per_arm]
        if rows.size < per_arm:
            raise RuntimeError(f"arm {name} drew only {rows.size} of {per_arm} visitors")
        variants.append(pt.VariantData.from_visitors(
            name, frame.iloc[rows].assign(variant=name).reset_index(drop=True)))
        truth.append(tau[rows])
    observed = pt.ObservedExperimentData(f"gaussian-k{k}", "revenue_per_visitor", variants)
    return Bundle(observed, np.concatenate(truth))


GAUSSIAN_SIZES = {2: 600, 3: 900}


def _fit(bundle: Bundle, *, config: pt.BCFConfig = RECOVERY, seed: int = 0, **kwargs) -> Fitted:
    return Fitted(bundle.observed, bundle.truth, bundle.decomposition,
                  pt.fit(bundle.observed, config=config, seed=seed, **kwargs))


@functools.cache
def _scenario_fit(kind: str, k: int) -> Fitted:
    knobs = STRONG_REVENUE if kind == "hurdle" else STRONG_BINARY
    return _fit(simulate_scenario(k, seed=11, **knobs))


@functools.cache
def _gaussian_fit(k: int, pooling: str = "joint") -> Fitted:
    return _fit(make_gaussian_experiment(GAUSSIAN_SIZES[k], k, seed=5), model="continuous", pooling=pooling)


@pytest.fixture(scope="session")
def recovery_config() -> pt.BCFConfig:
    return RECOVERY


@pytest.fixture(scope="session")
def coverage_config() -> pt.BCFConfig:
    return COVERAGE


@pytest.fixture(scope="session")
def short_config() -> pt.BCFConfig:
    return SHORT


@pytest.fixture(scope="session")
def gaussian_experiment():
    """``make_gaussian_experiment(n, k, seed)``: a hand-built Gaussian problem with its truth."""
    return make_gaussian_experiment


@pytest.fixture(scope="session")
def gaussian_sizes() -> dict[int, int]:
    """Visitors of the hand-built problem per K: the sizes whose compiles the session shares."""
    return GAUSSIAN_SIZES


@pytest.fixture(scope="session")
def scenario_data():
    """``scenario_data(k, seed=..., **knobs)``: a catalog scenario at the shared size for ``k``."""
    return simulate_scenario


@pytest.fixture(scope="session")
def strong_knobs() -> dict[str, dict]:
    return {"binary": STRONG_BINARY, "hurdle": STRONG_REVENUE}


@pytest.fixture(scope="session")
def hurdle_k2() -> Fitted:
    return _scenario_fit("hurdle", 2)


@pytest.fixture(scope="session")
def hurdle_k3() -> Fitted:
    return _scenario_fit("hurdle", 3)


@pytest.fixture(scope="session")
def binary_k2() -> Fitted:
    return _scenario_fit("binary", 2)


@pytest.fixture(scope="session")
def binary_k3() -> Fitted:
    return _scenario_fit("binary", 3)


@pytest.fixture(scope="session")
def continuous_k2() -> Fitted:
    return _gaussian_fit(2)


@pytest.fixture(scope="session")
def continuous_k3() -> Fitted:
    return _gaussian_fit(3)


@pytest.fixture(scope="session")
def continuous_k3_independent() -> Fitted:
    return _gaussian_fit(3, "independent")
