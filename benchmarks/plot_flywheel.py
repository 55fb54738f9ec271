"""Plot the rounds printed by ``flywheel.py``: oracle gap captured and cumulative regret per round.

    .venv/bin/python benchmarks/plot_flywheel.py out.png run1.jsonl run2.jsonl ...

One line per (scenario, K, profile, seed); cumulative regret is shown
relative to the oracle's lift (regret summed over rounds / oracle lift), so
scenarios of different scale share an axis.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


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
                    runs[(row["scenario"], row["k"], row["profile"], row["seed"])].append(row)
    fig, (gap_ax, regret_ax) = plt.subplots(1, 2, figsize=(11, 4))
    colours = {}
    for key, rows in sorted(runs.items()):
        label = f"{key[0]} K={key[1]} {key[2]}"
        colour = colours.setdefault(label, f"C{len(colours)}")
        rounds = [r["round"] for r in rows]
        gap = [r["oracle_gap_captured"] if r["oracle_gap_captured"] is not None else float("nan") for r in rows]
        regret = [r["cumulative_regret"] / r["oracle_lift"] for r in rows]
        shown = label if label not in {h.get_label() for h in gap_ax.get_lines()} else None
        gap_ax.plot(rounds, gap, marker="o", color=colour, alpha=0.8, label=shown)
        regret_ax.plot(rounds, regret, marker="o", color=colour, alpha=0.8)
    gap_ax.axhline(0.75, color="grey", linestyle=":", linewidth=1)
    gap_ax.axhline(0.0, color="black", linewidth=0.5)
    gap_ax.set(xlabel="round", ylabel="share of the oracle gap captured", title="Round policy vs the truth")
    regret_ax.set(xlabel="round", ylabel="cumulative regret / oracle lift", title="Cumulative targeting regret")
    gap_ax.legend(fontsize=8)
    for ax in (gap_ax, regret_ax):
        ax.set_xticks(sorted({r for rows in runs.values() for r in (x["round"] for x in rows)}))
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2:])
