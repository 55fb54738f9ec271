"""How well one fit mixes: R-hat and ESS of its sampled prior settings beside its effects.

Fits one catalog data set (fit seed = data seed) and prints its accuracy
against the truth (``pytyche_core.benchmarking.score``), then the
diagnostics summary (``result.diagnostics_summary``) of the noise variance,
each forest's leaf sd (and the treatment forest's alpha when sampled), the
average effects, and the worst and median of 50 visitors' effects. The leaf
sds are hyperparameters of a whole forest: they settle last, so they say
first when a chain is too short::

    .venv/bin/python benchmarks/mixing.py nonlinear --k 2 --profile stress
    .venv/bin/python benchmarks/mixing.py constant --k 2 --profile stress --set rescale_leaves=true
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from rows import add_data_set_arguments, parse_override

import pytyche_core as pt
from pytyche_core.benchmarking.peers import as_estimate
from pytyche_core.benchmarking.scores import score
from pytyche_core.simulate import scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_set_arguments(parser)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    config = pt.BCFConfig(**dict(parse_override(o) for o in args.overrides))
    observed, truth = pt.simulate(scenario(args.scenario, k=args.k, profile=args.profile).config(args.n, seed=args.seed))
    started = time.perf_counter()
    result = pt.fit(observed, config=config, seed=args.seed)
    print(f"# {args.scenario} K={args.k} {args.profile} n={args.n} seed {args.seed}, overrides {args.overrides}: "
          f"fit {time.perf_counter() - started:.1f} s")
    figures = score(as_estimate(result.rpv_cate_samples), truth.contrasts(), observed)
    print("  ".join(f"{name} {value:.3f}" for name, value in figures.items()))
    table = result.diagnostics_summary(n_visitors=50, seed=0)
    shown = table[table["variable"].str.contains("leaf_sd|alpha|average_effect|sigma2")]
    with pd.option_context("display.width", 160):
        print(shown[["mean", "sd", "r_hat", "ess_bulk", "ess_tail"]].round(3))
    visitors = table[table["variable"] == "visitor_effect"]
    print(f"50 visitors' effects: R-hat median {visitors.r_hat.median():.3f}, max {visitors.r_hat.max():.3f}; "
          f"bulk ESS median {visitors.ess_bulk.median():.0f}, min {visitors.ess_bulk.min():.0f} "
          f"of {config.chains * config.draws} draws")
    for channel, fits in result.channel_fits.items():
        sd = np.sqrt(fits.fits[0].priors.tau_leaf_var)  # [chains, draws, K-1]
        print(f"{channel}: treatment leaf sd per chain {[round(float(x), 4) for x in sd.mean(axis=(1, 2))]}; chain 0's "
              f"first and last 10 draws {sd[0, :10].mean():.4f}, {sd[0, -10:].mean():.4f}")


if __name__ == "__main__":
    main()
