"""Two systems' accuracy rows side by side, paired on (scenario, seed): means per scenario and win counts.

Reads the JSON lines that ``accuracy.py`` prints (saved with ``> file.log``) and
compares system ``--ours`` in the first set of files with system ``--theirs`` in
the second, on the (scenario, seed) pairs both hold. A pair whose truth differs
(``true_het_sd``) was not the same data and is refused. The tables in
docs/benchmarks.md that compare settings or runs were printed this way::

    .venv-bench/bin/python benchmarks/compare.py a15.log --against a3.log --theirs pytyche
    .venv-bench/bin/python benchmarks/compare.py a15.log --against stochtree.log
"""

from __future__ import annotations

import argparse
import json

import pandas as pd

COLUMNS = ["rmse", "gate_rmse", "het_sd", "true_het_sd", "cover80", "width80", "gate_cover80", "ate_error", "seconds"]


def load(paths: list[str], system: str) -> pd.DataFrame:
    rows = []
    for path in paths:
        with open(path) as lines:
            rows += [json.loads(line) for line in lines if line.startswith("{")]
    frame = pd.DataFrame(rows)
    if frame.empty or system not in set(frame["system"]):
        raise SystemExit(f"no rows of system {system!r} in {paths}. Fix: name the system those files hold.")
    frame = frame[frame["system"] == system]
    return frame.drop_duplicates(["scenario", "seed"], keep="last").set_index(["scenario", "seed"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ours", nargs="+", help="accuracy.py output files of the first system")
    parser.add_argument("--against", nargs="+", required=True, help="output files of the second system")
    parser.add_argument("--ours-system", dest="ours_system", default="pytyche")
    parser.add_argument("--theirs", default="stochtree", help="the second system's name in its files")
    opts = parser.parse_args()
    ours, theirs = load(opts.ours, opts.ours_system), load(opts.against, opts.theirs)
    pairs = ours.index.intersection(theirs.index)
    if pairs.empty:
        raise SystemExit("the two sets share no (scenario, seed) pair. Fix: compare runs on the same scenarios and seeds.")
    ours, theirs = ours.loc[pairs], theirs.loc[pairs]
    different = (ours["true_het_sd"] - theirs["true_het_sd"]).abs() > 1e-3
    if different.any():
        raise SystemExit(f"{int(different.sum())} pair(s) differ in their truth, so not the same data: "
                         f"{list(ours.index[different])}. Fix: compare runs of one simulator version.")
    means = pd.concat({"ours": ours.groupby(level=0, sort=False)[COLUMNS].mean(),
                       "theirs": theirs.groupby(level=0, sort=False)[COLUMNS].mean()}, axis=1)
    print(f"{opts.ours_system} (ours) against {opts.theirs} (theirs): {len(pairs)} scenario-seed pairs")
    print(means.round(3).to_string())
    for column in ("rmse", "gate_rmse"):
        a, b = means[("ours", column)], means[("theirs", column)]
        change = ((a / b - 1) * 100).round(0).astype(int).to_dict()
        print(f"{column}: ours lower on {int((a < b).sum())} of {len(a)} scenarios, "
              f"{int((ours[column] < theirs[column]).sum())} of {len(pairs)} pairs; change % {change}")
    for name, frame in (("ours", ours), ("theirs", theirs)):
        per = frame.groupby(level=0)["cover80"].mean()
        print(f"cover80 {name}: {per.min():.2f}-{per.max():.2f} per scenario ({frame['cover80'].mean():.2f} overall); "
              f"group intervals {frame['gate_cover80'].mean():.2f}; ATE error {frame['ate_error'].mean():.3f}")


if __name__ == "__main__":
    main()
