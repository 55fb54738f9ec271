"""``Experiment``: everything one round of a sequential experiment produced.

A round r holds the data observed in it (under the plan of round r-1), the
cumulative data the fit used, the posterior, its analysis, the plan for the
next round (with the policy tree and the routing inside), what each cell
observed, and in simulation the round's score against the truth. The
recommendation engine reads a list of these, oldest first, as ``history``.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..contracts import AnalysisResult, ObservedExperimentData, PolicyTreeResult
from ..contracts.schema import RESERVED_CELL_COLUMN

if TYPE_CHECKING:
    from .recommendation import NextRoundPlan
    from .truth import RoundScore


@dataclasses.dataclass(frozen=True, eq=False)
class Experiment:
    """One completed round (``round_index`` counts from 1).

    ``observed``: this round's visitors; ``cumulative``: every round so far
    (what ``posterior`` was fit on); ``plan``: the proposal for the next
    round; ``deployed_cells``: the cells this round's visitors were assigned
    by (None in production, where the storefront assigned them);
    ``cell_observations``: per cell and arm, visitors, conversions and
    revenue; ``score``: the truth comparison (simulation only, else None);
    ``seconds``: wall time of the fit and of the whole round.
    """

    round_index: int
    round_key: str
    observed: ObservedExperimentData
    cumulative: ObservedExperimentData
    posterior: Any
    analysis: AnalysisResult | None
    plan: NextRoundPlan | None
    deployed_cells: tuple | None
    cell_observations: pd.DataFrame
    score: RoundScore | None = None
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)

    @classmethod
    def provisional(cls, posterior: Any, round_index: int = 0) -> Experiment:
        """A stand-in for the round being planned: only its posterior is read (graduation rules)."""
        observed = posterior.observed
        return cls(round_index, "provisional", observed, observed, posterior, None, None, None,
                   pd.DataFrame())

    @property
    def tree(self) -> PolicyTreeResult | None:
        return None if self.plan is None else self.plan.tree


def cell_observations(observed: ObservedExperimentData) -> pd.DataFrame:
    """Visitors, conversions and revenue per (cell, arm) of one round, in cell then arm order."""
    rows = []
    for v in observed.variants:
        frame = v.visitors
        cells = frame[RESERVED_CELL_COLUMN] if RESERVED_CELL_COLUMN in frame.columns \
            else pd.Series(["(unrecorded)"] * len(frame))
        for cell in sorted(set(cells.astype(str))):
            mask = (cells.astype(str) == cell).to_numpy()
            n = int(mask.sum())
            conversions = int(frame["converted"].to_numpy(dtype=bool)[mask].sum())
            revenue = float(frame["revenue"].to_numpy(dtype=float)[mask].sum())
            rows.append({"cell": cell, "arm": v.name, "visitors": n, "conversions": conversions,
                         "revenue": revenue, "conversion_rate": conversions / n if n else np.nan,
                         "revenue_per_visitor": revenue / n if n else np.nan})
    frame = pd.DataFrame(rows, columns=["cell", "arm", "visitors", "conversions", "revenue", "conversion_rate",
                                        "revenue_per_visitor"])
    return frame.sort_values(["cell", "arm"], kind="stable").reset_index(drop=True)


__all__ = ["Experiment", "cell_observations"]
