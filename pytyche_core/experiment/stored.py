"""A round's results as store tables, and the history of earlier rounds rebuilt from the store.

What a pipeline keeps per (experiment, round), every row with its lineage
(written with the round's data in one transaction: ``write_round(..., extra_tables=...)``):

- ``round_plans``: the plan for the next round (its JSON, the cells'
  weights, the decision, the prose);
- ``round_segments``: one row per policy-tree segment: rule (text, JSON and
  SQL), share, GATE and interval, stability, route, allocation, vetoes;
- ``visitor_effects``: per visitor and treatment, the posterior mean and 80%
  interval of the effect (the draws themselves are recomputed from the fit);
- ``round_fits``: the fit's file (written by ``result.save``), its SHA-256
  and size, shapes, device and seconds: the fit is kept without loss;
- ``round_scores``: the truth comparison (simulation only).

``stored_history`` rebuilds the ``Experiment`` records the recommendation
engine reads (plan with routing; the posterior loaded from its file on first
use, after its checksum is verified).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..posterior.results import load_result
from ..segments import rule_to_json, rule_to_sql
from .history import Experiment
from .plan_io import plan_from_json, plan_to_json
from .recommendation import NextRoundPlan
from .round_step import RoundOutcome
from .truth import RoundScore

PLANS_TABLE = "round_plans"
SEGMENTS_TABLE = "round_segments"
EFFECTS_TABLE = "visitor_effects"
FITS_TABLE = "round_fits"
SCORES_TABLE = "round_scores"
ROUND_RESULT_TABLES = (PLANS_TABLE, SEGMENTS_TABLE, EFFECTS_TABLE, FITS_TABLE, SCORES_TABLE)


@dataclasses.dataclass(frozen=True)
class FitFile:
    """Where a fit was saved, and how to check it is the same file."""

    path: str
    sha256: str
    size_bytes: int


def _sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_fit(posterior, directory: str | os.PathLike, experiment_id: str, round_key: str) -> FitFile:
    """Save the round's fit under ``directory/<experiment_id>/<round_key>.npz`` (replacing an earlier one)."""
    folder = Path(directory) / experiment_id
    folder.mkdir(parents=True, exist_ok=True)
    path = posterior.save(folder / f"{round_key}.npz", overwrite=True)
    return FitFile(str(path), _sha256(path), Path(path).stat().st_size)


class StoredResult:
    """A fit read from its file on first use, after checking the file's SHA-256 against the store's."""

    def __init__(self, fit_file: FitFile) -> None:
        self.fit_file = fit_file
        self._result = None

    def _load(self):
        if self._result is None:
            if not Path(self.fit_file.path).exists():
                raise FileNotFoundError(f"the fit file {self.fit_file.path} recorded in the store is missing. Fix: "
                                        "re-materialize that round (its fit is rewritten), or restore the file.")
            if _sha256(self.fit_file.path) != self.fit_file.sha256:
                raise ValueError(f"the fit file {self.fit_file.path} differs from the one the store recorded "
                                 "(SHA-256 mismatch). Fix: re-materialize that round.")
            self._result = load_result(self.fit_file.path)
        return self._result

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._load(), name)


def _effects_frame(posterior) -> pd.DataFrame:
    draws = posterior.cate_samples  # (n, S, K-1)
    mean = draws.mean(axis=1, dtype=np.float64)
    low, high = np.quantile(draws, [0.1, 0.9], axis=1)
    ids = posterior.observed.visitors()["visitor_id"].astype(str).to_numpy()
    frames = [pd.DataFrame({"visitor_id": ids, "treatment": name, "effect_mean": mean[:, j],
                            "effect_low": low[:, j].astype(np.float64), "effect_high": high[:, j].astype(np.float64)})
              for j, name in enumerate(posterior.treatment_names)]
    return pd.concat(frames, ignore_index=True)


def _segments_frame(plan: NextRoundPlan) -> pd.DataFrame:
    routes = {r.segment_id: r for r in plan.routing.routes}
    rows = []
    for s in plan.tree.segments:
        route = routes[s.id]
        rows.append({"segment_id": s.id, "description": s.rule.description or "everyone",
                     "rule_json": json.dumps(rule_to_json(s.rule), sort_keys=True), "rule_sql": rule_to_sql(s.rule),
                     "population_share": s.population_share, "gate_estimate": s.gate_estimate,
                     "gate_low": s.gate_ci[0], "gate_high": s.gate_ci[1], "stability_score": s.stability_score,
                     "route_arm": route.arm, "route_source": route.source,
                     "allocation_json": json.dumps(route.allocation, sort_keys=True),
                     "vetoed_arms": ", ".join(route.vetoed_arms)})
    return pd.DataFrame(rows)


