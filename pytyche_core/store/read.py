"""Reading experiments back: observed data from any source, truth from the store.

``load_experiment`` returns ``ObservedExperimentData`` from the store, a user
table, a Parquet file or a CSV file. Visitors are grouped by arm, control
first; within an arm, rounds come in ascending round-key order and each
round's rows in the order they were written. ``read_round_truth`` returns the
``CalibrationTruth`` aligned with exactly that row order.
"""

from __future__ import annotations

import json

import duckdb
import numpy as np
import pandas as pd

from ..contracts._checks import non_empty_str
from ..contracts.data import ObservedExperimentData, VariantData
from ..contracts.errors import AlignmentViolation, SchemaViolation
from ..contracts.schema import VISITOR_SCHEMA, is_reserved_propensity_column, metric_family
from ..contracts.truth import CalibrationTruth
from .arm_union import with_merged_propensities
from .catalog import (
    RoundRecord,
    check_round_keys,
    experiment_metric,
    known_experiment_ids,
    merged_arm_names,
    read_round_records,
    unknown_experiment,
)
from .coerce import as_string, coerce_visitor_frame
from .connection import Target
from .dtypes import ColumnSpec, restore_column
from .errors import ExperimentNotFoundError, RoundNotFoundError
from .identifiers import quote_identifier, quote_list
from .layout import merge_layouts, read_layouts
from .schema import (
    ARM_INDEX,
    ROUNDS_TABLE,
    ROW_INDEX,
    STORE_COLUMNS,
    TRUTH_ROUNDS_TABLE,
    TRUTH_VISITORS_TABLE,
    VISITORS_TABLE,
    table_exists,
)
from .sources import Relation, classify_source, database, raw_relation
from .truth_table import ARM_VALUES, truth_from_arrays

#: Metric assumed for raw sources, which do not record one.
DEFAULT_METRIC = "revenue_per_visitor"

_VISITORS = quote_identifier(VISITORS_TABLE)
# Alignment order: arm (control first), round key, row within the round.
_ALIGNED_ORDER = "list_position(?::VARCHAR[], variant), round_key, row_index"
_IN_ROUNDS = "experiment_id = ? AND list_contains(?::VARCHAR[], round_key)"


def _split_by_arm(frame: pd.DataFrame, arms: tuple[str, ...]) -> list[VariantData]:
    """Cut a frame sorted by arm into one ``VariantData`` per arm (empty arms included)."""
    codes = pd.Categorical(frame["variant"], categories=list(arms)).codes
    bounds = np.searchsorted(codes, np.arange(len(arms) + 1), side="left")
    return [VariantData.from_visitors(arm, frame.iloc[bounds[i]:bounds[i + 1]].reset_index(drop=True))
            for i, arm in enumerate(arms)]


# -- our store ---------------------------------------------------------------------------


def _load_stored(con: duckdb.DuckDBPyConnection, experiment_id: str, round_keys: list[str] | None,
                 control: str | None, metric: str | None, where: str) -> ObservedExperimentData:
    records = read_round_records(con, experiment_id, round_keys, where=where)
    stored_metric = experiment_metric(records, experiment_id)
    if metric is not None and metric != stored_metric:
        raise SchemaViolation(f"experiment {experiment_id!r} is stored with metric {stored_metric!r}, "
                              f"not {metric!r}. Fix: omit metric= for stored experiments.")
    arms = merged_arm_names(records, experiment_id)
    if control is not None and control != arms[0]:
        raise SchemaViolation(f"experiment {experiment_id!r} is stored with control {arms[0]!r}, not "
                              f"{control!r}. Fix: omit control= for stored experiments.")
    keys = [r.round_key for r in records]
    layouts = read_layouts(con, VISITORS_TABLE, experiment_id, keys)
    missing = [k for k in keys if k not in layouts]
    if missing:
        raise SchemaViolation(f"experiment {experiment_id!r}: rounds {missing} have no column layout "
                              "in experiment_columns. Fix: rewrite them with write_round.")
    where = f"experiment {experiment_id!r}"
    if len({r.arm_names for r in records}) == 1:
        specs = merge_layouts(layouts, what="round", where=where)
        names = [s.name for s in specs]
        frame = con.execute(f"SELECT {quote_list(names)} FROM {_VISITORS} WHERE {_IN_ROUNDS} "
                            f"ORDER BY {_ALIGNED_ORDER}", [experiment_id, keys, list(arms)]).df()
        frame.columns = names
        frame = pd.DataFrame({s.name: restore_column(frame[s.name], s) for s in specs})
    else:
        frame = _rounds_with_different_arms(con, experiment_id, records, layouts, arms, where)
    return ObservedExperimentData(experiment_id=experiment_id, metric=stored_metric,
                                  variants=_split_by_arm(frame, arms))


