"""Visitor feature samplers: a Gaussian copula, or a mixture of latent clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from .config import (
    LATENT_CLUSTER_COLUMN,
    CopulaConfig,
    FeatureSamplerConfig,
    FeatureSpec,
    MixtureConfig,
)


def _categorical_from_uniform(spec: FeatureSpec, u: np.ndarray) -> pd.Categorical:
    # Cut (0, 1) at the cumulative category weights: P(category j) = weight j.
    edges = np.cumsum(spec.category_weights)[:-1]
    codes = np.searchsorted(edges, u, side="right")
    return pd.Categorical.from_codes(codes, categories=list(spec.categories))


def _sample_copula(config: CopulaConfig, rng: np.random.Generator, n: int) -> pd.DataFrame:
    d = len(config.features)
    # Cholesky of a PSD matrix may fail on exact singularity; eigh does not.
    vals, vecs = np.linalg.eigh(config.correlation)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    z = rng.standard_normal((n, d)) @ root.T
    columns: dict[str, object] = {}
    for j, spec in enumerate(config.features):
        if spec.kind == "continuous":
            columns[spec.name] = z[:, j]
        elif spec.kind == "binary":
            columns[spec.name] = z[:, j] > 0.0
        else:
            columns[spec.name] = _categorical_from_uniform(spec, stats.norm.cdf(z[:, j]))
    return pd.DataFrame(columns)


def _sample_mixture(config: MixtureConfig, rng: np.random.Generator, n: int) -> pd.DataFrame:
    weights = np.asarray(config.weights) / np.sum(config.weights)
    cluster = rng.choice(config.n_clusters, size=n, p=weights)
    members = [np.flatnonzero(cluster == c) for c in range(config.n_clusters)]
    columns: dict[str, object] = {}
    for spec in config.features:
        if spec.kind == "continuous":
            values = np.empty(n)
            for c, idx in enumerate(members):
                p = config.cluster_params[c]
                values[idx] = rng.normal(float(p[f"{spec.name}_mean"]), float(p[f"{spec.name}_std"]), idx.size)
            columns[spec.name] = values
        elif spec.kind == "binary":
            flags = np.empty(n, dtype=bool)
            for c, idx in enumerate(members):
                flags[idx] = rng.random(idx.size) < float(config.cluster_params[c][f"{spec.name}_prob"])
            columns[spec.name] = flags
        else:
            labels: list[str] = []
            for p in config.cluster_params:
                labels.extend(str(k) for k in p[f"{spec.name}_probs"] if str(k) not in labels)
            codes = np.empty(n, dtype=np.int64)
            for c, idx in enumerate(members):
                table = config.cluster_params[c][f"{spec.name}_probs"]
                probs = np.array([float(table.get(label, 0.0)) for label in labels])
                codes[idx] = rng.choice(len(labels), size=idx.size, p=probs / probs.sum())
            columns[spec.name] = pd.Categorical.from_codes(codes, categories=labels)
    columns[LATENT_CLUSTER_COLUMN] = cluster.astype(np.int64)
    return pd.DataFrame(columns)


def sample_features(config: FeatureSamplerConfig, rng: np.random.Generator, n: int) -> pd.DataFrame:
    """Draw ``n`` visitors' features, one row each, in generation order.

    A ``MixtureConfig`` adds the latent ``cluster_id`` column, which surfaces
    may read and which never reaches observed data.
    """
    if n < 0:
        raise ValueError(f"sample_features: n must be >= 0, got {n}")
    if isinstance(config, CopulaConfig):
        return _sample_copula(config, rng, n)
    if isinstance(config, MixtureConfig):
        return _sample_mixture(config, rng, n)
    raise TypeError(f"sample_features: expected CopulaConfig or MixtureConfig, got {type(config).__name__}")
