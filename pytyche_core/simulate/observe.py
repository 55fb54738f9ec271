"""Assignment and observation: from potential outcomes to observed visitor rows.

Two independent random streams, both children of one seed:

- the assignment stream draws arms (only when no plan fixes them);
- the outcome stream draws every visitor's noise up front, in generation
  order, before any arm is known: one uniform for conversion, one normal for
  a log-normal order value and, for carts, the cart's uniforms. A visitor's
  outcome under arm k is then a fixed function of its noise and its
  potential outcomes under k (common random numbers): whichever policy
  assigns it, the same visitor under the same arm converts and spends the same.

Noise is drawn as one row of uniforms per visitor, so row i depends on the
seed and i only, not on how many visitors come after it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import special

from ..contracts import CartRevenueConfig, VariantData, propensity_columns
from ..contracts.schema import RESERVED_CELL_COLUMN, is_feature_column
from .cart import (
    CartNoise,
    cart_noise_from_uniforms,
    cart_noise_width,
    open_unit,
    sample_cart_revenue,
)
from .config import LATENT_CLUSTER_COLUMN, AssignmentConfig, AssignmentPlan
from .outcomes import PotentialOutcomes, order_values

SeedLike = int | np.random.SeedSequence | np.random.Generator


def child_seeds(seed: SeedLike, count: int) -> list[np.random.SeedSequence]:
    """``count`` independent child seed sequences of ``seed``, without mutating it.

    Same as ``SeedSequence(seed).spawn(count)`` on a fresh sequence, but
    calling it twice gives the same children. A ``Generator`` seed is consumed
    (one 63-bit draw) to make the root.
    """
    if isinstance(seed, np.random.Generator):
        root = np.random.SeedSequence(int(seed.integers(2**63)))
    elif isinstance(seed, np.random.SeedSequence):
        root = seed
    elif isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0:
        root = np.random.SeedSequence(int(seed))
    else:
        raise TypeError(f"expected a seed (int >= 0, SeedSequence or Generator), got {seed!r}.")
    return [np.random.SeedSequence(root.entropy, spawn_key=(*root.spawn_key, i), pool_size=root.pool_size)
            for i in range(count)]


# -- noise and outcomes ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class OutcomeNoise:
    """Every visitor's outcome randomness, in generation order.

    ``conversion`` ``(n,)`` uniforms in [0, 1) (converts when below p);
    ``order_normal`` ``(n,)`` standard normals for a log-normal order;
    ``cart`` the cart draws, or None without a cart model.
    """

    conversion: np.ndarray
    order_normal: np.ndarray
    cart: CartNoise | None = None


def draw_outcome_noise(rng: np.random.Generator, n: int,
                       revenue_model: CartRevenueConfig | None = None) -> OutcomeNoise:
    """Draw the noise of ``n`` visitors: one row of uniforms per visitor."""
    width = 2 + (cart_noise_width(revenue_model) if revenue_model is not None else 0)
    u = rng.random((n, width))
    normal = special.ndtri(open_unit(u[:, 1]))
    cart = cart_noise_from_uniforms(revenue_model, u[:, 2:]) if revenue_model is not None else None
    return OutcomeNoise(conversion=u[:, 0], order_normal=normal, cart=cart)


def realize_outcomes(outcomes: PotentialOutcomes, arms: np.ndarray, noise: OutcomeNoise,
                     revenue_model: CartRevenueConfig | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Observed (converted ``(n,)`` bool, revenue ``(n,)`` float) of visitors given their arms.

    Non-converters have revenue 0. Converters get a log-normal order with
    mean m (log-mean ``log m - sigma^2 / 2``) or a cart draw.
    """
    n = outcomes.n_visitors
    rows = np.arange(n)
    converted = noise.conversion < outcomes.conversion[rows, arms]
    if not outcomes.is_hurdle:
        return converted, np.zeros(n)
    if revenue_model is not None:
        if noise.cart is None:
            raise ValueError("realize_outcomes: a cart model but no cart noise. "
                             "Fix: draw the noise with the same revenue_model.")
        delta = outcomes.severity[rows, arms] - outcomes.severity[:, 0]
        order = sample_cart_revenue(revenue_model, delta, noise.cart)
    else:
        sigma = outcomes.sigma[rows, arms]
        with np.errstate(over="ignore"):
            order = np.exp(np.log(outcomes.order_value[rows, arms]) - 0.5 * sigma**2 + sigma * noise.order_normal)
    bad = converted & ~(np.isfinite(order) & (order > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"realize_outcomes: order value {order[i]} for visitor {i} (arm {arms[i]}). "
                         "Fix: lower the sigma surface; exp(log m + sigma * z) overflowed or underflowed.")
    return converted, np.where(converted, order, 0.0)


# -- assignment -----------------------------------------------------------------------


def draw_arms(probabilities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One arm per row of ``probabilities`` ``(n, K)``, by inverse CDF of one uniform each."""
    u = rng.random(len(probabilities))
    cumulative = np.cumsum(probabilities, axis=1)
    arms = (cumulative[:, :-1] <= u[:, None]).sum(axis=1)
    # A uniform in the rounding gap above the last cumulative sum must not land on a
    # zero-probability last arm: send it to the last arm that is allowed.
    rows = np.arange(len(arms))
    stray = probabilities[rows, arms] <= 0
    if stray.any():
        last_allowed = probabilities.shape[1] - 1 - np.argmax(probabilities[:, ::-1] > 0, axis=1)
        arms[stray] = last_allowed[stray]
    return arms.astype(np.int64)


def _design(n: int, k: int, assignment: AssignmentConfig | None, plan: AssignmentPlan | None,
            rng: np.random.Generator, cell_default: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(arms ``(n,)``, probabilities ``(n, K)``, cells ``(n,)``) of every visitor."""
    if plan is None:
        vector = (assignment or AssignmentConfig()).probabilities(k)
        probabilities = np.broadcast_to(vector, (n, k))
        return draw_arms(probabilities, rng), probabilities, np.full(n, cell_default, dtype=object)
    if not isinstance(plan, AssignmentPlan):
        raise TypeError(f"assign_and_observe: plan must be an AssignmentPlan, got {type(plan).__name__}.")
    if plan.probabilities.shape != (n, k):
        raise ValueError(f"assign_and_observe: the plan covers {plan.n_visitors} visitors x {plan.n_arms} arms, "
                         f"the outcomes {n} x {k}. Fix: return one probability row per visitor, one column per arm.")
    arms = plan.arms if plan.arms is not None else draw_arms(plan.probabilities, rng)
    cells = plan.cells if plan.cells is not None else np.full(n, cell_default, dtype=object)
    return np.asarray(arms, dtype=np.int64), plan.probabilities, cells


# -- observed frames ------------------------------------------------------------------


def variant_names(k: int) -> list[str]:
    """``control``, then ``treatment`` (K = 2) or ``treatment_1 .. treatment_{K-1}``."""
    return ["control", "treatment"] if k == 2 else ["control", *(f"treatment_{j}" for j in range(1, k))]


def _observable_features(features: pd.DataFrame) -> pd.DataFrame:
    observable = features.drop(columns=[LATENT_CLUSTER_COLUMN], errors="ignore")
    clashes = [c for c in observable.columns if not (isinstance(c, str) and is_feature_column(c))]
    if clashes:
        raise ValueError(f"assign_and_observe: feature columns {clashes} clash with the visitor schema or "
                         "reserved design columns. Fix: rename those features.")
    return observable.reset_index(drop=True)


def _variant(name: str, rows: np.ndarray, *, experiment_id: str, ids: np.ndarray, converted: np.ndarray,
             revenue: np.ndarray, features: pd.DataFrame, probabilities: np.ndarray,
             cells: np.ndarray) -> VariantData:
    """One arm's visitor frame: schema columns, features, then the reserved design columns."""
    k = probabilities.shape[1]
    size = len(rows)
    # Explicit string dtypes keep an arm with no visitors a valid (empty) frame.
    schema = pd.DataFrame({
        "visitor_id": pd.Series(ids[rows], dtype=str),
        "experiment_id": pd.Series([experiment_id] * size, dtype=str),
        "variant": pd.Series([name] * size, dtype=str),
        "converted": converted[rows],
        "revenue": revenue[rows],
        "orders_count": converted[rows].astype(np.int64),
        "sessions_count": np.ones(size, dtype=np.int64),
    })
    # K = 2 records P(arm 1) as `propensity`; K >= 3 records arms 1..K-1, never arm 0.
    design = {column: probabilities[rows, arm]
              for column, arm in zip(propensity_columns(k), range(1, k), strict=True)}
    design[RESERVED_CELL_COLUMN] = pd.Series(cells[rows], dtype=str)
    frame = pd.concat([schema, features.iloc[rows].reset_index(drop=True), pd.DataFrame(design)], axis=1)
    # Built directly (not via from_visitors, which checks the frame twice): VariantData checks it once.
    return VariantData(name=name, visitors=frame, n_visitors=size, n_conversions=int(converted[rows].sum()),
                       total_revenue=float(revenue[rows].sum()))


def assign_and_observe(
    features: pd.DataFrame,
    outcomes: PotentialOutcomes,
    assignment: AssignmentConfig | None,
    seed: SeedLike,
    *,
    revenue_model: CartRevenueConfig | None = None,
    plan: AssignmentPlan | None = None,
    experiment_id: str = "sim",
    visitor_id_prefix: str | None = None,
    cell_default: str = "rct",
) -> tuple[list[VariantData], np.ndarray]:
    """Assign each visitor an arm and draw what is observed.

    ``features`` (n rows) and ``outcomes`` are in generation order. Arms come
    from ``plan`` (its ``arms``, or drawn from its ``probabilities``), else
    from ``assignment``'s fixed probabilities; the probabilities and cell of
    each visitor are recorded in the reserved columns (``propensity`` at
    K = 2, ``propensity_1..K-1`` at K >= 3, ``cell``). Children 0 and 1 of
    ``seed`` drive assignment and outcome noise.

    Returns the K variants (control first) and ``order`` ``(n,)``: the
    generation index of every concatenated observed row. Truth arrays in
    generation order must be reordered with it (``outcomes.take(order)``).
    Visitor ids are ``f"{prefix}-{generation index:07d}"``.
    """
    if len(features) != outcomes.n_visitors:
        raise ValueError(f"assign_and_observe: {len(features)} feature rows but outcomes for "
                         f"{outcomes.n_visitors} visitors. Fix: pass the frame the outcomes were computed on.")
    if outcomes.is_hurdle:
        expected = order_values(outcomes.severity, revenue_model)
        if not np.allclose(expected, outcomes.order_value, rtol=1e-9, atol=0.0):
            raise ValueError("assign_and_observe: the outcomes' order values were computed with another "
                             "revenue model than the one given. Fix: pass the same revenue_model to "
                             "compute_potential_outcomes and assign_and_observe.")
    elif revenue_model is not None:
        raise ValueError(f"assign_and_observe: a cart model for {outcomes.metric_id}. Fix: pass revenue_model=None.")
    n, k = outcomes.n_visitors, outcomes.n_arms
    observable = _observable_features(features)
    assignment_seq, outcome_seq = child_seeds(seed, 2)
    noise = draw_outcome_noise(np.random.default_rng(outcome_seq), n, revenue_model)
    arms, probabilities, cells = _design(n, k, assignment, plan, np.random.default_rng(assignment_seq), cell_default)
    converted, revenue = realize_outcomes(outcomes, arms, noise, revenue_model)

    prefix = visitor_id_prefix or experiment_id
    ids = np.array([f"{prefix}-{i:07d}" for i in range(n)], dtype=object)
    groups = [np.flatnonzero(arms == arm) for arm in range(k)]
    variants = [_variant(name, rows, experiment_id=experiment_id, ids=ids, converted=converted, revenue=revenue,
                         features=observable, probabilities=probabilities, cells=cells)
                for name, rows in zip(variant_names(k), groups, strict=True)]
    return variants, np.concatenate(groups).astype(np.int64)


__all__ = [
    "OutcomeNoise",
    "assign_and_observe",
    "child_seeds",
    "draw_arms",
    "draw_outcome_noise",
    "realize_outcomes",
    "variant_names",
]
