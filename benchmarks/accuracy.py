"""Accuracy on the simulator's catalog: pytyche's hurdle BCF beside peers, same data, same run.

Per (scenario, seed, system) one JSON line with, against the simulator's truth
of the revenue-per-visitor contrasts (n, K-1):

- ``rmse``: per-visitor RMSE of the posterior-mean effect;
- ``gate_rmse``: RMSE of group-average effects over quartiles of the estimated effect;
- ``het_sd`` / ``true_het_sd``: sd over visitors of the posterior-mean effect, and of the truth
  (on ``constant`` the truth has none: any ``het_sd`` is invented heterogeneity);
- ``cover80`` / ``width80``: share of (visitor, arm) 80% intervals that cover the truth, mean width;
- ``gate_cover80``: the same for the quartile groups' average effects;
- ``ate_error`` (against the truth) and ``ate_vs_dim`` (against the difference in means);
- ``seconds``: fit plus every visitor's effect draws.

Then a table of means per scenario and system. Systems: ``pytyche`` (default
``BCFConfig`` plus ``--set`` overrides), ``pytyche_independent`` (the same with
independent pooling), ``stochtree`` (its recommended warm start + 100 MCMC, or
``--stochtree matched`` for our sweep counts), ``bartz`` (K = 2 only),
``econml`` (CausalForestDML on revenue) and ``t_learner`` (cross-fitted, no
intervals: its coverage columns are NaN). Each fit runs in its own process.
Needs the bench extra (``pip install -e '.[bench]'``)::

    .venv/bin/python benchmarks/accuracy.py --scenarios constant sparse_benefit --k 2 --n 20000 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import multiprocessing
import platform
import time

import numpy as np
from isolation import in_own_process
from peers import (
    STOCHTREE_SETTINGS,
    Estimate,
    as_estimate,
    bartz_effects,
    econml_estimate,
    stochtree_effects,
    stochtree_sweeps,
    t_learner_estimate,
)
from rows import print_means, print_row

#: The systems this script knows; ``pytyche`` is the joint hurdle fit, ``pytyche_independent`` the same
#: model with independent pooling (one treatment forest per arm).
SYSTEMS = ("pytyche", "pytyche_independent", "stochtree", "bartz", "econml", "t_learner")


def quartile_groups(estimate: np.ndarray) -> np.ndarray:
    edges = np.quantile(estimate, [0.25, 0.5, 0.75])
    return np.searchsorted(edges, estimate, side="right")


def score(estimate: Estimate, truth: np.ndarray, observed) -> dict[str, float]:
    """Scores of one system's ``Estimate`` against the true contrasts ``(n, K-1)``.

    Interval scores are NaN for a system without intervals.
    """
    mean = estimate.mean
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
    visitors = observed.visitors()
    arm = observed.arm_index()
    revenue = visitors["revenue"].to_numpy(dtype=float)
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


def simulate(args: dict):
    import pytyche_core as pt
    from pytyche_core.simulate import scenario

    return pt.simulate(scenario(args["scenario"], k=args["k"], profile=args["profile"]).config(args["n"],
                                                                                             seed=args["seed"]))


def run_system(args: dict) -> dict:
    observed, truth = simulate(args)
    started = time.perf_counter()
    system, seed = args["system"], args["seed"]
    if system in ("pytyche", "pytyche_independent"):
        import pytyche_core as pt

        pooling = "joint" if system == "pytyche" else "independent"
        result = pt.fit(observed, config=pt.BCFConfig(**args["overrides"]), seed=seed, pooling=pooling)
        estimate = as_estimate(np.asarray(result.rpv_cate_samples))
    elif system == "stochtree":
        estimate = as_estimate(stochtree_effects(observed, sweeps=stochtree_sweeps(args["stochtree"]), seed=seed))
    elif system == "bartz":
        estimate = as_estimate(bartz_effects(observed, seed=seed))
    elif system == "econml":
        estimate = econml_estimate(observed, seed=seed)
    elif system == "t_learner":
        estimate = t_learner_estimate(observed, seed=seed)
    else:
        raise ValueError(f"unknown system {system!r}. Fix: one of {SYSTEMS}.")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, **score(estimate, truth.contrasts(), observed)}


def parse_override(text: str) -> tuple[str, float | int | bool]:
    name, _, value = text.partition("=")
    if value.lower() in ("true", "false"):
        return name, value.lower() == "true"
    number = float(value)
    return name, int(number) if number.is_integer() and "." not in value else number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", nargs="+", default=["constant", "sparse_benefit", "clustered"])
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--profile", default="realistic")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--systems", nargs="+", default=["pytyche", "stochtree"], choices=SYSTEMS)
    parser.add_argument("--stochtree", choices=STOCHTREE_SETTINGS, default="recommended")
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="NAME=VALUE",
                        help="BCFConfig overrides for pytyche, e.g. burn_in=400")
    opts = parser.parse_args()
    overrides = dict(parse_override(o) for o in opts.overrides)
    print(f"# machine: {platform.processor() or platform.machine()}, {multiprocessing.cpu_count()} cores; "
          f"K={opts.k} {opts.profile} n={opts.n}; stochtree {opts.stochtree}; pytyche overrides {overrides}",
          flush=True)
    rows = []
    for name in opts.scenarios:
        for seed in opts.seeds:
            for system in opts.systems:
                args = {"scenario": name, "k": opts.k, "profile": opts.profile, "n": opts.n, "seed": seed,
                        "system": system, "stochtree": opts.stochtree, "overrides": overrides}
                row = {"scenario": name, "seed": seed, "system": system, **in_own_process(run_system, args)}
                rows.append(row)
                print_row(row)
    print_means(rows, by=["scenario", "system"], drop="seed")


if __name__ == "__main__":
    main()
