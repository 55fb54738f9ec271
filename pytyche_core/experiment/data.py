"""The data a sequential experiment fits: rounds stacked, empty arms found and, if asked, set aside.

The fit is cumulative (every round so far), so rounds are concatenated arm
by arm. An arm with no visitors, or (revenue) no converter with revenue, has
nothing to estimate from: ``unusable_arms`` names them, and ``without_arms``
removes them with their assignment probabilities renormalised over the
arms that remain (the probability of each remaining arm given that the
visitor was not sent to a removed one).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from ..contracts import MetricFamily, ObservedExperimentData, VariantData, propensity_columns
from ..contracts.data import frame_propensities


def concat_rounds(rounds: Sequence[ObservedExperimentData]) -> ObservedExperimentData:
    """One experiment's rounds as one ``ObservedExperimentData`` (arms, metric and id must agree)."""
    if not rounds:
        raise ValueError("concat_rounds: no rounds. Fix: pass at least one round's data.")
    first = rounds[0]
    for r in rounds[1:]:
        if r.arm_names != first.arm_names or r.metric != first.metric or r.experiment_id != first.experiment_id:
            raise ValueError(f"concat_rounds: round data for {r.experiment_id!r} {list(r.arm_names)} ({r.metric}) "
                             f"does not match {first.experiment_id!r} {list(first.arm_names)} ({first.metric}). "
                             "Fix: stack rounds of one experiment with the same arms and metric.")
    if len(rounds) == 1:
        return first
    variants = [VariantData.from_visitors(name, pd.concat([r.variants[k].visitors for r in rounds],
                                                          ignore_index=True))
                for k, name in enumerate(first.arm_names)]
    return ObservedExperimentData(first.experiment_id, first.metric, variants)


def unusable_arms(observed: ObservedExperimentData) -> list[str]:
    """Arms a fit cannot estimate: no visitors, or (revenue metrics) no converter with revenue > 0."""
    out = []
    for v in observed.variants:
        frame = v.visitors
        if len(frame) == 0 or observed.metric_family is MetricFamily.HURDLE_REAL and not (
                frame["converted"].to_numpy(dtype=bool) & (frame["revenue"].to_numpy(dtype=float) > 0)).any():
            out.append(v.name)
    return out


def without_arms(observed: ObservedExperimentData, arms: Sequence[str]) -> ObservedExperimentData:
    """``observed`` without the treatments ``arms``; propensities renormalised over the remaining arms."""
    arms = list(dict.fromkeys(arms))
    if not arms:
        return observed
    if observed.control_name in arms:
        raise ValueError(f"without_arms: cannot remove the control arm {observed.control_name!r}. Fix: an "
                         "experiment without its control has no baseline; collect control visitors.")
    unknown = [a for a in arms if a not in observed.arm_names]
    if unknown:
        raise ValueError(f"without_arms: {unknown} are not arms of {list(observed.arm_names)}.")
    keep = [k for k, name in enumerate(observed.arm_names) if name not in arms]
    if len(keep) < 2:
        raise ValueError("without_arms: fewer than two arms would remain. Fix: keep control and one treatment.")
    old_columns = set(propensity_columns(observed.n_arms)) | {"propensity_0"}
    new_columns = propensity_columns(len(keep))
    variants = []
    for k in keep:
        v = observed.variants[k]
        frame = v.visitors
        probs = frame_propensities(frame, observed.n_arms)
        if probs is not None:
            sub = probs[:, keep]
            sub = sub / sub.sum(axis=1, keepdims=True)
            frame = frame.drop(columns=[c for c in frame.columns if c in old_columns])
            values = {new_columns[0]: sub[:, 1]} if len(keep) == 2 else \
                {col: sub[:, j] for j, col in enumerate(new_columns, start=1)}
            frame = frame.assign(**values)
        variants.append(VariantData.from_visitors(v.name, frame))
    return ObservedExperimentData(observed.experiment_id, observed.metric, variants)


__all__ = ["concat_rounds", "unusable_arms", "without_arms"]