def _rounds_with_different_arms(con: duckdb.DuckDBPyConnection, experiment_id: str,
                                records: list[RoundRecord], layouts: dict[str, list[ColumnSpec]],
                                arms: tuple[str, ...], where: str) -> pd.DataFrame:
    """Read round by round, rewrite each round's propensities over ``arms``, sort by arm."""
    recorded = {key: any(is_reserved_propensity_column(s.name) for s in layout)
                for key, layout in layouts.items()}
    if len(set(recorded.values())) > 1:
        raise SchemaViolation(f"{where}: rounds {sorted(k for k, v in recorded.items() if v)} record "
                              f"propensities, rounds {sorted(k for k, v in recorded.items() if not v)} do "
                              "not. Fix: load rounds that agree (rounds=[...]).")
    plain = merge_layouts({key: [s for s in layout if not is_reserved_propensity_column(s.name)]
                           for key, layout in layouts.items()}, what="round", where=where)
    merged = {s.name: s for s in plain}
    frames = []
    for record in records:
        own = layouts[record.round_key]
        names = [s.name for s in own]
        frame = con.execute(f"SELECT {quote_list(names)} FROM {_VISITORS} WHERE experiment_id = ? "
                            "AND round_key = ? ORDER BY row_index", [experiment_id, record.round_key]).df()
        frame.columns = names
        frame = pd.DataFrame({s.name: restore_column(frame[s.name], merged.get(s.name, s)) for s in own})
        frames.append(with_merged_propensities(frame, record.arm_names, arms))
    frame = pd.concat(frames, ignore_index=True)
    # Rounds are in key order and rows in written order: a stable sort by arm gives the alignment order.
    codes = pd.Categorical(frame["variant"], categories=list(arms)).codes
    return frame.iloc[np.argsort(codes, kind="stable")].reset_index(drop=True)


# -- raw rows: files and user tables -----------------------------------------------------


def _select_raw(rel: Relation, experiment_id: str, round_keys: list[str] | None,
                where: str) -> pd.DataFrame:
    columns = rel.columns()
    missing = [c for c in VISITOR_SCHEMA if c not in columns]
    if missing:
        raise SchemaViolation(f"{where}, column {missing[0]!r}: required column missing (all missing: "
                              f"{missing}). Fix: add the columns of VISITOR_SCHEMA: {list(VISITOR_SCHEMA)}.")
    condition, params = "CAST(experiment_id AS VARCHAR) = ?", [experiment_id]
    if round_keys is not None:
        if "round_key" not in columns:
            raise SchemaViolation(f"{where} has no 'round_key' column, so rounds= cannot select rounds. "
                                  "Fix: omit rounds=, or add a round_key column.")
        condition += " AND list_contains(?::VARCHAR[], CAST(round_key AS VARCHAR))"
        params.append(round_keys)
    # Lineage other than round_key / row_index (kept for row order) is never data.
    dropped = [c for c in STORE_COLUMNS if c in columns and c not in ("experiment_id", "round_key", ROW_INDEX)]
    exclude = f" EXCLUDE ({quote_list(dropped)})" if dropped else ""
    frame = rel.con.execute(f"SELECT *{exclude} FROM {rel.sql} WHERE {condition}",
                            rel.params + params).df()
    if frame.empty:
        found = rel.con.execute(f"SELECT count(*) FROM {rel.sql} WHERE CAST(experiment_id AS VARCHAR) = ?",
                                rel.params + [experiment_id]).fetchone()[0]
        if not found:
            raise unknown_experiment(experiment_id, known_experiment_ids(rel.con, rel.sql, rel.params), where)
    if round_keys is not None:
        present = set(frame["round_key"].astype(str))
        absent = [k for k in round_keys if k not in present]
        if absent:
            raise RoundNotFoundError(f"experiment {experiment_id!r} has no rows for round(s) {absent} "
                                     f"in {where}. Fix: pass round keys present in the round_key column.")
    return frame


