"""Assemble a simulation's observed data and its truth into a ``CalibrationBundle``.

The truth must be aligned with the concatenated observed rows (control
first, then each treatment). Potential outcomes come in generation order;
``build_bundle`` reorders them with the ``order`` that ``assign_and_observe``
returned. A length check alone could not catch a misalignment, so the
permutation itself is checked, and the tests recompute each row's effect
from that row's own features.
"""

from __future__ import annotations

import numpy as np

from ..contracts import (
    AlignedVisitorArray,
    AlignmentViolation,
    CalibrationBundle,
    CalibrationTruth,
    ObservedExperimentData,
    VariantData,
    metric_family,
)
from ..validation import validate_alignment, validate_observed_data
from .outcomes import PotentialOutcomes


def _aligned(values: np.ndarray) -> AlignedVisitorArray:
    return AlignedVisitorArray(values=np.ascontiguousarray(values), n_visitors=len(values))


def _mean(values: np.ndarray) -> np.ndarray:
    """Column means; zeros for no visitors (an empty experiment has no effect, not NaN)."""
    return values.mean(axis=0) if len(values) else np.zeros(values.shape[1:])


def build_truth(outcomes: PotentialOutcomes) -> CalibrationTruth:
    """The ``CalibrationTruth`` of ``outcomes``, whose rows must already be in observed order.

    K = 2: per-visitor ``cate`` and p0/p1 (hurdle: conv/aov parts and m0/m1,
    m being the effective order value). K >= 3: contrasts, p and (hurdle) m
    lists. ``effect`` is the mean contrast at K = 2, the largest arm's mean
    contrast at K >= 3.
    """
    if not isinstance(outcomes, PotentialOutcomes):
        raise TypeError(f"build_truth: expected PotentialOutcomes, got {type(outcomes).__name__}.")
    contrasts = outcomes.contrasts()
    means = _mean(contrasts)
    p, m = outcomes.conversion, outcomes.order_value
    common = {
        "metric_id": outcomes.metric_id,
        "metric_family": metric_family(outcomes.metric_id),
        "latent_cluster_per_visitor": (None if outcomes.latent_cluster is None
                                       else _aligned(outcomes.latent_cluster)),
    }
    if outcomes.n_arms >= 3:
        return CalibrationTruth(
            effect=float(means.max()),
            effect_components={f"treatment_{j}_effect": float(means[j - 1]) for j in range(1, outcomes.n_arms)},
            cate_per_visitor=None,
            contrast_cate_per_visitor=[_aligned(contrasts[:, j]) for j in range(outcomes.n_arms - 1)],
            p_per_visitor=[_aligned(p[:, k]) for k in range(outcomes.n_arms)],
            m_per_visitor=None if m is None else [_aligned(m[:, k]) for k in range(outcomes.n_arms)],
            **common,
        )
    effect = float(means[0])
    if m is None:
        return CalibrationTruth(effect=effect, effect_components={"conv_effect": effect},
                                cate_per_visitor=_aligned(contrasts[:, 0]),
                                p0_per_visitor=_aligned(p[:, 0]), p1_per_visitor=_aligned(p[:, 1]), **common)
    conv, aov = (part[:, 0] for part in outcomes.decomposition())
    return CalibrationTruth(
        effect=effect,
        effect_components={"conv_effect": float(_mean(conv)), "aov_effect": float(_mean(aov))},
        cate_per_visitor=_aligned(contrasts[:, 0]),
        conv_cate_per_visitor=_aligned(conv),
        aov_cate_per_visitor=_aligned(aov),
        p0_per_visitor=_aligned(p[:, 0]),
        p1_per_visitor=_aligned(p[:, 1]),
        m0_per_visitor=_aligned(m[:, 0]),
        m1_per_visitor=_aligned(m[:, 1]),
        **common,
    )


def _check_order(order: np.ndarray, n: int, variants: list[VariantData]) -> np.ndarray:
    order = np.asarray(order)
    observed = sum(v.n_visitors for v in variants)
    if order.ndim != 1 or (order.size and order.dtype.kind not in "iu"):
        raise AlignmentViolation(f"build_bundle: order must be 1-D integer positions, got shape {order.shape}, "
                                 f"dtype {order.dtype}. Fix: pass the order assign_and_observe returned.")
    if len(order) != observed or n != observed:
        raise AlignmentViolation(f"build_bundle: {len(order)} order entries, {n} potential-outcome rows, "
                                 f"{observed} observed visitors. Fix: observe every simulated visitor once.")
    if not np.array_equal(np.sort(order), np.arange(n)):
        raise AlignmentViolation("build_bundle: order is not a permutation of the generation indices. "
                                 "Fix: pass the order assign_and_observe returned, unmodified.")
    return order.astype(np.int64)


def build_bundle(variants: list[VariantData], outcomes: PotentialOutcomes, order: np.ndarray, *,
                 experiment_id: str) -> CalibrationBundle:
    """Observed data plus truth, the truth reordered to the observed rows.

    ``outcomes`` are in generation order; ``order`` ``(n,)`` gives the
    generation index of each concatenated observed row. The observed data
    is validated strictly (for a revenue metric, every conversion carries
    revenue); the truth is checked to cover exactly the observed rows.
    """
    aligned = outcomes.take(_check_order(order, outcomes.n_visitors, variants))
    observed = ObservedExperimentData(experiment_id=experiment_id, metric=outcomes.metric_id,
                                      variants=list(variants))
    validate_observed_data(observed, strict=True)
    truth = build_truth(aligned)
    first = truth.cate_per_visitor if truth.cate_per_visitor is not None else truth.contrast_cate_per_visitor[0]
    validate_alignment(first, observed)
    return CalibrationBundle(observed=observed, truth=truth)


__all__ = ["build_bundle", "build_truth"]
