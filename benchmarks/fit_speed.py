"""Fit speed and accuracy: pytyche's hurdle BCF against stochtree's BCF as a two-part model.

Both engines fit the same simulated hurdle data (a catalog scenario, K arms)
with the same numbers of trees and MCMC sweeps:

- pytyche: ``pt.fit`` (probit BCF on conversion x Gaussian BCF on log revenue
  of converters, one vector-leaf treatment forest per channel);
- stochtree: ``BCFModel`` twice — probit on conversion for everyone, Gaussian
  on log revenue for converters with a multivariate (one-hot) treatment —
  then ``predict`` for every visitor.

Per engine the script prints wall time (fit plus every visitor's effect
draws), seconds per 1k visitors, peak resident memory of the process, the
RMSE of the posterior-mean revenue-per-visitor effect against the truth, and
the share of (visitor, arm) pairs whose 80% interval covers the truth, and
the conversion channel's own RMSEs (control rate p0, rate contrasts dp);
then the ratios pytyche / stochtree. Each engine runs in its own process so peak
memory is its own. Run with the bench extra installed:

    .venv-bench/bin/python benchmarks/fit_speed.py --n 10000 50000
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import platform
import resource
import time

import numpy as np
from scipy.special import ndtr


def simulate(scenario_name: str, k: int, profile: str, n: int, seed: int):
    import pytyche_core as pt
    from pytyche_core.simulate import scenario

    return pt.simulate(scenario(scenario_name, k=k, profile=profile).config(n, seed=seed))


def channel_scores(p0: np.ndarray, dp: np.ndarray, truth) -> dict[str, float]:
    """RMSE of the conversion channel alone: the control rate ``p0`` (n,) and its contrasts ``dp`` (n, K-1)."""
    p = truth.conversion_probabilities()
    return {"p0_rmse": float(np.sqrt(((p0 - p[:, 0]) ** 2).mean())),
            "dp_rmse": float(np.sqrt(((dp - (p[:, 1:] - p[:, :1])) ** 2).mean()))}


def score(effects: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """RMSE of the posterior mean and 80% coverage; ``effects`` (n, S, K-1), ``truth`` (n, K-1)."""
    mean = effects.mean(axis=1)
    low, high = np.quantile(effects, [0.1, 0.9], axis=1)
    ate = effects.mean(axis=0)  # (S, K-1): per-draw average effect
    ate_low, ate_high = np.quantile(ate, [0.1, 0.9], axis=0)
    true_ate = truth.mean(axis=0)
    return {
        "rmse": float(np.sqrt(((mean - truth) ** 2).mean())),
        "truth_sd": float(truth.std()),
        "coverage80": float(((low <= truth) & (truth <= high)).mean()),
        "ate_error": float(np.abs(ate.mean(axis=0) - true_ate).mean()),
        "ate_covered": float(((ate_low <= true_ate) & (true_ate <= ate_high)).mean()),
    }


def run_pytyche(args: dict) -> dict:
    import pytyche_core as pt

    observed, truth = simulate(args["scenario"], args["k"], args["profile"], args["n"], args["seed"])
    config = pt.BCFConfig(mu_trees=args["mu_trees"], tau_trees=args["tau_trees"], burn_in=args["burn_in"],
                          draws=args["draws"], chains=args["chains"])
    started = time.perf_counter()
    result = pt.fit(observed, config=config, seed=args["seed"])
    effects = result.rpv_cate_samples
    seconds = time.perf_counter() - started
    predictors = [result.conversion.predictors(j) for j in range(observed.n_arms - 1)]
    p0 = ndtr(predictors[0][0]).mean(axis=0)
    dp = np.stack([(ndtr(arm) - ndtr(base)).mean(axis=0) for base, arm in predictors], axis=-1)
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            **score(effects, truth.contrasts()), **channel_scores(p0, dp, truth)}


def run_stochtree(args: dict) -> dict:
    from peers import stochtree_hurdle, stochtree_sweeps

    observed, truth = simulate(args["scenario"], args["k"], args["profile"], args["n"], args["seed"])
    sweeps = stochtree_sweeps("matched", burn_in=args["burn_in"], draws=args["draws"], chains=args["chains"])
    started = time.perf_counter()
    fit = stochtree_hurdle(observed, sweeps=sweeps, seed=args["seed"], trees=(args["mu_trees"], args["tau_trees"]))
    seconds = time.perf_counter() - started
    dp = (fit.p - fit.p0[:, :, None]).mean(axis=1)
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            **score(fit.effects, truth.contrasts()), **channel_scores(fit.p0.mean(axis=1), dp, truth)}


def in_own_process(fn, args: dict) -> dict:
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(fn, args).result()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--scenario", default="reversal")
    parser.add_argument("--profile", default="stress")
    parser.add_argument("--mu-trees", type=int, default=200)
    parser.add_argument("--tau-trees", type=int, default=50)
    parser.add_argument("--burn-in", type=int, default=200)
    parser.add_argument("--draws", type=int, default=100)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engines", nargs="+", default=["pytyche", "stochtree"])
    opts = parser.parse_args()
    import jax

    print(f"machine: {platform.processor() or platform.machine()}, {multiprocessing.cpu_count()} cores; "
          f"jax {jax.__version__} backend {jax.default_backend()}")
    print(f"scenario {opts.scenario} ({opts.profile}), K={opts.k}; trees {opts.mu_trees}+{opts.tau_trees}, "
          f"burn-in {opts.burn_in}, draws {opts.draws} x {opts.chains} chains, no warm start")
    runners = {"pytyche": run_pytyche, "stochtree": run_stochtree}
    header = f"{'n':>7} {'engine':>9} {'wall s':>8} {'s/1k':>6} {'peak MB':>8} {'RMSE':>7} {'truth sd':>8} " \
             f"{'cover80':>7} {'ATE err':>7} {'ATE cov':>7} {'p0 RMSE':>7} {'dp RMSE':>7}"
    print(header)
    for n in opts.n:
        args = {"n": n, "k": opts.k, "scenario": opts.scenario, "profile": opts.profile, "seed": opts.seed,
                "mu_trees": opts.mu_trees, "tau_trees": opts.tau_trees, "burn_in": opts.burn_in,
                "draws": opts.draws, "chains": opts.chains}
        rows = {}
        for engine in opts.engines:
            r = rows[engine] = in_own_process(runners[engine], args)
            print(f"{n:>7} {engine:>9} {r['seconds']:8.1f} {1000 * r['seconds'] / n:6.2f} {r['peak_mb']:8.0f} "
                  f"{r['rmse']:7.3f} {r['truth_sd']:8.3f} {r['coverage80']:7.2f} {r['ate_error']:7.3f} "
                  f"{r['ate_covered']:7.2f} {r['p0_rmse']:7.4f} {r['dp_rmse']:7.4f}", flush=True)
        if {"pytyche", "stochtree"} <= rows.keys():
            ours, peer = rows["pytyche"], rows["stochtree"]
            print(f"{n:>7} {'ratio':>9} {ours['seconds'] / peer['seconds']:8.2f} {'':>6} "
                  f"{ours['peak_mb'] / peer['peak_mb']:8.2f} {ours['rmse'] / peer['rmse']:7.2f}", flush=True)


if __name__ == "__main__":
    main()