def _arm_order(variants: pd.Series, control: str | None, where: str) -> tuple[str, ...]:
    names = sorted(set(variants))
    if control is None:
        if "control" not in names:
            raise SchemaViolation(f"{where}: no variant is named 'control' (variants: {names}). "
                                  "Fix: pass control='<name of the control variant>'.")
        control = "control"
    elif control not in names:
        raise SchemaViolation(f"{where}: control {control!r} is not a variant (variants: {names}). "
                              "Fix: pass one of the variant names as control=.")
    return (control, *[n for n in names if n != control])


def _load_raw(rel: Relation, experiment_id: str, round_keys: list[str] | None, control: str | None,
              metric: str | None, where: str) -> ObservedExperimentData:
    frame = _select_raw(rel, experiment_id, round_keys, where)
    frame["variant"] = as_string(frame["variant"], "<any>", "variant", frame)
    if frame["variant"].isna().any():
        bad = frame["variant"].isna().to_numpy()
        raise SchemaViolation(f"{where}, column 'variant': missing value at row {int(np.flatnonzero(bad)[0])}"
                              ". Fix: name the arm of every visitor.")
    arms = _arm_order(frame["variant"], control, where)
    # Keep rounds and written row order where the rows carry them; file order otherwise.
    keys = [pd.Categorical(frame["variant"], categories=list(arms)).codes]
    if "round_key" in frame.columns:
        keys.append(frame["round_key"].astype(str))
    if ROW_INDEX in frame.columns:
        keys.append(frame[ROW_INDEX])
    keys.append(np.arange(len(frame)))  # ties keep file order
    order = pd.DataFrame({f"k{i}": k for i, k in enumerate(keys)}).sort_values(
        [f"k{i}" for i in range(len(keys))]).index
    # A file may hold several experiments with different columns: a column with no value
    # for this experiment belongs to another one. Required columns stay (and fail below).
    empty = [c for c in frame.columns if c not in VISITOR_SCHEMA and frame[c].isna().all()]
    frame = frame.loc[order].drop(columns=[c for c in (*STORE_COLUMNS, *empty) if c != "experiment_id"
                                           and c in frame.columns]).reset_index(drop=True)
    variants = []
    for arm in arms:
        rows = frame[frame["variant"] == arm].reset_index(drop=True)
        variants.append(VariantData.from_visitors(arm, coerce_visitor_frame(rows, arm)))
    return ObservedExperimentData(experiment_id=experiment_id, metric=metric or DEFAULT_METRIC,
                                  variants=variants)


# -- public ------------------------------------------------------------------------------


def _is_store_read(con: duckdb.DuckDBPyConnection, table: str | None) -> bool:
    if table is None:
        return True
    return table.lower() == VISITORS_TABLE and table_exists(con, ROUNDS_TABLE)


