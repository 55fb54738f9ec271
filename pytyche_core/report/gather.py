"""Everything the report needs about one stored round, read from the DuckDB store (read-only).

A round the pipeline planned (``python3 tasks.py run``) leaves its plan in
``round_plans``, its fit's file and checksum in ``round_fits``, its segments
in ``round_segments`` and, in simulation, its score in ``round_scores`` and
the truth in ``truth_visitors`` (see ``pytyche_core.experiment.stored``).
``gather`` reads those into one ``StoredRound``; it computes no statistic.
Lookups that find nothing raise the store's own errors, each naming the fix.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..experiment.plan_io import plan_from_json
from ..experiment.recommendation import NextRoundPlan
from ..experiment.stored import (
    FITS_TABLE,
    PLANS_TABLE,
    SCORES_TABLE,
    StoredResult,
    read_fit_file,
    read_score,
)
from ..experiment.truth import RoundScore, truth_values
from ..store import (
    ExperimentNotFoundError,
    RoundNotFoundError,
    load_experiment,
    open_connection,
    quote_identifier,
    read_partition,
    read_round_truth,
    round_summary,
    stored_round_keys,
)
from ..store.schema import table_exists

#: Run the main job to get a store; the message every "nothing there" error ends with.
HOW_TO_STORE = "run `python3 tasks.py run` (it writes data/pytyche.duckdb), or pass the path of a store it wrote"


@dataclasses.dataclass(frozen=True, eq=False)
class StoredRound:
    """One planned round of a stored experiment, as the report reads it.

    - ``round_keys``: the experiment's planned rounds up to and including ``round_key``;
    - ``posterior``: the fit on every round <= ``round_key`` (loaded from its file after its
      SHA-256 is checked against the store's);
    - ``plan`` / ``plan_json``: the plan that round made for the next one (the JSON keeps what the
      plan object does not: the decision it recorded, the graduation candidates);
    - ``decisions``: one row per planned round (decision, best challenger, pooled arm, cells);
    - ``observed``: visitors, conversions and revenue per round and arm (``store.round_summary``);
    - ``scores``: the simulation's ``RoundScore`` per planned round (empty in production);
    - ``true_effects``: ``(n_fit, K_fit - 1)`` true contrasts in the fit's row order
      (simulation only; None otherwise);
    - ``lineage``: run ids, code version, fit file, checksum, device and seconds of this round.
    """

    store_path: Path
    experiment_id: str
    round_key: str
    round_keys: tuple[str, ...]
    posterior: Any
    plan: NextRoundPlan
    plan_json: Mapping[str, Any]
    decisions: pd.DataFrame
    observed: pd.DataFrame
    scores: tuple[RoundScore, ...]
    true_effects: np.ndarray | None
    lineage: Mapping[str, Any]

    @property
    def simulated(self) -> bool:
        return self.true_effects is not None or bool(self.scores)


def check_store(store_path: str | os.PathLike) -> Path:
    """The store's path, or ``FileNotFoundError`` naming the fix."""
    path = Path(os.fspath(store_path)).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"no pytyche store at {str(path)!r}. Fix: {HOW_TO_STORE}.")
    return path


def planned_round_keys(path: Path, experiment_id: str) -> list[str]:
    """Rounds of ``experiment_id`` with a stored plan, ascending; errors name the fix."""
    stored = stored_round_keys(path, experiment_id)  # ExperimentNotFoundError lists the known ids
    with open_connection(path, read_only=True) as con:
        if not table_exists(con, PLANS_TABLE):
            keys = []
        else:
            rows = con.execute(f"SELECT DISTINCT round_key FROM {quote_identifier(PLANS_TABLE)} "
                               "WHERE experiment_id = ? ORDER BY round_key", [experiment_id]).fetchall()
            keys = [r[0] for r in rows if r[0] in stored]
    if not keys:
        raise RoundNotFoundError(f"experiment {experiment_id!r} has stored rounds {stored} but none was fitted and "
                                 "planned, so there is nothing to report. Fix: run its rounds through the round "
                                 "loop (`python3 tasks.py run`, or materialize them in the Dagster UI).")
    return keys


def _choose_round(keys: list[str], round_key: str | None, experiment_id: str) -> str:
    if round_key is None:
        return keys[-1]
    if round_key not in keys:
        raise RoundNotFoundError(f"experiment {experiment_id!r} has no planned round {round_key!r} (planned rounds: "
                                 f"{', '.join(keys)}). Fix: pass one of those, or omit the round for the latest.")
    return round_key


def _decisions(path: Path, experiment_id: str, keys: list[str]) -> pd.DataFrame:
    rows = []
    for key in keys:
        row = read_partition(path, PLANS_TABLE, experiment_id, key).iloc[0]
        rows.append({"round_key": key, "decision": row["decision"], "best_challenger": row["best_challenger"],
                     "pooled_arm": row["pooled_arm"], "control_weight": row["control_weight"],
                     "explore_weight": row["explore_weight"], "optimized_weight": row["optimized_weight"],
                     "next_round_visitors": int(row["next_round_visitors"])})
    return pd.DataFrame(rows)


