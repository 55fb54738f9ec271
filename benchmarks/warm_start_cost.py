"""What one grow-from-root sweep costs, in seconds and in MCMC iterations, on one catalog data set.

Three short fits of the same data, each timed as the second of two fits in one
process (so compiling and tracing are out of the figure): a base fit, the same
with ``--extra`` more burn-in iterations, and the same with ``--warm`` grow-from-root
sweeps first. The differences give the cost of one MCMC iteration and of one
grow-from-root sweep (both channels, every chain), and their ratio says how many
burn-in iterations a warm-start sweep must save to pay for itself::

    .venv-bench/bin/python benchmarks/warm_start_cost.py --n 50000 --k 3
"""

from __future__ import annotations

import argparse
import time

from rows import machine


def second_fit_seconds(observed, config) -> float:
    import pytyche_core as pt

    pt.fit(observed, config=config, seed=0)  # compiles and traces this shape
    started = time.perf_counter()
    pt.fit(observed, config=config, seed=1)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--scenario", default="clustered")
    parser.add_argument("--profile", default="realistic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base", type=int, default=25, help="burn-in and kept draws of the base fit")
    parser.add_argument("--extra", type=int, default=50, help="extra burn-in iterations of the second fit")
    parser.add_argument("--warm", type=int, default=5, help="grow-from-root sweeps of the third fit")
    args = parser.parse_args()

    import jax

    import pytyche_core as pt
    from pytyche_core.simulate import scenario

    observed, _ = pt.simulate(scenario(args.scenario, k=args.k, profile=args.profile).config(args.n, seed=args.seed))
    base = pt.BCFConfig(burn_in=args.base, draws=args.base)
    print(f"# machine: {machine()}; "
          f"jax {jax.__version__} on {jax.default_backend()}; {args.scenario} ({args.profile}), K={args.k}, "
          f"n={args.n}, seed {args.seed}; {base.chains} chains", flush=True)
    seconds = {}
    for label, config in (("base", base),
                          (f"+{args.extra} burn-in", pt.BCFConfig(burn_in=args.base + args.extra, draws=args.base)),
                          (f"+{args.warm} warm-start", pt.BCFConfig(burn_in=args.base, draws=args.base,
                                                                    warm_start=args.warm))):
        seconds[label] = second_fit_seconds(observed, config)
        print(f"{label:>16}: {seconds[label]:7.1f} s", flush=True)
    values = list(seconds.values())
    per_iteration = (values[1] - values[0]) / args.extra
    per_sweep = (values[2] - values[0]) / args.warm
    if per_iteration <= 0:
        raise SystemExit(f"+{args.extra} burn-in iterations did not take measurably longer than the base fit "
                         "(timing noise). Fix: pass a larger --extra or --n.")
    print(f"one MCMC iteration: {per_iteration:.3f} s; one grow-from-root sweep: {per_sweep:.2f} s "
          f"= {per_sweep / per_iteration:.0f} MCMC iterations")


if __name__ == "__main__":
    main()
