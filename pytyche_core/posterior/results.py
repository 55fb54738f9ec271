"""Fitted BCF results: the posterior draws of every visitor's effect, and where they came from.

``HurdleBCFResult`` (revenue per visitor), ``BinaryBCFResult`` (conversion)
and ``ContinuousBCFResult`` (a Gaussian outcome) share one surface: the
observed data they were fit on, the config, ``cate_samples`` of shape
``(n, S, K-1)`` aligned with the concatenated visitor rows (control first),
``predict`` for new visitors from the stored forests, ``save`` / ``load``
and ``diagnostics``. S = chains x draws, chain-major.

A result is frozen data: its attributes cannot be reassigned, and a
calibration is declared on a new result (``with_calibration``). The answers
computed from it are free functions that take it (``analysis.analyze``,
``comparisons.compare``, ``policy_tree.fit_policy_tree``, ...); the methods
here are one-line conveniences over them.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..bcf.binning import apply_bins
from ..bcf.config import BCFConfig
from ..bcf.design import ModelDesign, covariate_frame
from ..contracts import (
    AnalysisResult,
    ComparisonResult,
    DecisionThresholds,
    DiagnosticsBundle,
    ObservedExperimentData,
    PolicyTreeResult,
    RecommendationSummary,
)
from . import analysis, comparisons, diagnostics, evaluation, persistence, policy_tree
from .calibration import AppliedCalibration, IntervalCalibration, apply_calibration
from .channels import ChannelFits
from .evaluation import PolicyValue
from .fit_info import FitInfo

#: Visitors per block when effect draws are materialised (S = 200: ~6 MB per float64 temporary).
_EFFECT_BLOCK = 4096


class BCFResult:
    """Common surface of the three result types (not constructed directly)."""

    model: str = ""

    observed: ObservedExperimentData
    config: BCFConfig
    design: ModelDesign
    info: FitInfo
    #: The interval calibration this result's effect draws carry (``with_calibration``), or None.
    applied_calibration: AppliedCalibration | None

    def __init__(self, observed: ObservedExperimentData, config: BCFConfig, design: ModelDesign,
                 info: FitInfo, **channels) -> None:
        self._set(observed=observed, config=config, design=design, info=info, applied_calibration=None,
                  **channels)

    def _set(self, **fields) -> None:
        for name, value in fields.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value) -> None:
        raise AttributeError(f"{type(self).__name__}.{name}: a fitted result is frozen. Fix: fit again, or "
                             "use with_calibration for a calibrated copy.")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__}.{name}: a fitted result is frozen.")

    # -- calibration ----------------------------------------------------------------------
    @property
    def is_calibrated(self) -> bool:
        return self.applied_calibration is not None

    @property
    def calibration(self) -> IntervalCalibration | None:
        return None if self.applied_calibration is None else self.applied_calibration.calibration

    @property
    def calibration_method(self) -> str | None:
        return None if self.applied_calibration is None else self.applied_calibration.method

    def with_calibration(self, applied: AppliedCalibration) -> BCFResult:
        """This result with ``applied`` declared: the same fit, whose effect draws (training and
        ``predict``) come out corrected. The raw draws already computed are shared, not redone."""
        if self.is_calibrated:
            raise ValueError("with_calibration: this result is already calibrated. Fix: start from the raw "
                             "result it was made from.")
        out = copy.copy(self)
        out.__dict__.pop("_training_effects", None)  # the cache of the draws as calibrated, if any
        out._set(applied_calibration=applied)
        return out

    # -- shape --------------------------------------------------------------------------
    @property
    def treatment_names(self) -> tuple[str, ...]:
        return self.observed.treatment_names

    @property
    def n_draws(self) -> int:
        return self.config.chains * self.config.draws

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(experiment={self.observed.experiment_id!r}, n={self.observed.n_visitors}, "
                f"arms={list(self.observed.arm_names)}, draws={self.n_draws}, pooling={self.info.pooling!r}, "
                f"device={self.info.device!r})")

    # -- effects ------------------------------------------------------------------------
    def _contrasts(self, j: int, new_bins: np.ndarray | None, rows: slice | None = None) -> dict[str, np.ndarray]:
        """Draws [S, n] of treatment j+1 vs control; key "total" plus any decomposition parts.

        ``rows``: a block of the training visitors (``new_bins`` is None then).
        """
        raise NotImplementedError

    def _stack(self, new_bins: np.ndarray | None) -> dict[str, np.ndarray]:
        """Every key of ``_contrasts`` as float32 ``(n, S, K-1)``.

        For the training visitors, in blocks: the float temporaries (linear
        predictors, probabilities, order values) stay a few blocks' worth
        instead of several full [S, n] arrays.
        """
        n = self.observed.n_visitors if new_bins is None else new_bins.shape[1]
        # New visitors are predicted in one pass: the forests are walked once per draw per call,
        # so blocking them would multiply the dispatches; their temporaries are the caller's n.
        block = _EFFECT_BLOCK if new_bins is None else max(n, 1)
        k1 = len(self.treatment_names)
        out: dict[str, np.ndarray] = {}
        for start in range(0, n, block):
            rows = slice(start, min(start + block, n))
            for j in range(k1):
                parts = self._contrasts(j, new_bins, rows if new_bins is None else None)
                for key, draws in parts.items():
                    if key not in out:
                        out[key] = np.empty((n, draws.shape[0], k1), dtype=np.float32)
                    out[key][rows, :, j] = draws.T
        return out

    @functools.cached_property
    def _raw_effects(self) -> dict[str, np.ndarray]:
        return self._stack(None)

    @functools.cached_property
    def _training_effects(self) -> dict[str, np.ndarray]:
        raw = self._raw_effects
        return raw if self.applied_calibration is None else self.applied_calibration.effects(raw)

    @property
    def cate_samples(self) -> np.ndarray:
        """Effect draws of every treatment vs control, float32 ``(n, S, K-1)``, metric units."""
        return self._training_effects["total"]

    def _bins_for(self, visitors: pd.DataFrame) -> np.ndarray:
        if not isinstance(visitors, pd.DataFrame):
            raise TypeError(f"predict: expected a DataFrame of visitors, got {type(visitors).__name__}")
        names = self.design.binned.names
        features = tuple(n for n in names if n not in self.design.propensity_fill)
        missing = [f for f in features if f not in visitors.columns]
        if missing:
            raise KeyError(f"predict: visitors lack the features {missing}. Fix: pass the columns the "
                           f"model was fit on: {list(features)}.")
        infinite = [f for f in features if pd.api.types.is_numeric_dtype(visitors[f])
                    and np.isinf(visitors[f].to_numpy(dtype=float)).any()]
        if infinite:
            raise ValueError(f"predict: features {infinite} hold infinite values, which fit refuses too. Fix: "
                             "replace them (e.g. clip to the training range) or drop those visitors.")
        frame = covariate_frame(visitors, features, tuple(self.design.propensity_fill),
                                fill=self.design.propensity_fill)
        return apply_bins(frame[list(names)], self.design.binned.features)

    def predict(self, visitors: pd.DataFrame) -> np.ndarray:
        """Effect draws ``(len(visitors), S, K-1)`` for new visitors, from the stored forests
        (corrected by the result's calibration, if it carries one).

        Missing propensity columns (visitors not yet assigned) take the
        training mean: the prognostic forest uses them, the effect forest never does.
        """
        bins = self._bins_for(visitors)
        if bins.shape[1] == 0:
            return np.empty((0, self.n_draws, len(self.treatment_names)), dtype=np.float32)
        draws = self._stack(bins)["total"]
        return draws if self.applied_calibration is None else self.applied_calibration.draws(draws)

    def _levels(self, j: int, rows: slice) -> tuple[np.ndarray, np.ndarray]:
        """Expected outcome per draw under control and under arm j+1, each [S, rows], metric units."""
        raise NotImplementedError

    def outcome_means(self) -> np.ndarray:
        """Posterior-mean expected outcome of every fitted visitor under every arm, ``(n, K)``.

        Metric units, control first: the outcome model the doubly-robust policy
        value uses (``posterior.evaluation``).
        """
        n, k1 = self.observed.n_visitors, len(self.treatment_names)
        out = np.empty((n, k1 + 1))
        for start in range(0, n, _EFFECT_BLOCK):
            rows = slice(start, min(start + _EFFECT_BLOCK, n))
            for j in range(k1):
                base, arm = self._levels(j, rows)
                if j == 0:
                    out[rows, 0] = base.mean(axis=0)
                out[rows, j + 1] = arm.mean(axis=0)
        return out

    # -- analysis (array math on the stored draws; no refits) ------------------------------
    def analyze(self, **options) -> AnalysisResult:
        """Comparisons, segments, recommendation and per-visitor effects (``posterior.analysis.analyze``)."""
        return analysis.analyze(self, **options)

    def compare(self, treatment: str | None = None, *, method: str = "compare_to_control", segment=None,
                thresholds: DecisionThresholds | None = None, ci_level: float = 0.8) -> ComparisonResult:
        """Posterior comparison of one treatment vs control or vs the best other arm (``comparisons.compare``)."""
        return comparisons.compare(self, treatment, method=method, segment=segment, thresholds=thresholds,
                       ci_level=ci_level)

    def recommendation_summary(self, treatment: str, segment=None,
                               thresholds: DecisionThresholds | None = None, *,
                               round_size: int | None = None) -> RecommendationSummary:
        """SHIP / CONTINUE / STOP with its evidence and the value of one more round."""
        return comparisons.recommendation_summary(self, treatment, segment, thresholds, round_size=round_size)

    def fit_policy_tree(self, max_depth: int | str = 2, min_segment_share: float = 0.1, n_bootstrap: int = 50,
                        seed: int = 0, *, epsilon: float = 0.1, features=None) -> PolicyTreeResult:
        """Readable segments from a shallow tree on the posterior-mean effects (``policy_tree``).

        ``features``: the visitor features the tree may split on (None: all).
        """
        return policy_tree.fit_policy_tree(self, max_depth, min_segment_share, n_bootstrap, seed, epsilon=epsilon,
                               features=features)

    def thompson_allocation(self, segments, epsilon: float = 0.1) -> dict[int, dict[str, float]]:
        """``{segment id: {arm: weight}}``: segment-mean best-arm frequencies with an epsilon / K floor."""
        return policy_tree.thompson_allocation(self, segments, epsilon)

    def apply_calibration(self, calibration, *, method: str | None = None) -> BCFResult:
        """A copy of this result with calibrated effect draws (``posterior.calibration.apply_calibration``).

        ``calibration`` is an ``IntervalCalibration`` (fit with
        ``pytyche_core.experiment.run_calibration`` or loaded from its JSON
        artifact); ``method`` "remap" or "scale" (None: the artifact's own).
        """
        return apply_calibration(self, calibration, method=method)

    def policy_value(self, policy, *, use_outcome_model: bool = True) -> PolicyValue:
        """Doubly-robust value (metric units per visitor) of assigning ``policy`` to the fitted visitors.

        ``policy``: an arm index or name per visitor (or one for everyone).
        The recorded assignment probabilities make it unbiased; this fit's
        ``outcome_means`` only reduce its variance (``use_outcome_model=False``: pure IPW).
        Scoring on the data the model was fit on is optimistic for policies
        learned from it: score those on the next round's data.
        """
        return evaluation.policy_value(self.observed, policy, self.outcome_means() if use_outcome_model else None)

    # -- channels, diagnostics, persistence ---------------------------------------------
    @property
    def channel_fits(self) -> dict[str, ChannelFits]:
        """The fitted channels by name (``conversion``, ``order_value``, ``outcome``), in fit order."""
        raise NotImplementedError

    def diagnostics(self, n_visitors: int = 50, seed: int = 0) -> DiagnosticsBundle:
        """Convergence summaries as an ArviZ ``InferenceData`` (docs/concepts/sampler-math.md §6).

        Posterior variables, dims ``(chain, draw, ...)``: ``sigma2_<channel>``
        per Gaussian channel, ``average_effect`` ``[chain, draw, treatment]``
        and ``visitor_effect`` ``[chain, draw, visitor, treatment]`` for
        ``n_visitors`` visitors drawn with ``seed`` (see ``posterior.diagnostics``).
        """
        return DiagnosticsBundle(inference_data=diagnostics.inference_data(self, n_visitors, seed))

    def diagnostics_summary(self, n_visitors: int = 50, seed: int = 0) -> pd.DataFrame:
        """R-hat (rank-normalized), bulk / tail ESS per summary scalar, plus acceptance per forest.

        Indexed by quantity (``sigma2_order_value``, ``average_effect[treatment_1]``,
        ``visitor_effect[<id>, treatment_1]``, ``acceptance[conversion, mu]``, ...);
        see ``posterior.diagnostics.summarize``. Needs ``BCFConfig(chains>=2)``:
        raises ValueError otherwise.
        """
        return diagnostics.summarize(diagnostics.inference_data(self, n_visitors, seed),
                                     diagnostics.acceptance_table(self))

    def save(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write this result to one versioned ``.npz`` file (forests, scaling, data; no pickle).

        Refuses to replace an existing file unless ``overwrite=True``.
        Returns the path written. ``pt.load_result(path)`` reads it back.
        """
        return persistence.save_result(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> BCFResult:
        """Read a result written by ``save``; per-visitor draws are recomputed from its forests."""
        result = load_result(path)
        if not isinstance(result, cls):
            raise TypeError(f"{path}: holds a {type(result).__name__}, not a {cls.__name__}. "
                            "Fix: call pt.load_result(path), which returns whichever kind was saved.")
        return result


class ContinuousBCFResult(BCFResult):
    """A Gaussian BCF on the outcome: effects are tau_k(x) in outcome units."""

    model = "continuous"

    outcome: ChannelFits
    outcome_column: str

    def __init__(self, observed, config, design, info, outcome: ChannelFits, outcome_column: str) -> None:
        super().__init__(observed, config, design, info, outcome=outcome, outcome_column=outcome_column)

    @property
    def channel_fits(self) -> dict[str, ChannelFits]:
        return {"outcome": self.outcome}

    def _contrasts(self, j, new_bins, rows=None):
        pred = None if new_bins is None else self.outcome.predict_new(j, new_bins)
        base, arm = self.outcome.levels(j, training=pred, rows=rows)
        return {"total": arm - base}

    def _levels(self, j, rows):
        return self.outcome.levels(j, rows=rows)


class BinaryBCFResult(BCFResult):
    """A probit BCF on conversion: effects are Phi(eta_k) - Phi(eta_0) in probability units."""

    model = "binary"

    conversion: ChannelFits

    def __init__(self, observed, config, design, info, conversion: ChannelFits) -> None:
        super().__init__(observed, config, design, info, conversion=conversion)

    @property
    def channel_fits(self) -> dict[str, ChannelFits]:
        return {"conversion": self.conversion}

    def _contrasts(self, j, new_bins, rows=None):
        pred = None if new_bins is None else self.conversion.predict_new(j, new_bins)
        base, arm = self.conversion.levels(j, training=pred, rows=rows)
        return {"total": arm - base}

    def _levels(self, j, rows):
        return self.conversion.levels(j, rows=rows)


class HurdleBCFResult(BCFResult):
    """Conversion (probit BCF) x order value (Gaussian BCF on log revenue of converters).

    Per draw, revenue per visitor under arm k is Phi(eta_k) exp(nu_k + sigma^2 / 2);
    ``rpv_cate_samples`` are the contrasts vs control, and they split exactly
    into ``conversion_part_samples`` ((p_k - p_0) m_0) and
    ``order_value_part_samples`` (p_k (m_k - m_0)). The two channels are fit
    independently, so pairing draw s of one with draw s of the other samples
    the product posterior.
    """

    model = "hurdle"

    conversion: ChannelFits
    order_value: ChannelFits

    def __init__(self, observed, config, design, info, conversion: ChannelFits, order_value: ChannelFits) -> None:
        super().__init__(observed, config, design, info, conversion=conversion, order_value=order_value)

    @property
    def channel_fits(self) -> dict[str, ChannelFits]:
        return {"conversion": self.conversion, "order_value": self.order_value}

    def _contrasts(self, j, new_bins, rows=None):
        c_pred = None if new_bins is None else self.conversion.predict_new(j, new_bins)
        o_pred = None if new_bins is None else self.order_value.predict_new(j, new_bins)
        p0, p = self.conversion.levels(j, training=c_pred, rows=rows)
        m0, m = self.order_value.levels(j, training=o_pred, rows=rows)
        conversion_part = (p - p0) * m0
        order_part = p * (m - m0)
        return {"total": conversion_part + order_part, "conversion": conversion_part, "order_value": order_part}

    def _levels(self, j, rows):
        p0, p = self.conversion.levels(j, rows=rows)
        m0, m = self.order_value.levels(j, rows=rows)
        return p0 * m0, p * m

    @property
    def rpv_cate_samples(self) -> np.ndarray:
        """Revenue-per-visitor effect draws, float32 ``(n, S, K-1)``, dollars per visitor."""
        return self.cate_samples

    @property
    def conversion_part_samples(self) -> np.ndarray:
        """The part of each effect draw due to conversion: (p_k - p_0) m_0, ``(n, S, K-1)``."""
        return self._training_effects["conversion"]

    @property
    def order_value_part_samples(self) -> np.ndarray:
        """The part due to order value given conversion: p_k (m_k - m_0), ``(n, S, K-1)``."""
        return self._training_effects["order_value"]

    def has_decomposition(self) -> bool:
        return True


def load_result(path: str | os.PathLike) -> BCFResult:
    """Read a result written by ``result.save(path)``: the same kind, data, config, info and forests.

    The training visitors' draws are recomputed from the stored forests, so
    ``cate_samples`` match the saved result's to float32 rounding. Raises
    FileNotFoundError for a missing path and ``ResultFileError`` (a
    ValueError) for a file of another format or version, or a damaged one.
    """
    stored = persistence.read_result_file(path)
    parts = (stored.observed, stored.config, stored.design, stored.info)
    channels = stored.channels
    if stored.kind == "hurdle":
        return HurdleBCFResult(*parts, channels["conversion"], channels["order_value"])
    if stored.kind == "binary":
        return BinaryBCFResult(*parts, channels["conversion"])
    return ContinuousBCFResult(*parts, channels["outcome"], stored.outcome_column)
