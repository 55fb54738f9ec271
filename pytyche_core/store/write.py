"""Writing one experiment round: observed visitors (and, in simulation, truth) in one transaction.

The round's rows in every store table are deleted and re-inserted together:
a failure anywhere rolls the whole round back to its previous content.
Everything that can be checked without the database is checked first, so
bad input writes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..contracts.data import ObservedExperimentData
from ..contracts.errors import AlignmentViolation, ContractViolation
from ..contracts.truth import CalibrationTruth
from ..validation import validate_observed_data
from .connection import Target, open_connection, transaction
from .identifiers import quote_identifier
from .layout import (
    check_column_names,
    delete_layout,
    describe_frame,
    layout_frame,
    merge_layouts,
    read_layouts,
    visitor_role,
)
from .lineage import Lineage
from .partition import prepare_partitions, write_prepared
from .rows import delete_partition, insert_frame
from .schema import (
    ARM_INDEX,
    COLUMNS_TABLE,
    ROUNDS_TABLE,
    ROW_INDEX,
    TRUTH_ROUNDS_TABLE,
    TRUTH_VISITORS_TABLE,
    VISITORS_TABLE,
    ensure_columns,
    ensure_schema,
    table_exists,
)
from .truth_table import latent_clusters, truth_round_frame, truth_visitor_frame


def check_truth_matches(truth: CalibrationTruth, observed: ObservedExperimentData) -> None:
    """The truth covers exactly the observed visitors, arms and metric."""
    if not isinstance(truth, CalibrationTruth):
        raise ContractViolation(f"truth must be a CalibrationTruth or None, got {type(truth).__name__}. "
                                "Fix: pass the truth the simulator returned, or nothing.")
    if truth.n_visitors != observed.n_visitors:
        raise AlignmentViolation(f"truth covers {truth.n_visitors} visitors, experiment "
                                 f"{observed.experiment_id!r} has {observed.n_visitors}. Fix: pass the "
                                 "truth aligned with this round's concatenated visitor rows.")
    if truth.n_arms != observed.n_arms:
        raise AlignmentViolation(f"truth has {truth.n_arms} arms, experiment {observed.experiment_id!r} "
                                 f"has {observed.n_arms}. Fix: pass the truth of this round.")
    if truth.metric_id != observed.metric:
        raise AlignmentViolation(f"truth is for metric {truth.metric_id!r}, experiment "
                                 f"{observed.experiment_id!r} for {observed.metric!r}. Fix: pair data "
                                 "of one metric.")
    latent_clusters(truth)


def _rounds_frame(observed: ObservedExperimentData) -> pd.DataFrame:
    return pd.DataFrame({
        "metric": [observed.metric],
        "arm_names": [list(observed.arm_names)],
        "n_visitors": pd.array([observed.n_visitors], dtype="int64"),
        "n_visitors_per_arm": [[v.n_visitors for v in observed.variants]],
    })


_NEW_IDS = "_pytyche_round_visitor_ids"


def check_against_experiment(con, observed: ObservedExperimentData, round_key: str,
                             specs: list) -> None:
    """Refuse a round that does not belong with the experiment's other stored rounds.

    Its metric and control arm must be the experiment's (treatments may come
    and go: loading takes the union of arms), its feature columns the same,
    and none of its visitor ids may appear in another round (a visitor is
    observed once). Left unchecked, any of these writes fine and
    then the experiment can no longer be loaded or fitted.
    """
    if not table_exists(con, ROUNDS_TABLE):
        return
    where = f"experiment {observed.experiment_id!r}, round {round_key!r}"
    others = con.execute(f"SELECT round_key, metric, arm_names FROM {quote_identifier(ROUNDS_TABLE)} "
                         "WHERE experiment_id = ? AND round_key <> ? ORDER BY round_key",
                         [observed.experiment_id, round_key]).fetchall()
    if not others:
        return
    first_key, metric, arms = others[0]
    if metric != observed.metric or arms[0] != observed.control_name:
        raise ContractViolation(f"{where}: metric {observed.metric!r} with control {observed.control_name!r}, but "
                                f"round {first_key!r} of this experiment has {metric!r} with control {arms[0]!r}. "
                                "Fix: a changed design is a new experiment: write it under a new experiment id.")
    layouts = read_layouts(con, VISITORS_TABLE, observed.experiment_id, [first_key])
    stored = {s.name for s in layouts.get(first_key, []) if s.role == "feature"}
    features = {s.name for s in specs if s.role == "feature"}
    if layouts and stored != features:
        raise ContractViolation(f"{where}: feature columns differ from round {first_key!r} "
                                f"(only here: {sorted(features - stored)}, only there: {sorted(stored - features)}). "
                                "Fix: record the same features every round, or start a new experiment id.")
    ids = pd.DataFrame({"visitor_id": observed.visitors()["visitor_id"].astype(str).to_numpy()})
    con.register(_NEW_IDS, ids)
    try:
        repeated = con.execute(
            f"SELECT v.visitor_id, v.round_key FROM {quote_identifier(VISITORS_TABLE)} v "
            f"JOIN {quote_identifier(_NEW_IDS)} n ON v.visitor_id = n.visitor_id "
            "WHERE v.experiment_id = ? AND v.round_key <> ? LIMIT 3",
            [observed.experiment_id, round_key]).fetchall()
    finally:
        con.unregister(_NEW_IDS)
    if repeated:
        shown = ", ".join(f"{vid!r} (round {key!r})" for vid, key in repeated)
        raise ContractViolation(f"{where}: visitor ids already stored in another round of this experiment: "
                                f"{shown}. Fix: give each round's visitors their own ids (a visitor is "
                                "observed once), or rewrite that round instead.")


def write_round(target: Target, observed: ObservedExperimentData, *, round_key: str, run_id: str,
                code_version: str, truth: CalibrationTruth | None = None,
                extra_tables: Mapping[str, pd.DataFrame] | None = None) -> dict[str, int]:
    """Store one round of ``observed`` (and its ``truth``), replacing that round's previous rows.

    ``target`` is a DuckDB file path (created if missing) or an open
    connection (left open). The round is ``(observed.experiment_id,
    round_key)``; ``run_id`` and ``code_version`` are stamped on every row.
    Rows of ``visitors`` keep the concatenated order (control first) in
    ``row_index``; ``truth`` must be aligned with that order. Writing again
    with the same key replaces the round, truth included (a rewrite without
    truth leaves the round with none).

    ``extra_tables`` (``{table: frame}``) are partition tables written in
    the same transaction, as ``replace_partitions`` would (a pipeline's
    round results): the round lands whole or not at all.

    Raises ``SchemaViolation`` / ``AlignmentViolation`` before touching the
    database when the input breaks a contract. Returns rows written per table.
    """
    validate_observed_data(observed)
    if truth is not None:
        check_truth_matches(truth, observed)
    lineage = Lineage.now(observed.experiment_id, round_key, run_id, code_version)
    where = f"experiment {observed.experiment_id!r}, round {round_key!r}"
    columns = list(observed.variants[0].visitors.columns)
    check_column_names(columns, where=where, allowed_store_columns=("experiment_id",))
    specs = merge_layouts({v.name: describe_frame(v.visitors[columns], role_of=visitor_role, where=where)
                           for v in observed.variants}, what="arm", where=where)

    visitors = observed.visitors()[columns].assign(**{
        ARM_INDEX: observed.arm_index().astype(np.int32),
        ROW_INDEX: np.arange(observed.n_visitors, dtype=np.int64)})
    frames = {ROUNDS_TABLE: _rounds_frame(observed), VISITORS_TABLE: visitors,
              COLUMNS_TABLE: layout_frame(specs, VISITORS_TABLE)}
    if truth is not None:
        frames[TRUTH_ROUNDS_TABLE] = truth_round_frame(truth)
        frames[TRUTH_VISITORS_TABLE] = truth_visitor_frame(truth, visitors["visitor_id"])

    extra = prepare_partitions(extra_tables or {}, observed.experiment_id, round_key)
    with open_connection(target, read_only=False) as con, transaction(con):
        ensure_schema(con)
        check_against_experiment(con, observed, round_key, specs)
        ensure_columns(con, VISITORS_TABLE, [s for s in specs if s.role != "schema"], owner=where)
        for table in (ROUNDS_TABLE, VISITORS_TABLE, TRUTH_ROUNDS_TABLE, TRUTH_VISITORS_TABLE):
            delete_partition(con, table, lineage)
        delete_layout(con, VISITORS_TABLE, lineage)
        written = {table: insert_frame(con, table, frame, lineage) for table, frame in frames.items()}
        written.update(write_prepared(con, extra, lineage))
        return written
