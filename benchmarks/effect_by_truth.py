"""Where a fit's error sits: the truth's own groups, each group's average effect against its posterior.

GATE RMSE groups visitors by the *estimated* effect, so it mixes two errors: ranking visitors
wrongly and misjudging a group's level. This script groups them by the *true* effect instead. On
a scenario whose truth is exactly zero for part of the population (``sparse_benefit``,
``partial_null``, ``clustered``) the groups are "null" and "affected"; where it is the same for
everyone (``constant``) there is one group; otherwise the quartiles of the true effect. Per
system, treatment and group:

- ``truth``: the group's true average revenue-per-visitor effect;
- ``estimate`` and ``low80`` / ``high80``: the posterior mean and 80% interval of the group's
  average effect (from the draws: average over the group, then quantiles over draws), and
  ``z``: (estimate - truth) / posterior sd of that average, so a level error can be told from
  posterior uncertainty;
- ``spread``: sd over the group's visitors of the posterior-mean effect (where the truth is
  null, all of it is invented).

For pytyche, per channel and group, the same average on the channel's own scale, beside the
truth's: conversion as the probit gap Phi^-1(p_arm) - Phi^-1(p_control), order value as the
log ratio log(m_arm / m_control); then each channel's sampled leaf variances (the first fit's, at
independent pooling), whose size sets how far a small group's leaves are shrunk. Run with the
bench extra installed::

    .venv-bench/bin/python benchmarks/effect_by_truth.py partial_null --k 2 --profile stress --seed 0 --systems pytyche stochtree
"""

from __future__ import annotations

import argparse

import numpy as np
from rows import add_data_set_arguments, machine, parse_override
from scipy.special import ndtri

from pytyche_core.benchmarking import quartile_groups

#: A share of visitors with exactly zero true effect at least this large (and at most 1 minus it)
#: makes the groups null / affected instead of quartiles of the truth.
NULL_SHARE = 0.05


def truth_groups(truth: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Group index per visitor and the groups' names, from one treatment's true effects [n]."""
    null = np.abs(truth) < 1e-12
    if NULL_SHARE <= null.mean() <= 1 - NULL_SHARE:
        return np.where(null, 0, 1), ["null", "affected"]
    if np.ptp(truth) < 1e-12:  # `constant`: one group, whose spread is all invented
        return np.zeros(truth.shape, int), ["all"]
    return quartile_groups(truth), ["q1", "q2", "q3", "q4"]


def group_rows(effects: np.ndarray, truth: np.ndarray) -> list[dict]:
    """Per group of the truth: the rows described above, for draws ``effects`` [n, S] of one treatment."""
    group, names = truth_groups(truth)
    mean = effects.mean(axis=1)
    rows = []
    for g, name in enumerate(names):
        members = group == g
        averages = effects[members].mean(axis=0)  # [S]: the group's average effect per draw
        low, high = np.quantile(averages, [0.1, 0.9])
        target = truth[members].mean()
        rows.append({"group": name, "share": members.mean(), "truth": target, "estimate": averages.mean(),
                     "low80": low, "high80": high, "covers": bool(low <= target <= high),
                     "z": (averages.mean() - target) / max(averages.std(), 1e-12),
                     "spread": mean[members].std()})
    return rows


def channel_truth(truth_bundle, j: int) -> dict[str, np.ndarray]:
    """The truth's probit gap and log order-value ratio of arm j+1 against control, per visitor."""
    if truth_bundle.p_per_visitor is not None:  # K >= 3
        p = [truth_bundle.p_per_visitor[a].values for a in (0, j + 1)]
        m = None if truth_bundle.m_per_visitor is None else [truth_bundle.m_per_visitor[a].values
                                                             for a in (0, j + 1)]
    else:
        p = [truth_bundle.p0_per_visitor.values, truth_bundle.p1_per_visitor.values]
        m = None if truth_bundle.m0_per_visitor is None else [truth_bundle.m0_per_visitor.values,
                                                              truth_bundle.m1_per_visitor.values]
    out = {"conversion": ndtri(p[1]) - ndtri(p[0])}
    if m is not None:
        out["order_value"] = np.log(m[1] / m[0])
    return out


def channel_rows(result, truth_bundle, j: int, groups: np.ndarray, names: list[str]) -> list[dict]:
    """Per channel and group of the truth: true and estimated average of the arm's channel effect."""
    rows = []
    true_parts = channel_truth(truth_bundle, j)
    for channel, fits in result.channel_fits.items():
        if channel not in true_parts:
            continue
        control, arm = fits.predictors(j)
        gap = (arm - control).mean(axis=0)  # [n] posterior mean of the linear-predictor effect
        for g, name in enumerate(names):
            members = groups == g
            rows.append({"channel": channel, "group": name, "truth": true_parts[channel][members].mean(),
                         "estimate": gap[members].mean(), "spread": gap[members].std()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_set_arguments(parser, profile="stress")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--systems", nargs="+", default=["pytyche"], choices=["pytyche", "stochtree"])
    opts = parser.parse_args()

    import pandas as pd

    import pytyche_core as pt
    from pytyche_core.benchmarking.peers import stochtree_effects, stochtree_sweeps
    from pytyche_core.simulate import scenario

    overrides = dict(parse_override(text) for text in opts.overrides)
    print(f"# machine: {machine()}; {opts.scenario}, K={opts.k} {opts.profile} n={opts.n} seed={opts.seed}; "
          f"pytyche overrides {overrides}")
    observed, truth = pt.simulate(scenario(opts.scenario, k=opts.k, profile=opts.profile).config(opts.n,
                                                                                                  seed=opts.seed))
    contrasts = truth.contrasts()
    for system in opts.systems:
        if system == "pytyche":
            result = pt.fit(observed, config=pt.BCFConfig(**overrides), seed=opts.seed)
            effects = np.asarray(result.rpv_cate_samples)
            effects = effects if effects.ndim == 3 else effects[:, :, None]
        else:
            result = None
            effects = stochtree_effects(observed, sweeps=stochtree_sweeps("recommended"), seed=opts.seed)
        for j in range(contrasts.shape[1]):
            rows = pd.DataFrame(group_rows(effects[:, :, j], contrasts[:, j]))
            print(f"\n{system}, treatment {j + 1}: revenue-per-visitor effect by true group")
            print(rows.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
            if result is not None:
                groups, names = truth_groups(contrasts[:, j])
                print(f"{system}, treatment {j + 1}: each channel's effect on its own scale, by true group")
                print(pd.DataFrame(channel_rows(result, truth, j, groups, names))
                      .to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        if result is not None:
            for channel, fits in result.channel_fits.items():
                priors = fits.fits[0].priors
                print(f"{channel}: leaf variances on the model scale, posterior mean (prior mean where "
                      f"sample_leaf_scales=false): treatment {priors.tau_leaf_var.mean(axis=(0, 1)).round(5)}, "
                      f"prognostic {priors.mu_leaf_var.mean():.5f}")


if __name__ == "__main__":
    main()
