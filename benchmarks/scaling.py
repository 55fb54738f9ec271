"""Scaling: fit wall time and peak host / device memory as n grows, ours beside stochtree, same run.

For each K and n: our default fit and stochtree at its recommended setting
(``fit_speed.py``'s engines, each in its own process) on the same simulated
data, with their accuracy, then the time of each size relative to the first
size at or above 50k visitors (cost about linear in n is a ratio near n / 50k).
On a machine with a GPU, JAX runs our fit there and the device's peak memory
is reported; stochtree is CPU-only. At K = 4 and 5 the scenario's arms 3
and 4 repeat its two shapes (``scenario``'s docstring), which is what
scaling in the number of arms needs.

    .venv-bench/bin/python benchmarks/scaling.py --n 10000 50000 150000 350000 --k 2 3 5
    .venv-bench/bin/python benchmarks/scaling.py --engines pytyche          # ours alone (e.g. on the GPU)
"""

from __future__ import annotations

import argparse

from fit_speed import run_engine
from isolation import in_own_process
from rows import machine

COLUMNS = (("seconds", "wall s", "8.1f"), ("peak_mb", "host MiB", "8.0f"), ("device_peak_mb", "dev MiB", "8.0f"),
           ("rmse", "RMSE", "7.3f"), ("gate_rmse", "GATE", "7.3f"), ("cover80", "cover80", "7.2f"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, nargs="+", default=[10_000, 50_000, 150_000, 350_000])
    parser.add_argument("--k", type=int, nargs="+", default=[2, 3], choices=(2, 3, 4, 5))
    parser.add_argument("--scenario", default="clustered")
    parser.add_argument("--profile", default="realistic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", nargs="+", default=["pytyche", "stochtree"], choices=("pytyche", "stochtree"))
    opts = parser.parse_args()
    import jax

    print(f"machine: {machine()}; "
          f"jax {jax.__version__} on {jax.devices()[0].platform}; scenario {opts.scenario} ({opts.profile}), "
          f"seed {opts.seed}; pytyche default BCFConfig, stochtree recommended")
    print(f"{'K':>2} {'n':>8} {'engine':>9} {'s/1k':>6} " + " ".join(f"{title:>{fmt.split('.')[0]}}"
                                                                for _, title, fmt in COLUMNS) + "  time / time at 50k")
    for k in opts.k:
        reference: dict[str, tuple[int, float]] = {}
        for n in opts.n:
            for engine in opts.engines:
                args = {"n": n, "k": k, "scenario": opts.scenario, "profile": opts.profile, "seed": opts.seed,
                        "engine": engine, "stochtree": "recommended", "overrides": {}}
                r = in_own_process(run_engine, args)
                if n >= 50_000 and engine not in reference:
                    reference[engine] = (n, r["seconds"])
                base_n, base_s = reference.get(engine, (n, r["seconds"]))
                growth = f"{r['seconds'] / base_s:5.2f} (n x{n / base_n:.1f})" if n >= 50_000 else ""
                print(f"{k:>2} {n:>8} {engine:>9} {1000 * r['seconds'] / n:6.2f} "
                      + " ".join(format(r[key], fmt) for key, _, fmt in COLUMNS) + f"  {growth}", flush=True)


if __name__ == "__main__":
    main()
