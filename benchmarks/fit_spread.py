"""Fits of one data set with several fit seeds: accuracy per fit and the between-fit spread.

The spread (root mean over visitors of the variance of the posterior-mean effect across fits)
is the Monte Carlo error of one fit; a sampler that mixes better lowers it at equal sweeps.

    .venv/bin/python benchmarks/fit_spread.py sparse_benefit 2 stress 0.4 0,1,2,3

Arguments: scenario, K, profile, ``change_probability``, fit seeds (comma-separated), and an
optional JSON object of further ``BCFConfig`` overrides. Data: 50k visitors, data seed 0.
"""
import json
import sys
import time

import numpy as np

import pytyche_core as pt
from pytyche_core.benchmarking.peers import as_estimate
from pytyche_core.benchmarking.scores import score
from pytyche_core.simulate import scenario

name, k, profile, pc = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
seeds = [int(s) for s in sys.argv[5].split(",")]
extra = json.loads(sys.argv[6]) if len(sys.argv) > 6 else {}
observed, truth = pt.simulate(scenario(name, k=k, profile=profile).config(50000, seed=0))
means, rows = [], []
for s in seeds:
    t = time.perf_counter()
    eff = np.asarray(pt.fit(observed, config=pt.BCFConfig(change_probability=pc, **extra), seed=100 + s).rpv_cate_samples)
    sec = time.perf_counter() - t
    sc = score(as_estimate(eff), truth.contrasts(), observed)
    rows.append((sc["rmse"], sc["gate_rmse"], sc["cover80"], sec))
    means.append(eff.mean(axis=1))
m = np.stack(means)
spread = float(np.sqrt(m.var(axis=0, ddof=1).mean()))
r = np.array(rows)
print(json.dumps({"scenario": name, "k": k, "profile": profile, "pc": pc, "extra": extra, "rmse": r[:,0].round(4).tolist(),
                  "gate": r[:,1].round(4).tolist(), "cover": r[:,2].round(3).tolist(), "mean_rmse": round(r[:,0].mean(),4),
                  "mean_gate": round(r[:,1].mean(),4), "mc_spread": round(spread,4), "sec": round(r[:,3].mean(),1)}), flush=True)