def load_experiment(source: Target, experiment_id: str, *, rounds: list[str] | None = None,
                    control: str | None = None, table: str | None = None,
                    metric: str | None = None) -> ObservedExperimentData:
    """Load one experiment's observed visitors, control first.

    ``source``: a DuckDB database file or open connection (the store's
    ``visitors`` table, or a user table of ``VISITOR_SCHEMA`` rows named by
    ``table``), a Parquet file or a CSV file (by extension). ``rounds``
    selects round keys (default: all; the rounds are concatenated, which is
    the cumulative data a fit uses); a raw source needs a ``round_key``
    column for that. ``control`` names the control variant of a raw source
    (default: the variant named "control"); treatments follow in sorted
    order, or as stored in ``rounds`` for the store. ``metric`` applies to
    raw sources (default "revenue_per_visitor"); the store records its own.

    Returned frames hold ``VISITOR_SCHEMA`` + feature + reserved columns (no
    lineage, no arm index), features in their written dtypes. Raises
    ``FileNotFoundError`` for a missing path, ``ExperimentNotFoundError`` /
    ``RoundNotFoundError`` for unknown keys, ``SchemaViolation`` for
    missing or mistyped columns and any broken row invariant.
    """
    non_empty_str("load_experiment", "experiment_id", experiment_id)
    round_keys = check_round_keys(rounds)
    if metric is not None:
        metric_family(metric)
    src = classify_source(source)
    if src.is_database:
        with database(src) as con:
            if _is_store_read(con, table):
                return _load_stored(con, experiment_id, round_keys, control, metric, src.label)
            if not table_exists(con, table):
                tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() "
                                                    "ORDER BY 1 LIMIT 10").fetchall()]
                raise ExperimentNotFoundError(f"{src.label} has no table {table!r} (tables: {tables}). "
                                              "Fix: pass the name of a table of visitor rows.")
    elif table is not None:
        raise ValueError(f"table={table!r} applies to DuckDB sources only; {src.label} is a "
                         f"{src.kind.value} file. Fix: omit table=.")
    where = src.label if table is None else f"table {table!r} of {src.label}"
    with raw_relation(src, table) as rel:
        return _load_raw(rel, experiment_id, round_keys, control, metric, where)


def _truth_rounds(con: duckdb.DuckDBPyConnection, experiment_id: str, records: list[RoundRecord],
                  where: str) -> tuple[float, dict[str, float]]:
    """Visitor-weighted effect and components over the rounds (exact for one round)."""
    keys = [r.round_key for r in records]
    rows = []
    if table_exists(con, TRUTH_ROUNDS_TABLE):
        rows = con.execute(f"SELECT round_key, n_visitors, effect, effect_components FROM "
                           f"{quote_identifier(TRUTH_ROUNDS_TABLE)} WHERE {_IN_ROUNDS} ORDER BY round_key",
                           [experiment_id, keys]).fetchall()
    without = sorted(set(keys) - {r[0] for r in rows})
    if without:
        raise RoundNotFoundError(f"experiment {experiment_id!r}: round(s) {without} in {where} were "
                                 "written without truth. Fix: pass round_keys of rounds written with "
                                 "truth=, or rewrite those rounds with their truth.")
    weights = np.array([float(r[1]) for r in rows])
    effects = np.array([float(r[2]) for r in rows])
    components = [json.loads(r[3]) for r in rows]
    if any(set(c) != set(components[0]) for c in components):
        raise SchemaViolation(f"experiment {experiment_id!r}: rounds record different effect "
                              "components. Fix: read those rounds one at a time.")
    if len(rows) == 1:
        return float(effects[0]), {k: float(v) for k, v in components[0].items()}
    average = {k: float(np.average([c[k] for c in components], weights=weights)) for k in components[0]}
    return float(np.average(effects, weights=weights)), average


