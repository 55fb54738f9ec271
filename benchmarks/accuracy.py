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

The systems and scores are ``pytyche_core.benchmarking``'s (the pipeline's
accuracy partitions compute the same). Then a table of means per scenario
and system. Systems: ``pytyche`` (default
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

from isolation import in_own_process
from rows import machine, parse_override, print_means, print_row

from pytyche_core.benchmarking import SYSTEMS, score_system
from pytyche_core.benchmarking.peers import STOCHTREE_SETTINGS


def run_system(args: dict) -> dict:
    import pytyche_core as pt
    from pytyche_core.simulate import scenario

    observed, truth = pt.simulate(scenario(args["scenario"], k=args["k"], profile=args["profile"])
                                  .config(args["n"], seed=args["seed"]))
    return score_system(observed, truth, args["system"], seed=args["seed"], config=pt.BCFConfig(**args["overrides"]),
                        stochtree=args["stochtree"])


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
    print(f"# machine: {machine()}; "
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
