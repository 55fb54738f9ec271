"""Plot the rounds printed by ``flywheel.py``: oracle gap captured, cumulative regret, GATE RMSE and
segment stability per round.

    .venv/bin/python benchmarks/plot_flywheel.py out.png run1.jsonl run2.jsonl ...

One line per (scenario, K, profile, seed, depth, control share); colour by
scenario, line style by the depth / control variant. Cumulative regret is
shown relative to the oracle's lift (regret summed over rounds / oracle
lift), so scenarios of different scale share an axis.
"""

from __future__ import annotations

import json
import math
import sys
from collections import defaultdict

STYLES = ("-", "--", ":", "-.")


def _value(row: dict, key: str) -> float:
    value = row.get(key)
    return float("nan") if value is None else float(value)


def main(out: str, paths: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs: dict[tuple, list[dict]] = defaultdict(list)
    for path in paths:
        with open(path) as handle:
            for line in handle:
                row = json.loads(line)
                if "round" in row:
                    variant = f"depth {row.get('depth', 2)}, control {row.get('control', 'fixed')}"
                    runs[(row["scenario"], row["k"], row["profile"], row["seed"], variant)].append(row)
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    gap_ax, regret_ax, gate_ax, stable_ax = axes.ravel()
    colours: dict[str, str] = {}
    styles: dict[str, str] = {}
    for key, rows in sorted(runs.items()):
        scenario = f"{key[0]} K={key[1]} {key[2]}"
        colour = colours.setdefault(scenario, f"C{len(colours)}")
        style = styles.setdefault(key[4], STYLES[len(styles) % len(STYLES)])
        rounds = [r["round"] for r in rows]
        series = {
            gap_ax: [_value(r, "oracle_gap_captured") for r in rows],
            regret_ax: [_value(r, "cumulative_regret") / r["oracle_lift"] if r.get("oracle_lift") else math.nan
                        for r in rows],
            gate_ax: [_value(r, "gate_rmse") for r in rows],
            stable_ax: [_value(r, "segment_stability") for r in rows],
        }
        for ax, values in series.items():
            ax.plot(rounds, values, marker="o", color=colour, linestyle=style, alpha=0.8)
    gap_ax.axhline(0.0, color="black", linewidth=0.5)
    stable_ax.axhline(0.8, color="grey", linestyle=":", linewidth=1)
    gap_ax.set(xlabel="round", ylabel="share of the oracle gap captured", title="Round policy vs the truth")
    regret_ax.set(xlabel="round", ylabel="cumulative regret / oracle lift", title="Cumulative targeting regret")
    gate_ax.set(xlabel="round", ylabel="GATE RMSE", title="Error of the segments' effects")
    stable_ax.set(xlabel="round", ylabel="traffic-weighted stability", title="Segment stability (0.8: act)")
    handles = [plt.Line2D([], [], color=c, label=s) for s, c in colours.items()]
    handles += [plt.Line2D([], [], color="black", linestyle=st, label=v) for v, st in styles.items()]
    gap_ax.legend(handles=handles, fontsize=8)
    ticks = sorted({x["round"] for rows in runs.values() for x in rows})
    for ax in axes.ravel():
        ax.set_xticks(ticks)
    fig.tight_layout()
    fig.savefig(out, dpi=100)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
