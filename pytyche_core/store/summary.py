"""A per-round, per-arm overview of a stored experiment (what a person checks first)."""

from __future__ import annotations

import pandas as pd

from .connection import Target, open_connection
from .errors import ExperimentNotFoundError
from .identifiers import quote_identifier
from .schema import TRUTH_VISITORS_TABLE, VISITORS_TABLE, table_exists


def round_summary(source: Target, experiment_id: str) -> pd.DataFrame:
    """One row per (round_key, arm): visitors, conversions, conversion rate, revenue per visitor.

    When the store holds the simulation's truth, ``true_effect`` is the
    round's average true effect of the arm vs control (NaN for control).
    """
    visitors = quote_identifier(VISITORS_TABLE)
    truth = quote_identifier(TRUTH_VISITORS_TABLE)
    with open_connection(source, read_only=True) as con:
        if not table_exists(con, VISITORS_TABLE):
            raise ExperimentNotFoundError(f"the store has no {VISITORS_TABLE!r} table yet. Fix: write a round first.")
        frame = con.execute(
            f"""SELECT round_key, arm_index, any_value(variant) AS arm, count(*) AS visitors,
                       CAST(sum(CAST(converted AS BIGINT)) AS BIGINT) AS conversions,
                       avg(CAST(converted AS DOUBLE)) AS conversion_rate,
                       avg(revenue) AS revenue_per_visitor
                FROM {visitors} WHERE experiment_id = ?
                GROUP BY round_key, arm_index ORDER BY round_key, arm_index""",
            [experiment_id]).df()
        if frame.empty:
            raise ExperimentNotFoundError(f"experiment {experiment_id!r} has no rows in the store. "
                                          "Fix: check the experiment id, or run the pipeline first.")
        if table_exists(con, TRUTH_VISITORS_TABLE):
            effects = con.execute(
                f"""SELECT round_key, arm_index, avg(contrast) AS true_effect FROM {truth}
                    WHERE experiment_id = ? GROUP BY round_key, arm_index""", [experiment_id]).df()
            frame = frame.merge(effects, on=["round_key", "arm_index"], how="left")
    return frame
