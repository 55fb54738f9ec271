"""Figures a person would rather look at than read: the posterior lift, its decomposition, the segments,
the loop's curves and the interval calibration.

Each function returns a matplotlib ``Figure`` (headless; the Agg backend)
built from objects the library already returns (results, comparisons,
plans, round scores, calibrations); none reads or writes files.
``png_bytes`` renders one. Nothing here computes a statistic that is not
already on those objects, except means and quantiles of stored draws.
The Dagster round loop and the HTML report (``pytyche_core.report``) draw
with these same functions.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

import numpy as np

#: The interval level every figure shades (the library's reporting level).
LEVEL = 0.8


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display: pipelines and tests run headless
    import matplotlib.pyplot as plt

    return plt


def _interval(draws: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    low, high = np.quantile(np.asarray(draws, dtype=np.float64), [0.5 - level / 2, 0.5 + level / 2])
    return float(low), float(high)


def _unit_label(comparisons: Sequence) -> str:
    return "percentage points" if comparisons and comparisons[0].lift_unit == "pct" else "dollars per visitor"


def _scaled(values, unit: str):
    """Conversion lifts are differences of proportions: show them in percentage points."""
    return np.asarray(values, dtype=np.float64) * (100.0 if unit == "pct" else 1.0)


# -- did it work, by how much ---------------------------------------------------------------------

def lift_figure(comparisons: Sequence, thresholds):
    """Posterior of each treatment's average lift vs control, with the decision rule's thresholds.

    ``comparisons``: ``ComparisonResult``s (``result.compare(treatment)``) of one
    fit; ``thresholds``: the ``DecisionThresholds`` they were computed with.
    Vertical lines: zero, +tolerance (a lift worth acting on: P(better) reads
    the mass right of it) and -tolerance (harm: P(harmful) reads the mass left
    of it). The legend carries P(lift > 0), P(better), P(harmful) and the
    expected loss of shipping, each as the comparison reports it.
    """
    if not comparisons:
        raise ValueError("lift_figure: no comparisons. Fix: pass result.compare(t) for each treatment t.")
    plt = _pyplot()
    unit = comparisons[0].lift_unit
    tolerance = float(_scaled(thresholds.expected_loss_tolerance, unit))
    fig, ax = plt.subplots(figsize=(7.5, 3.9 + 0.22 * len(comparisons)))
    for j, c in enumerate(comparisons):
        draws = _scaled(c.lift_samples, unit)
        low, high = _interval(draws, c.lift_ci_level)
        ax.hist(draws, bins=40, alpha=0.45, color=f"C{j}",
                label=(f"{c.comparison}: mean {draws.mean():+.3f}; P(>0) {c.probability_positive:.2f}, "
                       f"P(better) {c.probability_better:.2f}, P(harm) {c.probability_harmful:.2f}, "
                       f"E[loss if shipped] {float(_scaled(c.expected_loss_comparison, unit)):.4f}"))
        ax.axvspan(low, high, color=f"C{j}", alpha=0.08)
    ax.axvline(0.0, color="black", linewidth=0.9)
    ax.axvline(tolerance, color="C2", linestyle="--", linewidth=0.9, label=f"+tolerance {tolerance:.3f}: better")
    ax.axvline(-tolerance, color="C3", linestyle="--", linewidth=0.9, label=f"-tolerance {-tolerance:.3f}: harm")
    ax.set(xlabel=f"average lift vs control ({_unit_label(comparisons)})", ylabel="posterior draws",
           title=f"Posterior of the average lift ({LEVEL:.0%} intervals shaded)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    fig.tight_layout()
    return fig


def posterior_lift_figure(posterior, thresholds=None):
    """``lift_figure`` of every treatment of a fitted result vs control (default ``DecisionThresholds``)."""
    from .contracts import DecisionThresholds

    thresholds = DecisionThresholds() if thresholds is None else thresholds
    return lift_figure([posterior.compare(t, thresholds=thresholds) for t in posterior.treatment_names], thresholds)


def decomposition_figure(comparisons: Sequence):
    """Each treatment's lift split into its conversion part and its order-value part (hurdle fits).

    ``comparisons``: ``ComparisonResult``s vs control whose ``decomposition``
    is set (``result.compare(t)`` on a hurdle result). Per treatment: the
    total, the conversion part ((p_k - p_0) m_0) and the order-value part
    (p_k (m_k - m_0)), each as posterior mean with its 80% interval; the two
    parts add up to the total draw by draw.
    """
    parts = [c for c in comparisons if c.decomposition is not None]
    if not parts:
        raise ValueError("decomposition_figure: no comparison carries a decomposition. Fix: pass comparisons "
                         "vs control of a hurdle (revenue per visitor) fit.")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 1.8 + 0.9 * len(parts)))
    names = ("total", "conversion part", "order-value part")
    labels, row = [], 0
    for c in parts:
        series = (c.lift_samples, c.decomposition.frequency_lift_samples, c.decomposition.severity_lift_samples)
        for k, (name, draws) in enumerate(zip(names, series, strict=True)):
            mean = float(np.mean(draws))
            low, high = _interval(draws)
            ax.errorbar(mean, row, xerr=[[mean - low], [high - mean]], fmt="os^"[k], color=f"C{k}", capsize=3,
                        label=name if c is parts[0] else None)
            labels.append(f"{c.comparison}: {name}")
            row += 1
        row += 0.5  # a gap between treatments
    positions = [i + 0.5 * (i // 3) for i in range(len(labels))]
    ax.set_yticks(positions, labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel="lift vs control (dollars per visitor; 80% intervals)",
           title="More buyers (conversion) or bigger orders (order value)?")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, frameon=False)
    fig.tight_layout()
    return fig


# -- where does it differ --------------------------------------------------------------------------

def segments_figure(plan):
    """The plan's segments: each GATE with its 80% interval, and its allocation over the arms.

    ``plan``: a ``NextRoundPlan`` with a tree and routing (not the cold start).
    Left: the segment effect of its best challenger (filled marker: stable,
    bootstrap stability >= 0.80; hollow: not, or not measured), labelled with
    the rule, the share of visitors and the routed arm (and why). Right: the
    Thompson allocation each segment gets in the optimized cell.
    """
    if plan.tree is None or plan.routing is None:
        raise ValueError("segments_figure: the plan has no segments (a cold start). Fix: pass a plan made "
                         "after a fit (recommend(...)).")
    plt = _pyplot()
    segments = list(plan.tree.segments)
    routes = {r.segment_id: r for r in plan.routing.routes}
    arms = list(plan.routing.pooled_allocation)
    fig, (ax, alloc_ax) = plt.subplots(1, 2, figsize=(11, 1.9 + 0.6 * len(segments)),
                                       gridspec_kw={"width_ratios": [3, 1.3]}, sharey=True)
    for row, s in enumerate(segments):
        face = "C0" if s.is_stable else "white"
        ax.errorbar(s.gate_estimate, row, xerr=[[s.gate_estimate - s.gate_ci[0]], [s.gate_ci[1] - s.gate_estimate]],
                    fmt="o", color="C0", markerfacecolor=face, capsize=3)
        left = 0.0
        weights = routes[s.id].allocation if s.id in routes else plan.tree.allocation_map[s.id]
        for k, arm in enumerate(arms):
            width = float(weights.get(arm, 0.0))
            alloc_ax.barh(row, width, left=left, color=f"C{k}", label=arm if row == 0 else None)
            left += width
    labels = []
    for s in segments:
        route = routes.get(s.id)
        where = f" -> {route.arm} ({route.source})" if route else ""
        labels.append(f"{s.rule.description or 'everyone'} [{s.population_share:.0%}]{where}")
    ax.set_yticks(range(len(segments)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set(xlabel="segment effect of its best challenger (80% interval)",
           title="Segments (filled: stable) and routes")
    alloc_ax.set(xlim=(0, 1), xlabel="share of the segment's traffic", title="Thompson allocation")
    handles, names = alloc_ax.get_legend_handles_labels()
    fig.legend(handles, names, loc="lower right", ncol=len(arms), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


# -- the loop against the truth (simulation) ---------------------------------------------------------

def loop_curves_figure(scores: Sequence):
    """Share of the oracle gap captured and cumulative targeting regret, per round (``RoundScore``s)."""
    if not scores:
        raise ValueError("loop_curves_figure: no round scores. Fix: pass the RoundScore of each round.")
    plt = _pyplot()
    rounds = [s.round_index for s in scores]
    fig, (gap_ax, regret_ax) = plt.subplots(1, 2, figsize=(8, 3))
    gap_ax.plot(rounds, [s.oracle_gap_captured for s in scores], marker="o")
    gap_ax.axhline(0.0, color="black", linewidth=0.5)
    gap_ax.axhline(1.0, color="grey", linewidth=0.5, linestyle=":")
    gap_ax.set(xlabel="round", ylabel="oracle gap captured", title="Round policy vs the truth")
    regret_ax.plot(rounds, [s.cumulative_regret for s in scores], marker="o", color="C3", label="targeting")
    regret_ax.plot(rounds, [s.cumulative_deployed_regret for s in scores], marker="s", color="C1",
                   label="as deployed")
    regret_ax.set(xlabel="round", ylabel="cumulative regret (per visitor)", title="Cumulative regret")
    regret_ax.legend(fontsize=7)
    for ax in (gap_ax, regret_ax):
        ax.set_xticks(rounds)
    fig.tight_layout()
    return fig


# -- are the intervals honest ------------------------------------------------------------------------

def calibration_figure(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]], *,
                       target_level: float | None = LEVEL, title: str | None = None):
    """Nominal vs empirical coverage of central posterior intervals, one line per curve.

    ``curves``: ``{label: (levels, coverage)}``, both ``(L,)`` in [0, 1]
    (``posterior.calibration.coverage_curve``, or an ``IntervalCalibration``'s
    ``levels`` / ``coverage``). On the diagonal the intervals are honest;
    below it they are too narrow. ``target_level`` marks the level decisions
    are reported at.
    """
    if not curves:
        raise ValueError("calibration_figure: no curves. Fix: pass {label: (levels, coverage)}.")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(4.8, 4.2))
    ax.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle=":", label="honest (nominal = empirical)")
    for k, (label, (levels, coverage)) in enumerate(curves.items()):
        levels, coverage = np.asarray(levels, dtype=np.float64), np.asarray(coverage, dtype=np.float64)
        if levels.shape != coverage.shape or levels.ndim != 1:
            raise ValueError(f"calibration_figure: curve {label!r} has levels {levels.shape} and coverage "
                             f"{coverage.shape}. Fix: pass one coverage per level.")
        ax.plot(levels, coverage, marker=".", color=f"C{k}", label=label)
    if target_level is not None:
        ax.axvline(target_level, color="grey", linewidth=0.6, linestyle="--")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="nominal level of the interval", ylabel="empirical coverage",
           title=title or "Interval calibration")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def interval_calibration_figure(calibration):
    """``calibration_figure`` of a fitted ``IntervalCalibration``: its raw coverage curve and its target."""
    return calibration_figure({f"raw posterior ({calibration.target} effects)": (calibration.levels,
                                                                                  calibration.coverage)},
                              target_level=calibration.target_level)


def png_bytes(fig) -> bytes:
    """The figure as PNG bytes (and closes it)."""
    plt = _pyplot()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


__all__ = ["LEVEL", "calibration_figure", "decomposition_figure", "interval_calibration_figure", "lift_figure",
           "loop_curves_figure", "png_bytes", "posterior_lift_figure", "segments_figure"]
