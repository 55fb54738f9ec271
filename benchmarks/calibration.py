"""Interval calibration on the catalog: fitted on some seeds, checked on others.

For one K and profile, every catalog scenario is simulated and fitted at the
training seeds; ``fit_interval_calibration`` (docs/concepts/calibration.md)
is fitted on their per-visitor draws against the truth, once on all
scenarios ("pooled") and once per scenario on the other scenarios only
("held out": the scenario it is applied to was never seen, as with real
data). Every scenario is then fitted at the test seeds and scored raw and
with each correction: per-visitor and quartile-group 80% coverage and
width, RMSE and GATE RMSE (``pytyche_core.benchmarking.score``, as
``accuracy.py``). One JSON line per (scenario, seed, correction), then a
table of means per scenario. The raw rows equal ``accuracy.py``'s for the
same data, seeds and settings (fit seed = data seed). Training draws keep a
random subset of visitors per replicate (``--keep``), which is all a
coverage curve needs::

    .venv/bin/python benchmarks/calibration.py --k 3 --profile realistic --n 50000
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import pandas as pd
from rows import parse_override

import pytyche_core as pt
from pytyche_core.benchmarking.peers import as_estimate
from pytyche_core.benchmarking.scores import score
from pytyche_core.posterior.calibration import calibrate_draws, fit_interval_calibration
from pytyche_core.simulate import scenario

CATALOG = ["constant", "reversal", "sparse_benefit", "monotone_gradient", "nonlinear", "interaction_only",
           "partial_null", "high_noise", "clustered"]
#: (name, which artifact, method): the corrections every test fit is scored with.
CORRECTIONS = [("pooled remap", "pooled", "remap"), ("pooled scale", "pooled", "scale"),
               ("held-out remap", "held_out", "remap"), ("held-out scale", "held_out", "scale")]


def _fit(name: str, args, seed: int):
    observed, truth = pt.simulate(scenario(name, k=args.k, profile=args.profile).config(args.n, seed=seed))
    return observed, truth.contrasts(), pt.fit(observed, config=args.config, seed=seed).rpv_cate_samples


def training_draws(args) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """Per scenario, (draws (m, S), truth (m,)) of each training fit's contrasts on ``--keep`` visitors."""
    out: dict[str, list] = {name: [] for name in args.scenarios}
    for name in args.scenarios:
        for seed in args.train_seeds:
            _, truth, effects = _fit(name, args, seed)
            rows = np.random.default_rng(seed).choice(len(truth), size=min(args.keep, len(truth)), replace=False)
            for j in range(truth.shape[1]):  # each treatment's contrast is a replicate of its own
                out[name].append((np.asarray(effects[rows, :, j], np.float64), truth[rows, j]))
            print(f"# trained on {name} seed {seed}", flush=True)
    return out


def artifacts(args, training):
    def fitted(names):
        pairs = [pair for name in names for pair in training[name]]
        return fit_interval_calibration([d for d, _ in pairs], [t for _, t in pairs], target_level=0.8,
                                        scenarios=tuple(names), seeds=tuple(args.train_seeds), n_visitors=args.n,
                                        config=args.config)

    pooled = fitted(args.scenarios)
    held_out = {name: fitted([o for o in args.scenarios if o != name]) for name in args.scenarios}
    print(f"# pooled: remap R(0.8) = {np.interp(0.8, pooled.levels, pooled.remap):.3f}, scale {pooled.scale:.3f}, "
          f"in-sample raw coverage at 0.8 {np.interp(0.8, pooled.levels, pooled.coverage):.3f}", flush=True)
    return pooled, held_out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", nargs="+", default=CATALOG)
    parser.add_argument("--k", type=int, default=2)
    parser.add_argument("--profile", default="realistic")
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[3, 4])
    parser.add_argument("--test-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--keep", type=int, default=5_000, help="visitors kept per training fit")
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="NAME=VALUE",
                        help="BCFConfig overrides, e.g. --set tau_alpha_concentration=4")
    args = parser.parse_args()
    if set(args.train_seeds) & set(args.test_seeds):
        parser.error("--train-seeds and --test-seeds overlap: a correction must be checked on seeds it was not "
                     "fitted on. Fix: pass disjoint seed lists.")
    args.config = pt.BCFConfig(**dict(parse_override(o) for o in args.overrides))
    print(f"# machine: {platform.machine()}, K={args.k} {args.profile} n={args.n}; train seeds {args.train_seeds}, "
          f"test seeds {args.test_seeds}; overrides {args.overrides}", flush=True)
    started = time.perf_counter()
    pooled, held_out = artifacts(args, training_draws(args))
    rows = []
    for name in args.scenarios:
        for seed in args.test_seeds:
            observed, truth, effects = _fit(name, args, seed)
            scored = {"raw": score(as_estimate(effects), truth, observed)}
            for label, which, method in CORRECTIONS:
                calibration = pooled if which == "pooled" else held_out[name]
                scored[label] = score(as_estimate(calibrate_draws(effects, calibration, method)), truth, observed)
            for label, figures in scored.items():
                row = {"scenario": name, "seed": seed, "correction": label,
                       **{k: round(v, 4) for k, v in figures.items()}}
                rows.append(row)
                print(json.dumps(row), flush=True)
    table = pd.DataFrame(rows)
    columns = ["cover80", "width80", "gate_cover80", "rmse", "gate_rmse"]
    means = table.groupby(["scenario", "correction"], sort=False)[columns].mean()
    with pd.option_context("display.width", 200, "display.max_rows", 500):
        print(means.round(3))
        print(table.groupby("correction", sort=False)[columns].mean().round(3))
    print(f"# {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
