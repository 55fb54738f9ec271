"""Time the BCF hot loop: wall time per iteration, per tree and per tree-visitor, and compile time.

Synthetic Gaussian channel (K arms, p covariates) run through ``run_channel``
twice per n: the first call compiles (timed through JAX's own compile-time
events), the second reuses the compiled block and gives the steady-state
speed. Figures to compare with NOTES.md ("BCF defaults": 2.5-4.6 ns per
tree-visitor is the floor of a scan doing two scatters and two gathers).

    .venv/bin/python benchmarks/profile_sweep.py --n 5000 50000
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np
import pandas as pd

from pytyche_core.bcf import pair_sums
from pytyche_core.bcf.binning import fit_bins
from pytyche_core.bcf.config import BCFConfig
from pytyche_core.bcf.families import GAUSSIAN
from pytyche_core.bcf.run import ChannelInputs, run_channel

_compile_seconds: list[float] = []


def _on_duration(event: str, seconds: float, **_) -> None:
    if event == "/jax/core/compile/backend_compile_duration":
        _compile_seconds.append(seconds)


def synthetic_inputs(n: int, k: int, p: int, seed: int = 0) -> ChannelInputs:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({f"x{j}": rng.normal(size=n) for j in range(p)})
    arm = rng.integers(0, k, n)
    y = (np.sin(x.x0) + 0.5 * x.x1 + (arm == 1) * (x.x2 > 0) - 0.5 * (arm == 2) * x.x3
         + rng.normal(0, 0.5, n))
    binned = fit_bins(x)
    return ChannelInputs(binned.bins, binned.n_bins, arm, k, y.astype(np.float32), np.ones(n, np.float32),
                         np.ones(p, bool), GAUSSIAN)


def profile(n: int, config: BCFConfig, k: int, p: int, repeats: int) -> dict[str, float]:
    inputs = synthetic_inputs(n, k, p)
    iterations = config.burn_in + config.draws
    trees = config.mu_trees + config.tau_trees
    _compile_seconds.clear()
    started = time.perf_counter()
    run_channel(inputs, config, jax.random.PRNGKey(0))
    first = time.perf_counter() - started
    compile_s = sum(_compile_seconds)
    runs = []
    for r in range(repeats):
        started = time.perf_counter()
        run_channel(inputs, config, jax.random.PRNGKey(1 + r))
        runs.append(time.perf_counter() - started)
    best = min(runs)
    per_iteration = best / iterations / config.chains
    return {"n": n, "compile_s": compile_s, "first_s": first, "run_s": best,
            "ms_per_iteration": 1e3 * per_iteration, "us_per_tree": 1e6 * per_iteration / trees,
            "ns_per_tree_visitor": 1e9 * per_iteration / trees / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--mu-trees", type=int, default=200)
    parser.add_argument("--tau-trees", type=int, default=50)
    parser.add_argument("--arms", type=int, default=3)
    parser.add_argument("--covariates", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=50, help="per call (burn-in + draws)")
    parser.add_argument("--chains", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=2, help="timed calls after the compiling one; best kept")
    parser.add_argument("--pair-sums", choices=("auto", "complex", "float"), default="auto",
                        help="leaf statistics by one complex scatter or two float ones (auto: by backend)")
    args = parser.parse_args()
    pair_sums.FORCE = None if args.pair_sums == "auto" else args.pair_sums
    jax.monitoring.register_event_duration_secs_listener(_on_duration)
    half = args.iterations // 2
    config = BCFConfig(mu_trees=args.mu_trees, tau_trees=args.tau_trees, burn_in=args.iterations - half,
                       draws=half, chains=args.chains, chunk=min(25, half))
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; {args.mu_trees}+{args.tau_trees} trees, "
          f"K={args.arms}, p={args.covariates}, {args.iterations} iterations, {args.chains} chain(s), "
          f"pair sums by {'complex' if pair_sums.uses_complex_scatter() else 'float'} scatter")
    for n in args.n:
        row = profile(n, config, args.arms, args.covariates, args.repeats)
        print(f"n={row['n']:>6}: compile {row['compile_s']:5.1f} s (first call {row['first_s']:5.1f} s), "
              f"{row['ms_per_iteration']:7.1f} ms/iteration, {row['us_per_tree']:6.1f} us/tree, "
              f"{row['ns_per_tree_visitor']:5.2f} ns/tree-visitor", flush=True)


if __name__ == "__main__":
    main()
