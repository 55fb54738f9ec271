"""Ground truth in long form: one row per visitor per arm, for K = 2 and K >= 3 alike.

Row (visitor i, arm k) holds p_k (conversion probability), m_k (expected
order value given conversion; NULL for a binary metric), the contrast
vs control and its conversion / order-value parts (NULL for arm 0 and for
parts of a binary metric), and the visitor's latent cluster (NULL if none).
``truth_from_arrays`` rebuilds a ``CalibrationTruth`` from the wide arrays.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from ..contracts.data import AlignedVisitorArray
from ..contracts.errors import ContractViolation
from ..contracts.schema import MetricFamily, metric_family
from ..contracts.truth import CalibrationTruth
from .schema import ARM_INDEX, ROW_INDEX

#: Per-arm truth columns of ``truth_visitors``, each (n, K) when read back wide.
ARM_VALUES = ("p", "m", "contrast", "conversion_part", "order_value_part")


def _parts(truth: CalibrationTruth) -> tuple[np.ndarray, np.ndarray] | None:
    """(conversion part, order-value part), each (n, K-1); the truth's own arrays at K=2."""
    if truth.cate_per_visitor is not None and truth.conv_cate_per_visitor is not None:
        return truth.conv_cate_per_visitor.values[:, None], truth.aov_cate_per_visitor.values[:, None]
    return truth.decomposition()


def latent_clusters(truth: CalibrationTruth) -> np.ndarray | None:
    """The latent cluster per visitor as int64, or None; integral values only."""
    if truth.latent_cluster_per_visitor is None:
        return None
    values = truth.latent_cluster_per_visitor.values
    as_int = values.astype(np.int64)
    if values.dtype.kind not in "iub" and not np.array_equal(as_int, values):
        raise ContractViolation("CalibrationTruth.latent_cluster_per_visitor: holds non-integer values. "
                                "Fix: store cluster ids as integers.")
    return as_int


def truth_round_frame(truth: CalibrationTruth) -> pd.DataFrame:
    """The one ``truth_rounds`` row of a round (lineage added on insert)."""
    return pd.DataFrame({
        "metric": [truth.metric_id],
        "metric_family": [str(truth.metric_family)],
        "n_arms": pd.array([truth.n_arms], dtype="int32"),
        "n_visitors": pd.array([truth.n_visitors], dtype="int64"),
        "effect": [float(truth.effect)],
        "effect_components": [json.dumps(dict(truth.effect_components), sort_keys=True)],
    })


def truth_visitor_frame(truth: CalibrationTruth, visitor_ids: pd.Series) -> pd.DataFrame:
    """The ``truth_visitors`` rows of a round: n*K rows, arm-major.

    ``visitor_ids`` are the round's visitor ids in concatenated order (the
    order the truth is aligned with).
    """
    n, k = truth.n_visitors, truth.n_arms
    nan = np.full((n, k), np.nan)
    p = truth.conversion_probabilities()
    m = truth.order_values()
    contrast = nan.copy()
    contrast[:, 1:] = truth.contrasts()
    conv, aov = nan.copy(), nan.copy()
    parts = _parts(truth)
    if parts is not None:
        conv[:, 1:], aov[:, 1:] = parts
    cluster = latent_clusters(truth)

    def long(wide: np.ndarray | None) -> np.ndarray:
        # Arm-major: all visitors' arm-0 values, then arm 1, ...
        return (nan if wide is None else wide).T.reshape(-1)

    return pd.DataFrame({
        ROW_INDEX: np.tile(np.arange(n, dtype=np.int64), k),
        "visitor_id": np.tile(visitor_ids.astype(str).to_numpy(dtype=object), k),
        ARM_INDEX: np.repeat(np.arange(k, dtype=np.int32), n),
        "p": long(p), "m": long(m), "contrast": long(contrast),
        "conversion_part": long(conv), "order_value_part": long(aov),
        "latent_cluster": pd.array(np.tile(cluster, k) if cluster is not None else [None] * (n * k),
                                   dtype="Int64"),
    })


def _aligned(values: np.ndarray) -> AlignedVisitorArray:
    return AlignedVisitorArray(values=np.ascontiguousarray(values), n_visitors=len(values))


def truth_from_arrays(*, metric: str, effect: float, effect_components: dict[str, float],
                      wide: dict[str, np.ndarray], latent_cluster: np.ndarray | None) -> CalibrationTruth:
    """Rebuild a ``CalibrationTruth`` from wide arrays ``wide[name]`` of shape (n, K).

    NaN marks "not recorded" exactly where ``truth_visitor_frame`` wrote NULL.
    """
    family = metric_family(metric)
    hurdle = family is MetricFamily.HURDLE_REAL
    p, m, contrast = wide["p"], wide["m"], wide["contrast"]
    k = p.shape[1]
    has_p = bool(np.isfinite(p).all())
    cluster = _aligned(latent_cluster) if latent_cluster is not None else None
    common = {"effect": effect, "metric_id": metric, "metric_family": family,
              "effect_components": effect_components, "latent_cluster_per_visitor": cluster}
    if k == 2:
        fields: dict[str, AlignedVisitorArray | None] = {"cate_per_visitor": _aligned(contrast[:, 1])}
        if has_p:
            fields.update(p0_per_visitor=_aligned(p[:, 0]), p1_per_visitor=_aligned(p[:, 1]))
        if hurdle:
            fields.update(m0_per_visitor=_aligned(m[:, 0]), m1_per_visitor=_aligned(m[:, 1]),
                          conv_cate_per_visitor=_aligned(wide["conversion_part"][:, 1]),
                          aov_cate_per_visitor=_aligned(wide["order_value_part"][:, 1]))
        return CalibrationTruth(**common, **fields)
    return CalibrationTruth(
        **common, cate_per_visitor=None,
        contrast_cate_per_visitor=[_aligned(contrast[:, j]) for j in range(1, k)],
        p_per_visitor=[_aligned(p[:, j]) for j in range(k)],
        m_per_visitor=[_aligned(m[:, j]) for j in range(k)] if hurdle else None)
