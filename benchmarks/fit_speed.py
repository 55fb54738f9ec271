"""Fit speed and accuracy, same data, same run: our default fit beside stochtree and bartz.

Engines, each in its own process (so peak memory is its own):

- ``pytyche``: ``pt.fit`` with the default ``BCFConfig`` (``--set NAME=VALUE`` overrides,
  e.g. ``--set warm_start=10 burn_in=25``): probit BCF on conversion x Gaussian BCF on
  log revenue of converters, one vector-leaf treatment forest per channel;
- ``stochtree``: ``BCFModel`` twice as a two-part model (``benchmarks/peers.py``) at its
  authors' recommended setting, 10 grow-from-root sweeps then 100 MCMC (``--stochtree
  matched``: our burn-in, draws and chains instead);
- ``bartz``: bartz's ``bcf`` twice the same way, 100 burn-in + 100 kept sweeps (K = 2 only:
  it has one binary treatment).

Per engine: wall time (fit plus every visitor's effect draws), seconds per 1k
visitors, peak resident memory, per-visitor RMSE of the revenue-per-visitor
effect, GATE RMSE over quartiles of the estimated effect, 80% coverage of
visitor and group intervals, average-effect error; then each peer's ratios
(ours / peer: below 1 means we are faster or more accurate). Run with the
bench extra installed::

    .venv-bench/bin/python benchmarks/fit_speed.py --n 50000 --k 3
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from isolation import in_own_process
from rows import machine, parse_override

from pytyche_core.benchmarking import as_estimate, score
from pytyche_core.benchmarking.peers import (
    STOCHTREE_SETTINGS,
    bartz_effects,
    stochtree_effects,
    stochtree_sweeps,
)


def simulate(args: dict):
    import pytyche_core as pt
    from pytyche_core.simulate import scenario

    return pt.simulate(scenario(args["scenario"], k=args["k"], profile=args["profile"]).config(args["n"],
                                                                                             seed=args["seed"]))


def run_engine(args: dict) -> dict:
    observed, truth = simulate(args)
    engine, seed = args["engine"], args["seed"]
    started = time.perf_counter()
    if engine == "pytyche":
        import pytyche_core as pt

        effects = pt.fit(observed, config=pt.BCFConfig(**args["overrides"]), seed=seed).rpv_cate_samples
    elif engine == "stochtree":
        config = _config(args["overrides"])
        sweeps = stochtree_sweeps(args["stochtree"], burn_in=config.burn_in, draws=config.draws,
                                  chains=config.chains)
        effects = stochtree_effects(observed, sweeps=sweeps, seed=seed)
    elif engine == "bartz":
        effects = bartz_effects(observed, seed=seed)
    else:
        raise ValueError(f"unknown engine {engine!r}. Fix: one of pytyche, stochtree, bartz.")
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "device_peak_mb": _device_peak_mb() if engine == "pytyche" else float("nan"),
            **score(as_estimate(np.asarray(effects)), truth.contrasts(), observed)}


def _device_peak_mb() -> float:
    """The JAX device's peak bytes in use, in MiB; NaN where the backend does not report it (CPU)."""
    import jax

    stats = jax.devices()[0].memory_stats() or {}
    return stats["peak_bytes_in_use"] / 2**20 if "peak_bytes_in_use" in stats else float("nan")


def _config(overrides: dict):
    import pytyche_core as pt

    return pt.BCFConfig(**overrides)


COLUMNS = (("seconds", "wall s", "8.1f"), ("peak_mb", "peak MB", "8.0f"), ("rmse", "RMSE", "7.3f"),
           ("gate_rmse", "GATE", "7.3f"), ("cover80", "cover80", "7.2f"), ("gate_cover80", "GATEcov", "7.2f"),
           ("ate_error", "ATE err", "7.3f"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--scenario", default="clustered")
    parser.add_argument("--profile", default="realistic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", nargs="+", default=None, choices=("pytyche", "stochtree", "bartz"),
                        help="default: pytyche and stochtree, plus bartz at K = 2")
    parser.add_argument("--stochtree", choices=STOCHTREE_SETTINGS, default="recommended")
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="NAME=VALUE",
                        help="BCFConfig overrides for pytyche, e.g. warm_start=10")
    opts = parser.parse_args()
    engines = opts.engines or (["pytyche", "stochtree", "bartz"] if opts.k == 2 else ["pytyche", "stochtree"])
    overrides = dict(parse_override(o) for o in opts.overrides)
    import jax

    print(f"machine: {machine()}; "
          f"jax {jax.__version__} backend {jax.default_backend()}")
    print(f"scenario {opts.scenario} ({opts.profile}), K={opts.k}, seed {opts.seed}; pytyche BCFConfig "
          f"overrides {overrides or 'none (the default)'}; stochtree {opts.stochtree}")
    print(f"{'n':>7} {'engine':>9} {'s/1k':>6} " + " ".join(f"{title:>{fmt.split('.')[0]}}"
                                                      for _, title, fmt in COLUMNS))
    for n in opts.n:
        rows = {}
        for engine in engines:
            args = {"n": n, "k": opts.k, "scenario": opts.scenario, "profile": opts.profile, "seed": opts.seed,
                    "engine": engine, "stochtree": opts.stochtree, "overrides": overrides}
            r = rows[engine] = in_own_process(run_engine, args)
            print(f"{n:>7} {engine:>9} {1000 * r['seconds'] / n:6.2f} "
                  + " ".join(format(r[key], fmt) for key, _, fmt in COLUMNS), flush=True)
        for peer in (e for e in engines if e != "pytyche" and "pytyche" in rows):
            ours, theirs = rows["pytyche"], rows[peer]
            print(f"{n:>7} {'/' + peer:>9} {'':>6} "
                  + " ".join(format(ours[key] / theirs[key], "8.2f" if i < 2 else "7.2f")
                             for i, (key, _, _) in enumerate(COLUMNS)), flush=True)


if __name__ == "__main__":
    main()
