"""Observed data for ``pytyche fit``: a CSV or Parquet file, or a DuckDB store, read by ``pt.load_experiment``.

Without ``--experiment-id`` the source must hold exactly one experiment,
which is then used; otherwise the error lists the ones it holds.
"""

from __future__ import annotations

from ..errors import CliFailure


def _experiment_ids(source) -> list[str]:
    """Up to six experiment ids the source holds (the store's rounds, or a file's experiment_id column)."""
    from pytyche_core.contracts.schema import VISITOR_SCHEMA
    from pytyche_core.store import ROUNDS_TABLE
    from pytyche_core.store.catalog import known_experiment_ids
    from pytyche_core.store.schema import table_exists
    from pytyche_core.store.sources import database, raw_relation

    if source.is_database:
        with database(source) as con:
            if not table_exists(con, ROUNDS_TABLE):
                raise CliFailure(f"{source.label} holds no pytyche store (no {ROUNDS_TABLE!r} table). "
                                 "Fix: pass a store written by pytyche (simulate --out x.duckdb, run), "
                                 "or a CSV / Parquet file of visitor rows.")
        table = ROUNDS_TABLE
    else:
        table = None
    with raw_relation(source, table) as rel:
        if "experiment_id" not in rel.columns():
            raise CliFailure(f"{source.label} has no 'experiment_id' column. Fix: add the columns of the "
                             f"visitor schema: {', '.join(VISITOR_SCHEMA)}.")
        return known_experiment_ids(rel.con, rel.sql, rel.params)


def only_experiment(data: str) -> str:
    """The one experiment id in ``data``; ``CliFailure`` naming the choices when there are none or several."""
    from pytyche_core.store.sources import classify_source

    source = classify_source(data)
    ids = _experiment_ids(source)
    if not ids:
        raise CliFailure(f"{source.label} holds no visitor rows. Fix: pass a file or store with data.")
    if len(ids) > 1:
        raise CliFailure(f"{source.label} holds several experiments ({', '.join(ids)}). "
                         "Fix: pass --experiment-id.")
    return ids[0]


def load_observed(data: str, *, experiment_id: str | None, metric: str | None, control: str | None,
                  rounds: tuple[str, ...]):
    """``ObservedExperimentData`` from ``data`` (see the module docstring); library errors pass through."""
    import pytyche_core as pt

    experiment = experiment_id if experiment_id is not None else only_experiment(data)
    return pt.load_experiment(data, experiment, rounds=list(rounds) or None, control=control, metric=metric)


__all__ = ["load_observed", "only_experiment"]
