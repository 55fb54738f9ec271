"""Fits of one data set with several fit seeds: accuracy per fit and the between-fit spread.

The spread (root mean over visitors of the variance of the posterior-mean effect across fits)
is the Monte Carlo error of one fit; a sampler that mixes better lowers it at equal sweeps.
Data: 50k visitors (``--n``), data seed 0; fit seeds 100 + each ``--seeds`` value.

    .venv/bin/python benchmarks/fit_spread.py sparse_benefit --k 2 --profile stress --seeds 0 1 2 3 --set change_probability=0.4
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from rows import add_data_set_arguments, parse_override

import pytyche_core as pt
from pytyche_core.benchmarking.peers import as_estimate
from pytyche_core.benchmarking.scores import score
from pytyche_core.simulate import scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_set_arguments(parser)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    opts = parser.parse_args()
    overrides = dict(parse_override(o) for o in opts.overrides)
    observed, truth = pt.simulate(scenario(opts.scenario, k=opts.k, profile=opts.profile).config(opts.n, seed=0))
    means, rows = [], []
    for seed in opts.seeds:
        started = time.perf_counter()
        effects = np.asarray(pt.fit(observed, config=pt.BCFConfig(**overrides), seed=100 + seed).rpv_cate_samples)
        seconds = time.perf_counter() - started
        scores = score(as_estimate(effects), truth.contrasts(), observed)
        rows.append((scores["rmse"], scores["gate_rmse"], scores["cover80"], seconds))
        means.append(effects.mean(axis=1))  # [n, K-1]: this fit's posterior mean
    spread = float(np.sqrt(np.stack(means).var(axis=0, ddof=1).mean()))
    r = np.array(rows)
    print(json.dumps({"scenario": opts.scenario, "k": opts.k, "profile": opts.profile, "overrides": overrides,
                      "rmse": r[:, 0].round(4).tolist(), "gate": r[:, 1].round(4).tolist(),
                      "cover": r[:, 2].round(3).tolist(), "mean_rmse": round(r[:, 0].mean(), 4),
                      "mean_gate": round(r[:, 1].mean(), 4), "mc_spread": round(spread, 4),
                      "sec": round(r[:, 3].mean(), 1)}), flush=True)


if __name__ == "__main__":
    main()
