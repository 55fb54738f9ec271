"""Decisions for one contrast from its posterior draws (docs/concepts/decision-theory.md).

Pure array math on the draws ``delta_s`` of one lift (comparison minus
baseline, metric units): expected losses, the probabilities the rule reads,
the SHIP / CONTINUE / STOP rule itself and the expected value of one more
round. The derivations are in docs/concepts/decision-theory.md.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
from scipy.special import ndtr

from ..contracts import Decision, DecisionThresholds


@dataclasses.dataclass(frozen=True)
class LiftEvidence:
    """What the decision rule reads from the draws of one lift.

    ``threshold`` is the smallest lift worth acting on (metric units): the
    rule uses ``DecisionThresholds.expected_loss_tolerance`` for it, so
    "meaningfully better" and "an acceptable expected loss" share one unit.
    """

    mean: float
    sd: float
    threshold: float
    probability_positive: float
    probability_better: float
    probability_harmful: float
    expected_loss_baseline: float
    expected_loss_comparison: float


def lift_draws(samples: np.ndarray) -> np.ndarray:
    """The draws as a finite 1-D float64 array; a clear error otherwise."""
    delta = np.asarray(samples, dtype=np.float64)
    if delta.ndim != 1 or delta.size < 2:
        raise ValueError(f"expected a 1-D array of at least 2 posterior draws, got shape {delta.shape}. "
                         "Fix: pass the per-draw lift (one value per draw).")
    if not np.isfinite(delta).all():
        raise ValueError("the lift draws contain NaN or inf. Fix: check the fit's draws (result.cate_samples).")
    return delta


def loss_samples(delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-draw losses (keep the baseline, ship the comparison): ``max(delta, 0)``, ``max(-delta, 0)``."""
    return np.maximum(delta, 0.0), np.maximum(-delta, 0.0)


def evidence(samples: np.ndarray, threshold: float) -> LiftEvidence:
    """Expected losses and P(positive), P(better by ``threshold``), P(harmful beyond ``threshold``)."""
    delta = lift_draws(samples)
    if not (math.isfinite(threshold) and threshold >= 0):
        raise ValueError(f"threshold must be a finite lift >= 0, got {threshold!r}.")
    keep_loss, ship_loss = loss_samples(delta)
    return LiftEvidence(
        mean=float(delta.mean()), sd=float(delta.std(ddof=1)), threshold=float(threshold),
        probability_positive=float((delta > 0).mean()),
        probability_better=float((delta > threshold).mean()),
        probability_harmful=float((delta < -threshold).mean()),
        expected_loss_baseline=float(keep_loss.mean()),
        expected_loss_comparison=float(ship_loss.mean()),
    )


def decide(ev: LiftEvidence, thresholds: DecisionThresholds) -> Decision:
    """The default SHIP / CONTINUE / STOP rule, checked in this order.

    1. SHIP when shipping is cheap if wrong and the evidence is strong:
       ``expected_loss_comparison <= expected_loss_tolerance`` and either
       ``P(positive) >= p_positive_threshold`` or ``P(better) >= p_better_threshold``.
    2. STOP for harm: ``P(harmful) >= harm_threshold``.
    3. STOP for futility: ``P(better) <= futility_threshold`` (a meaningful
       win is very unlikely; a tiny sure win already shipped at step 1).
    4. CONTINUE otherwise.
    """
    if ev.expected_loss_comparison <= thresholds.expected_loss_tolerance and (
            ev.probability_positive >= thresholds.p_positive_threshold
            or ev.probability_better >= thresholds.p_better_threshold):
        return Decision.SHIP
    if ev.probability_harmful >= thresholds.harm_threshold:
        return Decision.STOP
    if ev.probability_better <= thresholds.futility_threshold:
        return Decision.STOP
    return Decision.CONTINUE


def _psi(u: float) -> float:
    """psi(u) = phi(u) - u (1 - Phi(u)), the standard normal's unit loss integral."""
    return math.exp(-0.5 * u * u) / math.sqrt(2.0 * math.pi) - u * float(ndtr(-u))


def value_of_one_more_round(mean: float, sd: float, round_share: float) -> float:
    """Expected loss reduction per visitor from one more round (preposterior, docs/concepts/decision-theory.md).

    ``round_share`` = n_round / N_cum: the next round's visitors relative to
    those the posterior already rests on. With s'^2 = s^2 / (1 + round_share)
    the posterior mean after the round is N(mean, s~^2), s~^2 = s^2 - s'^2, and
    the value is ``s~ psi(|mean| / s~)``.
    """
    if not (math.isfinite(mean) and math.isfinite(sd) and sd >= 0):
        raise ValueError(f"value_of_one_more_round: need a finite mean and sd >= 0, got {mean!r}, {sd!r}.")
    if not (math.isfinite(round_share) and round_share > 0):
        raise ValueError(f"value_of_one_more_round: round_share must be > 0, got {round_share!r}. "
                         "Fix: pass n_round / N_cum.")
    spread = sd * math.sqrt(round_share / (1.0 + round_share))
    if spread == 0.0:
        return 0.0
    return spread * _psi(abs(mean) / spread)


def value_of_one_more_round_from_draws(samples: np.ndarray, round_share: float, *, n_simulations: int = 4000,
                                       seed: int = 0) -> float:
    """The same value by simulation on the draws themselves (no Gaussian posterior assumed).

    Each simulation takes a draw as the truth, simulates the next round's
    estimate around it with the round's sampling variance s^2 / round_share
    (s: the posterior sd), reweights the draws by that estimate's likelihood
    and records the better of "ship" and "keep" under the updated posterior.
    The value is the mean of those minus the better choice now.
    """
    delta = lift_draws(samples)
    if not (math.isfinite(round_share) and round_share > 0):
        raise ValueError(f"round_share must be > 0, got {round_share!r}. Fix: pass n_round / N_cum.")
    sd = float(delta.std(ddof=1))
    if sd == 0.0:
        return 0.0
    rng = np.random.default_rng(seed)
    noise_sd = sd / math.sqrt(round_share)
    truth = rng.choice(delta, size=n_simulations)
    estimate = truth + noise_sd * rng.standard_normal(n_simulations)
    after = np.empty(n_simulations)
    for start in range(0, n_simulations, 256):  # blocks bound memory: (block, S) weights
        z = (estimate[start:start + 256, None] - delta[None, :]) / noise_sd
        log_w = -0.5 * z * z
        w = np.exp(log_w - log_w.max(axis=1, keepdims=True))
        after[start:start + 256] = np.maximum((w * delta).sum(axis=1) / w.sum(axis=1), 0.0)
    return float(max(after.mean() - max(delta.mean(), 0.0), 0.0))