def _scores(path: Path, experiment_id: str, keys: list[str]) -> tuple[RoundScore, ...]:
    with open_connection(path, read_only=True) as con:
        if not table_exists(con, SCORES_TABLE):
            return ()
    out = []
    for key in keys:
        try:
            out.append(read_score(path, experiment_id, key))
        except LookupError:  # a production round has no score
            continue
    return tuple(out)


def _true_effects(path: Path, experiment_id: str, data_keys: list[str], posterior) -> np.ndarray | None:
    """The true contrasts of the fit's visitors in the fit's row order, or None without stored truth.

    The fit's rows are matched to the store's by visitor id, so the answer
    does not depend on how the cumulative data was stacked.
    """
    with open_connection(path, read_only=True) as con:
        if not table_exists(con, "truth_visitors"):
            return None
    try:
        truth = read_round_truth(path, experiment_id, data_keys)
    except (LookupError, ValueError):  # production rounds, or rounds written without truth
        return None
    stored = load_experiment(path, experiment_id, rounds=data_keys)
    ids = stored.visitors()["visitor_id"].astype(str).to_numpy()
    position = pd.Index(ids)
    fit_ids = posterior.observed.visitors()["visitor_id"].astype(str).to_numpy()
    if not position.is_unique:
        return None
    rows = position.get_indexer(fit_ids)
    if (rows < 0).any():
        return None
    columns = [list(stored.arm_names).index(name) for name in posterior.observed.arm_names]
    values = truth_values(truth)[rows][:, columns]
    return values[:, 1:] - values[:, :1]


def _lineage(path: Path, experiment_id: str, round_key: str) -> dict[str, Any]:
    fit = read_partition(path, FITS_TABLE, experiment_id, round_key).iloc[0]
    out: dict[str, Any] = {"fit_file": str(fit["path"]), "fit_sha256": str(fit["sha256"]),
                           "device": str(fit["device"]), "fit_seconds": float(fit["fit_seconds"]),
                           "visitors_fitted": int(fit["n_visitors"]), "model": str(fit["model"])}
    with open_connection(path, read_only=True) as con:
        for table, prefix in ((PLANS_TABLE, "plan"), (FITS_TABLE, "fit")):
            row = con.execute(f"SELECT run_id, code_version, CAST(written_at AS VARCHAR) FROM "
                              f"{quote_identifier(table)} WHERE experiment_id = ? AND round_key = ? LIMIT 1",
                              [experiment_id, round_key]).fetchone()
            if row is not None:
                out[f"{prefix}_run_id"], out[f"{prefix}_code_version"], out[f"{prefix}_written_at"] = row
    return out


def gather(store_path: str | os.PathLike, experiment_id: str, round_key: str | None = None) -> StoredRound:
    """Read one planned round (default: the latest) of ``experiment_id`` from the store.

    Raises ``FileNotFoundError`` (no store, or the fit file it records is
    gone), ``ExperimentNotFoundError`` (unknown id; the message lists known
    ones) or ``RoundNotFoundError`` (no such planned round), each naming the fix.
    """
    if not isinstance(experiment_id, str) or not experiment_id:
        raise ExperimentNotFoundError(f"experiment id {experiment_id!r} is empty. Fix: pass the id the run "
                                      "stored (e.g. demo-clustered-k3).")
    path = check_store(store_path)
    keys = planned_round_keys(path, experiment_id)
    chosen = _choose_round(keys, round_key, experiment_id)
    upto = [k for k in keys if k <= chosen]
    plan_json = json.loads(read_partition(path, PLANS_TABLE, experiment_id, chosen)["plan_json"].iloc[0])
    plan = plan_from_json(plan_json)
    posterior = StoredResult(read_fit_file(path, experiment_id, chosen))
    posterior.observed  # noqa: B018 -- load (and checksum) the fit now, so a missing file fails before rendering
    data_keys = [k for k in stored_round_keys(path, experiment_id) if k <= chosen]
    observed = round_summary(path, experiment_id)
    observed = observed[observed["round_key"].isin(data_keys)].reset_index(drop=True)
    return StoredRound(
        store_path=path, experiment_id=experiment_id, round_key=chosen, round_keys=tuple(upto), posterior=posterior,
        plan=plan, plan_json=plan_json, decisions=_decisions(path, experiment_id, upto), observed=observed,
        scores=_scores(path, experiment_id, upto),
        true_effects=_true_effects(path, experiment_id, data_keys, posterior), lineage=_lineage(path, experiment_id,
                                                                                                   chosen))


__all__ = ["HOW_TO_STORE", "StoredRound", "check_store", "gather", "planned_round_keys"]