def read_round_truth(source: Target, experiment_id: str,
                     round_keys: list[str] | None = None) -> CalibrationTruth:
    """The stored truth of an experiment's rounds, aligned with ``load_experiment``'s rows.

    ``source`` is a store file or an open connection; ``round_keys`` as
    ``rounds=`` of ``load_experiment`` (default: every round, each of which
    must have been written with truth). All rounds must share their arms.
    Per-visitor arrays follow the concatenated row order of
    ``load_experiment(source, experiment_id, rounds=round_keys)``; over
    several rounds ``effect`` and its components are visitor-weighted means.
    """
    non_empty_str("read_round_truth", "experiment_id", experiment_id)
    keys = check_round_keys(round_keys)
    src = classify_source(source)
    if not src.is_database:
        raise ValueError(f"read_round_truth reads a pytyche DuckDB store; {src.label} is a "
                         f"{src.kind.value} file. Fix: pass the store written by write_round.")
    with database(src) as con:
        records = read_round_records(con, experiment_id, keys, where=src.label)
        arms = records[0].arm_names
        changed = [r.round_key for r in records if r.arm_names != arms]
        if changed:
            raise SchemaViolation(f"experiment {experiment_id!r}: rounds {changed} have other arms than "
                                  f"{arms}. Fix: read the truth of rounds that share their arms.")
        metric = experiment_metric(records, experiment_id)
        effect, components = _truth_rounds(con, experiment_id, records, src.label)
        selected = [r.round_key for r in records]
        long = con.execute(
            f"WITH aligned AS (SELECT round_key, row_index, visitor_id, "
            f"row_number() OVER (ORDER BY {_ALIGNED_ORDER}) - 1 AS position "
            f"FROM {_VISITORS} WHERE {_IN_ROUNDS}) "
            f"SELECT a.position, t.{ARM_INDEX}, t.visitor_id = a.visitor_id AS same_visitor, "
            f"{', '.join(f't.{c}' for c in (*ARM_VALUES, 'latent_cluster'))} "
            f"FROM {quote_identifier(TRUTH_VISITORS_TABLE)} t JOIN aligned a USING (round_key, row_index) "
            f"WHERE t.{_IN_ROUNDS}",
            [list(arms), experiment_id, selected, experiment_id, selected]).df()
    n, k = sum(r.n_visitors for r in records), len(arms)
    position = long["position"].to_numpy(dtype=np.int64)
    arm = long[ARM_INDEX].to_numpy(dtype=np.int64)
    cells = np.bincount(position * k + arm, minlength=n * k) if len(long) else np.zeros(n * k, int)
    if len(cells) != n * k or not (cells == 1).all() or not long["same_visitor"].all():
        raise AlignmentViolation(f"experiment {experiment_id!r}: truth_visitors does not hold exactly one "
                                 f"row per visitor and arm of rounds {selected}. Fix: rewrite those "
                                 "rounds with write_round.")
    wide = {}
    for name in (*ARM_VALUES, "latent_cluster"):
        values = np.full((n, k), np.nan)
        values[position, arm] = long[name].to_numpy(dtype="float64", na_value=np.nan)
        wide[name] = values
    cluster = wide.pop("latent_cluster")[:, 0]
    if np.isnan(cluster).all():
        latent = None
    elif np.isnan(cluster).any():
        raise AlignmentViolation(f"experiment {experiment_id!r}: some rounds of {selected} record latent "
                                 "clusters and some do not. Fix: read them one at a time.")
    else:
        latent = cluster.astype(np.int64)
    return truth_from_arrays(metric=metric, effect=effect, effect_components=components, wide=wide,
                             latent_cluster=latent)


def stored_round_keys(source: Target, experiment_id: str) -> list[str]:
    """The round keys stored for ``experiment_id`` in a store database, ascending."""
    non_empty_str("stored_round_keys", "experiment_id", experiment_id)
    src = classify_source(source)
    if not src.is_database:
        raise ValueError(f"stored_round_keys: {src.label} is not a DuckDB store. Fix: pass the store's "
                         "database file (e.g. data/pytyche.duckdb).")
    with database(src) as con:
        return [r.round_key for r in read_round_records(con, experiment_id, None, where=src.label)]
