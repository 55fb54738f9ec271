"""Peak host (and, on a GPU, device) memory of one default hurdle fit at scale.

Simulates a K-arm revenue experiment of n visitors, fits it with the
default ``BCFConfig`` (2 chains x 100 kept draws = S = 200) and
materialises every visitor's effect draws, then prints the peak resident
memory of the process, the size of the draws themselves, and the JAX
device's peak bytes in use where the backend reports them. Run:

    .venv/bin/python benchmarks/memory_at_scale.py --n 350000 --k 3
"""

from __future__ import annotations

import argparse
import platform
import resource
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=350_000)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--scenario", default="clustered")
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()

    import jax

    import pytyche_core as pt
    from pytyche_core.simulate import scenario

    observed, _ = pt.simulate(scenario(opts.scenario, k=opts.k).config(opts.n, seed=opts.seed))
    after_data = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    config = pt.BCFConfig()
    started = time.perf_counter()
    result = pt.fit(observed, config=config, seed=opts.seed, progress=True)
    draws = result.rpv_cate_samples
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    device = jax.devices()[0]
    stats = device.memory_stats() or {}
    print(f"machine: {platform.processor() or platform.machine()}; jax {jax.__version__} on {device.platform}")
    print(f"n={opts.n} K={opts.k} S={result.n_draws} ({opts.scenario}): fit + draws {seconds:.1f} s "
          f"(channels: {', '.join(f'{k} {v:.1f} s' for k, v in result.info.seconds.items())})")
    print(f"effect draws (n, S, K-1) float32: {draws.nbytes / 2**20:.0f} MiB; with the decomposition parts "
          f"{3 * draws.nbytes / 2**20:.0f} MiB")
    print(f"peak host RSS: {peak:.0f} MiB (after simulating the data: {after_data:.0f} MiB)")
    if "peak_bytes_in_use" in stats:
        print(f"peak device memory: {stats['peak_bytes_in_use'] / 2**20:.0f} MiB")
    else:
        print("peak device memory: not reported by this backend (CPU: device memory is host memory)")


if __name__ == "__main__":
    main()