def _plan_frame(plan: NextRoundPlan) -> pd.DataFrame:
    weights = {c.name: c.weight for c in plan.cells}
    return pd.DataFrame([{
        "plan_json": json.dumps(plan_to_json(plan), sort_keys=True),
        "next_round_visitors": -1 if plan.n_visitors is None else plan.n_visitors,
        "decision": plan.decision.decision.value, "best_challenger": plan.decision.treatment,
        "pooled_arm": plan.routing.pooled_arm, "control_weight": weights.get("control", 0.0),
        "explore_weight": weights.get("explore", 0.0), "optimized_weight": weights.get("optimized", 0.0),
        "dropped_treatments": ", ".join(plan.dropped_treatments),
        "graduation_candidates": len(plan.graduation_candidates), "fit_num_trees_tau": plan.fit_num_trees_tau,
        "prose_summary": plan.prose_summary}])


def _fit_frame(outcome: RoundOutcome, fit_file: FitFile) -> pd.DataFrame:
    posterior = outcome.posterior
    seconds = posterior.info.seconds
    return pd.DataFrame([{
        "model": posterior.model, "n_visitors": posterior.observed.n_visitors, "n_draws": posterior.n_draws,
        "arms": ", ".join(posterior.observed.arm_names), "path": fit_file.path, "sha256": fit_file.sha256,
        "size_bytes": fit_file.size_bytes, "device": posterior.info.device, "fit_seconds": outcome.fit_seconds,
        "seconds_json": json.dumps(seconds, sort_keys=True)}])


def round_frames(outcome: RoundOutcome, fit_file: FitFile, score: RoundScore | None) -> dict[str, pd.DataFrame]:
    """The round's result tables (see the module docstring), ready for ``store.replace_partitions``."""
    frames = {PLANS_TABLE: _plan_frame(outcome.plan), SEGMENTS_TABLE: _segments_frame(outcome.plan),
              EFFECTS_TABLE: _effects_frame(outcome.posterior), FITS_TABLE: _fit_frame(outcome, fit_file)}
    if score is not None:
        frames[SCORES_TABLE] = pd.DataFrame([score.as_dict()])
    return frames


LINEAGE_VIEW = "lineage"

_LINEAGE_SQL = """
CREATE OR REPLACE VIEW "lineage" AS
SELECT p."experiment_id", p."round_key",
       p."run_id" AS "plan_run_id", p."code_version" AS "plan_code_version", p."written_at" AS "plan_written_at",
       p."decision", p."pooled_arm", p."next_round_visitors",
       f."run_id" AS "fit_run_id", f."path" AS "fit_path", f."sha256" AS "fit_sha256",
       f."n_visitors" AS "visitors_fitted", f."device", f."fit_seconds",
       r."run_id" AS "data_run_id", r."code_version" AS "data_code_version", r."n_visitors" AS "round_visitors"
FROM "round_plans" p
JOIN "round_fits" f USING ("experiment_id", "round_key")
JOIN "rounds" r USING ("experiment_id", "round_key")
"""


def ensure_lineage_view(target) -> None:
    """(Re)create the ``lineage`` view: each plan beside the fit, the data and the runs that made them.

    The view reads only the fixed tables above; it holds no user data, so its text is a constant.
    """
    from ..store import open_connection

    with open_connection(target, read_only=False) as con:
        con.execute(_LINEAGE_SQL)


def read_plan(source, experiment_id: str, round_key: str) -> NextRoundPlan:
    """The plan stored for (experiment, round); ``RoundNotFoundError`` when that round has none."""
    from ..store import read_partition

    frame = read_partition(source, PLANS_TABLE, experiment_id, round_key)
    return plan_from_json(json.loads(frame["plan_json"].iloc[0]))


def read_fit_file(source, experiment_id: str, round_key: str) -> FitFile:
    from ..store import read_partition

    row = read_partition(source, FITS_TABLE, experiment_id, round_key).iloc[0]
    return FitFile(str(row["path"]), str(row["sha256"]), int(row["size_bytes"]))


def read_score(source, experiment_id: str, round_key: str) -> RoundScore:
    from ..store import read_partition

    row = read_partition(source, SCORES_TABLE, experiment_id, round_key).iloc[0]
    values = {f.name: row[f.name] for f in dataclasses.fields(RoundScore)}
    for name in ("round_index", "n_round", "n_cumulative", "segment_count"):
        values[name] = int(values[name])
    return RoundScore(**{k: (v if isinstance(v, int) else float(v)) for k, v in values.items()})


def stored_history(source, experiment_id: str, round_keys: list[str]) -> list[Experiment]:
    """``Experiment`` records of stored rounds, oldest first: plan (with routing) and a lazily loaded fit.

    Their data fields are None: the engine reads only ``plan`` and ``posterior`` from history.
    """
    out = []
    for index, key in enumerate(round_keys, start=1):
        plan = read_plan(source, experiment_id, key)
        posterior = StoredResult(read_fit_file(source, experiment_id, key))
        out.append(Experiment(index, key, None, None, posterior, None, plan, None, pd.DataFrame()))
    return out


__all__ = ["EFFECTS_TABLE", "FITS_TABLE", "LINEAGE_VIEW", "PLANS_TABLE", "ROUND_RESULT_TABLES", "SCORES_TABLE",
           "SEGMENTS_TABLE", "FitFile", "StoredResult", "ensure_lineage_view", "read_fit_file", "read_plan",
           "read_score", "round_frames", "save_fit", "stored_history"]
