"""How one system's answer is scored against the simulator's truth (docs/benchmarks.md reads these names).

Against the true revenue-per-visitor contrasts (n, K-1):

- ``rmse``: per-visitor RMSE of the point estimate;
- ``gate_rmse``: RMSE of group-average effects over quartiles of the estimated effect;
- ``het_sd`` / ``true_het_sd``: sd over visitors of the point estimate, and of the truth (on
  ``constant`` the truth has none: any ``het_sd`` is invented heterogeneity);
- ``cover80`` / ``width80``: share of (visitor, arm) 80% intervals that cover the truth, mean width;
- ``gate_cover80``: the same for the quartile groups' average effects;
- ``ate_error`` (against the truth) and ``ate_vs_dim`` (against the difference in means).

Interval scores are NaN for a system without intervals.
"""

from __future__ import annotations

import numpy as np

from .peers import Estimate


def quartile_groups(estimate: np.ndarray) -> np.ndarray:
    """Each visitor's quartile (0-3) of ``estimate``."""
    edges = np.quantile(estimate, [0.25, 0.5, 0.75])
    return np.searchsorted(edges, estimate, side="right")


def score(estimate: Estimate, truth: np.ndarray, observed) -> dict[str, float]:
    """The scores above for one system's ``Estimate`` against the true contrasts ``truth`` (n, K-1)."""
    mean = estimate.mean
    if mean.shape != truth.shape:
        raise ValueError(f"score: estimate {mean.shape} and truth {truth.shape} differ. Fix: pass one row per "
                         "visitor and one column per treatment for both.")
    gate_errors, gate_hits = [], []
    for j in range(truth.shape[1]):
        group = quartile_groups(mean[:, j])
        for g in np.unique(group):
            members = group == g
            target = truth[members, j].mean()
            if estimate.group is None:
                gate_errors.append(mean[members, j].mean() - target)
                continue
            lo, hi, point = estimate.group(members, j)
            gate_errors.append(point - target)
            gate_hits.append(lo <= target <= hi)
    nan = float("nan")
    low, high = estimate.low, estimate.high
    arm = observed.arm_index()
    revenue = observed.visitors()["revenue"].to_numpy(dtype=float)
    dim = np.array([revenue[arm == j].mean() - revenue[arm == 0].mean() for j in range(1, truth.shape[1] + 1)])
    ate = mean.mean(axis=0)
    return {
        "rmse": float(np.sqrt(((mean - truth) ** 2).mean())),
        "gate_rmse": float(np.sqrt(np.mean(np.square(gate_errors)))),
        "het_sd": float(mean.std(axis=0).mean()),
        "true_het_sd": float(truth.std(axis=0).mean()),
        "cover80": nan if low is None else float(((low <= truth) & (truth <= high)).mean()),
        "width80": nan if low is None else float((high - low).mean()),
        "gate_cover80": float(np.mean(gate_hits)) if gate_hits else nan,
        "ate_error": float(np.abs(ate - truth.mean(axis=0)).mean()),
        "ate_vs_dim": float(np.abs(ate - dim).mean()),
    }
