"""External data: IHDP (response surface B, bundled with EconML) and the ACIC 2016 instances
bundled with causallib, our continuous BCF beside stochtree's BCF on the same data in the same run.

These are observational data sets with one binary treatment and a continuous
outcome, so they exercise the Gaussian path of the engine (``pt.fit(...,
model="continuous")``) rather than the hurdle. Both systems get the same
estimated propensity (a logistic regression on the covariates) as a
prognostic covariate, as BCF prescribes for confounded assignment. Per data
set and system, in-sample:

- ``sqrt_pehe``: root mean squared error of the per-unit effect;
- ``ate_error``: absolute error of the average effect;
- ``cover80`` / ``width80``: share of 80% per-unit intervals covering the true effect, mean width;
- ``seconds``: the fit and the effect draws.

Outcomes are shifted to be >= 0 before our fit (the visitor contract refuses negative revenue);
a shift leaves every effect unchanged. Needs the bench extra and causallib::

    .venv-bench/bin/python benchmarks/external.py --ihdp 0 1 2 3 4 5 6 7 8 9 --acic 1 2 3 4 5 6 7 8 9 10
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from isolation import in_own_process
from rows import machine, parse_override, print_means, print_row


def ihdp(replication: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, t, y, true effect) of IHDP response surface B, one replication per seed (Hill 2011)."""
    from econml.data.dgps import ihdp_surface_B

    y, t, x, effect = ihdp_surface_B(random_state=replication)
    return x[:, 1:], t.astype(int), y, effect  # EconML prepends a column of ones


def acic(instance: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x, t, y, true effect) of ACIC 2016 instance ``instance`` (1..10) as causallib bundles it."""
    from causallib.datasets import load_acic16

    data = load_acic16(instance=instance)
    x = data.X.to_numpy(dtype=float)
    effect = (data.po.iloc[:, 1] - data.po.iloc[:, 0]).to_numpy(dtype=float)
    return x, data.a.to_numpy(dtype=int), data.y.to_numpy(dtype=float), effect


def estimated_propensity(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    z = StandardScaler().fit_transform(x)
    p = LogisticRegression(max_iter=2000).fit(z, t).predict_proba(z)[:, 1]
    return np.clip(p, 0.01, 0.99)


def observed_data(x: np.ndarray, t: np.ndarray, y: np.ndarray, propensity: np.ndarray):
    """The data as an experiment: control then treated, the shifted outcome as ``revenue``."""
    import pandas as pd

    import pytyche_core as pt

    shifted = y - min(y.min(), 0.0)
    variants = []
    for arm, name in ((0, "control"), (1, "treated")):
        rows = np.flatnonzero(t == arm)
        frame = pd.DataFrame({f"x{j}": x[rows, j] for j in range(x.shape[1])})
        frame.insert(0, "visitor_id", [f"u{i}" for i in rows])
        frame.insert(1, "experiment_id", "external")
        frame.insert(2, "variant", name)
        frame.insert(3, "converted", shifted[rows] > 0)
        frame.insert(4, "revenue", shifted[rows].astype(float))
        frame.insert(5, "orders_count", frame["converted"].astype("int64"))
        frame.insert(6, "sessions_count", np.ones(len(rows), dtype="int64"))
        frame["propensity"] = propensity[rows]
        variants.append(pt.VariantData.from_visitors(name, frame))
    order = np.concatenate([np.flatnonzero(t == 0), np.flatnonzero(t == 1)])
    return pt.ObservedExperimentData("external", "revenue_per_visitor", tuple(variants)), order


def run(args: dict) -> dict:
    x, t, y, effect = ihdp(args["index"]) if args["data"] == "ihdp" else acic(args["index"])
    propensity = estimated_propensity(x, t)
    started = time.perf_counter()
    if args["system"] == "pytyche":
        import pytyche_core as pt

        observed, order = observed_data(x, t, y, propensity)
        result = pt.fit(observed, model="continuous", seed=args["index"], config=pt.BCFConfig(**args["overrides"]),
                        features=[f"x{j}" for j in range(x.shape[1])])
        draws = np.empty((len(y), result.n_draws))
        draws[order] = result.cate_samples[:, :, 0]
    else:
        from stochtree import BCFModel

        model = BCFModel()
        model.sample(x, t.astype(float), y, propensity_train=propensity, num_gfr=10, num_burnin=0, num_mcmc=100,
                     general_params={"random_seed": args["index"], "adaptive_coding": False})
        draws = model.tau_hat_train
    seconds = time.perf_counter() - started
    mean = draws.mean(axis=1)
    low, high = np.quantile(draws, [0.1, 0.9], axis=1)
    return {"seconds": seconds, "n": len(y), "sqrt_pehe": float(np.sqrt(np.mean((mean - effect) ** 2))),
            "ate_error": float(abs(mean.mean() - effect.mean())),
            "cover80": float(np.mean((low <= effect) & (effect <= high))), "width80": float(np.mean(high - low))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ihdp", type=int, nargs="*", default=list(range(10)), help="replications (seeds)")
    parser.add_argument("--acic", type=int, nargs="*", default=list(range(1, 11)), help="instances 1..10")
    parser.add_argument("--systems", nargs="+", default=["pytyche", "stochtree"], choices=("pytyche", "stochtree"))
    parser.add_argument("--set", dest="overrides", nargs="*", default=[], metavar="NAME=VALUE",
                        help="BCFConfig overrides for pytyche, e.g. burn_in=400")
    opts = parser.parse_args()
    overrides = dict(parse_override(o) for o in opts.overrides)
    print(f"# machine: {machine()}; "
          f"pytyche BCFConfig overrides {overrides}; stochtree 10 grow-from-root + 100 MCMC", flush=True)
    rows = []
    for data, indices in (("ihdp", opts.ihdp), ("acic2016", opts.acic)):
        for index in indices:
            for system in opts.systems:
                row = {"data": data, "index": index, "system": system,
                       **in_own_process(run, {"data": "ihdp" if data == "ihdp" else "acic", "index": index,
                                         "system": system, "overrides": overrides})}
                rows.append(row)
                print_row(row)
    print_means(rows, by=["data", "system"], drop="index")


if __name__ == "__main__":
    main()
