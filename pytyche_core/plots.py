"""Figures a person would rather look at than read: the posterior lift, the segments, the loop's curves.

Each function returns a matplotlib ``Figure`` (headless; the Agg backend)
built from objects the library already returns; ``png_bytes`` renders one.
Nothing here computes a statistic that is not already on those objects,
except the per-draw average effect (a mean of the stored draws).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: pipelines and tests run headless
    import matplotlib.pyplot as plt

    return plt


def posterior_lift_figure(posterior):
    """Per treatment, the posterior of the average effect vs control (per-draw mean over visitors), 80% band."""
    plt = _pyplot()
    averages = posterior.cate_samples.mean(axis=0, dtype=np.float64)  # (S, K-1)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for j, name in enumerate(posterior.treatment_names):
        draws = averages[:, j]
        low, high = np.quantile(draws, [0.1, 0.9])
        ax.hist(draws, bins=40, alpha=0.45, color=f"C{j}", label=f"{name}: {draws.mean():+.3f} ({low:+.3f}, {high:+.3f})")
        ax.axvspan(low, high, color=f"C{j}", alpha=0.08)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel="average effect vs control (metric units per visitor)", ylabel="posterior draws",
           title="Posterior of the average lift (80% intervals shaded)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def segments_figure(plan):
    """Each segment's GATE with its 80% interval, labelled with its rule, share and routed arm."""
    plt = _pyplot()
    segments = list(plan.tree.segments)
    routes = {r.segment_id: r for r in plan.routing.routes} if plan.routing is not None else {}
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.55 * len(segments)))
    for row, s in enumerate(segments):
        ax.errorbar(s.gate_estimate, row, xerr=[[s.gate_estimate - s.gate_ci[0]], [s.gate_ci[1] - s.gate_estimate]],
                    fmt="o", color="C0", capsize=3)
    labels = []
    for s in segments:
        route = routes.get(s.id)
        where = f" -> {route.arm} ({route.source})" if route else ""
        labels.append(f"{s.rule.description or 'everyone'} [{s.population_share:.0%}]{where}")
    ax.set_yticks(range(len(segments)), labels, fontsize=7)
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel="segment effect of its best challenger (80% interval)", title="Segments and their routes")
    fig.tight_layout()
    return fig


def loop_curves_figure(scores: Sequence):
    """Share of the oracle gap captured and cumulative targeting regret, per round (``RoundScore``s)."""
    plt = _pyplot()
    rounds = [s.round_index for s in scores]
    fig, (gap_ax, regret_ax) = plt.subplots(1, 2, figsize=(8, 3))
    gap_ax.plot(rounds, [s.oracle_gap_captured for s in scores], marker="o")
    gap_ax.axhline(0.0, color="black", linewidth=0.5)
    gap_ax.set(xlabel="round", ylabel="oracle gap captured", title="Round policy vs the truth")
    regret_ax.plot(rounds, [s.cumulative_regret for s in scores], marker="o", color="C3")
    regret_ax.set(xlabel="round", ylabel="cumulative regret (per visitor)", title="Cumulative regret")
    for ax in (gap_ax, regret_ax):
        ax.set_xticks(rounds)
    fig.tight_layout()
    return fig


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes (and closes it)."""
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


__all__ = ["loop_curves_figure", "png_bytes", "posterior_lift_figure", "segments_figure"]
