"""The DuckDB store: round trips, cumulative reads, replacement, atomicity, fail-closed
writes, raw sources (Parquet, CSV, user tables) and SQL safety.

Fixtures are built by hand (K = 2 hurdle, K = 2 binary, K = 3 hurdle) so these
tests do not depend on the simulator.
"""

from __future__ import annotations

import hashlib

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pytyche_core as pt
from pytyche_core.contracts import (
    AlignedVisitorArray,
    AlignmentViolation,
    CalibrationTruth,
    ObservedExperimentData,
    SchemaViolation,
    VariantData,
    metric_family,
)
from pytyche_core.store import (
    ExperimentNotFoundError,
    RoundNotFoundError,
    load_experiment,
    quote_identifier,
    read_partition,
    read_round_truth,
    replace_partition,
    write_round,
)
from pytyche_core.store import write as write_module

LINEAGE = {"run_id": "run-1", "code_version": "v0"}
STORE_TABLES = ("rounds", "visitors", "experiment_columns", "truth_rounds", "truth_visitors")


# -- fixtures built by hand ----------------------------------------------------------------


def arm_frame(experiment_id: str, arm: str, arm_index: int, n_arms: int, n: int, rng, *,
              prefix: str, features: str = "full") -> pd.DataFrame:
    """One arm's visitors: schema columns, features and the reserved design columns."""
    converted = rng.random(n) < 0.4
    revenue = np.where(converted, np.round(rng.lognormal(3.0, 0.5, n), 2), 0.0)
    frame = pd.DataFrame({
        "visitor_id": pd.Series([f"{prefix}{arm}-{i}" for i in range(n)], dtype="str"),
        "experiment_id": pd.Series([experiment_id] * n, dtype="str"),
        "variant": pd.Series([arm] * n, dtype="str"),
        "converted": converted,
        "revenue": revenue,
        "orders_count": converted.astype("int64"),
        "sessions_count": rng.integers(1, 5, n).astype("int64"),
    })
    if features == "full":
        frame["age"] = rng.normal(40, 10, n)
        frame["device"] = pd.Categorical(rng.choice(["mobile", "desktop", "tablet"], n),
                                         categories=["mobile", "desktop", "tablet"])
        frame["is_member"] = rng.random(n) < 0.5
        frame["past_orders"] = rng.integers(0, 10, n).astype("int64")
        frame["weight32"] = rng.random(n).astype("float32")
        frame["city"] = pd.Series(rng.choice(["Oslo", "Lima"], n), dtype="str")
    elif features == "other":
        frame["tenure_days"] = rng.integers(0, 900, n).astype("int64")
        frame["channel"] = pd.Categorical(rng.choice(["ads", "seo"], n), categories=["seo", "ads"],
                                          ordered=True)
    if n_arms == 2:
        frame["propensity"] = 0.5
    else:
        for k in range(1, n_arms):
            frame[f"propensity_{k}"] = 1.0 / n_arms
    frame["cell"] = pd.Series(["explore"] * n, dtype="str")
    return frame


def make_observed(experiment_id: str = "exp-1", *, arms=("control", "treat"), n=(6, 5),
                  metric: str = "revenue_per_visitor", seed: int = 0, prefix: str = "r1-",
                  features: str = "full") -> ObservedExperimentData:
    rng = np.random.default_rng(seed)
    variants = [VariantData.from_visitors(arm, arm_frame(experiment_id, arm, i, len(arms), size, rng,
                                                         prefix=prefix, features=features))
                for i, (arm, size) in enumerate(zip(arms, n, strict=True))]
    return ObservedExperimentData(experiment_id=experiment_id, metric=metric, variants=variants)


def aligned(values) -> AlignedVisitorArray:
    return AlignedVisitorArray(values=np.asarray(values), n_visitors=len(values))


def make_truth(observed: ObservedExperimentData, *, seed: int = 1, n: int | None = None,
               latent: bool = True) -> CalibrationTruth:
    """A truth of the observed shape: K = 2 paired fields or K >= 3 lists; hurdle or binary."""
    rng = np.random.default_rng(seed)
    n = observed.n_visitors if n is None else n
    k = observed.n_arms
    family = metric_family(observed.metric)
    p = rng.uniform(0.01, 0.2, (n, k))
    m = rng.uniform(20.0, 80.0, (n, k))
    hurdle = family is pt.MetricFamily.HURDLE_REAL
    cluster = aligned(rng.integers(0, 3, n)) if latent else None
    common = {"effect": 1.25, "metric_id": observed.metric, "metric_family": family,
              "effect_components": {"conversion": 0.75, "order_value": 0.5},
              "latent_cluster_per_visitor": cluster}
    if k == 2:
        if hurdle:
            conv = (p[:, 1] - p[:, 0]) * m[:, 0]
            aov = p[:, 1] * (m[:, 1] - m[:, 0])
            return CalibrationTruth(**common, cate_per_visitor=aligned(conv + aov),
                                    conv_cate_per_visitor=aligned(conv), aov_cate_per_visitor=aligned(aov),
                                    p0_per_visitor=aligned(p[:, 0]), p1_per_visitor=aligned(p[:, 1]),
                                    m0_per_visitor=aligned(m[:, 0]), m1_per_visitor=aligned(m[:, 1]))
        return CalibrationTruth(**common, cate_per_visitor=aligned(p[:, 1] - p[:, 0]),
                                p0_per_visitor=aligned(p[:, 0]), p1_per_visitor=aligned(p[:, 1]))
    value = p * m if hurdle else p
    return CalibrationTruth(
        **common, cate_per_visitor=None,
        contrast_cate_per_visitor=[aligned(value[:, j] - value[:, 0]) for j in range(1, k)],
        p_per_visitor=[aligned(p[:, j]) for j in range(k)],
        m_per_visitor=[aligned(m[:, j]) for j in range(k)] if hurdle else None)


def assert_observed_equal(got: ObservedExperimentData, want: ObservedExperimentData) -> None:
    assert got.experiment_id == want.experiment_id
    assert got.metric == want.metric
    assert got.arm_names == want.arm_names
    for g, w in zip(got.variants, want.variants, strict=True):
        pd.testing.assert_frame_equal(g.visitors, w.visitors.reset_index(drop=True))


def assert_truth_equal(got: CalibrationTruth, want: CalibrationTruth) -> None:
    assert got.metric_id == want.metric_id and got.n_arms == want.n_arms
    assert got.effect == pytest.approx(want.effect)
    assert dict(got.effect_components) == pytest.approx(dict(want.effect_components))
    np.testing.assert_array_equal(got.contrasts(), want.contrasts())
    for method in ("conversion_probabilities", "order_values"):
        a, b = getattr(got, method)(), getattr(want, method)()
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
    a, b = got.decomposition(), want.decomposition()
    assert (a is None) == (b is None)
    if a is not None:
        np.testing.assert_allclose(a[0], b[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(a[1], b[1], rtol=0, atol=1e-12)
    if want.cate_per_visitor is not None and want.conv_cate_per_visitor is not None:
        np.testing.assert_array_equal(got.conv_cate_per_visitor.values, want.conv_cate_per_visitor.values)
        np.testing.assert_array_equal(got.aov_cate_per_visitor.values, want.aov_cate_per_visitor.values)
    if want.latent_cluster_per_visitor is None:
        assert got.latent_cluster_per_visitor is None
    else:
        np.testing.assert_array_equal(got.latent_cluster_per_visitor.values,
                                      want.latent_cluster_per_visitor.values)


def row_counts(path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        return {t: con.execute(f"SELECT count(*) FROM {quote_identifier(t)}").fetchone()[0]
                for t in STORE_TABLES if t in present}


def file_digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store.duckdb"


# -- identifiers -------------------------------------------------------------------------


def test_quote_identifier_doubles_quotes_and_rejects_bad_names():
    assert quote_identifier("plain") == '"plain"'
    assert quote_identifier('a"b') == '"a""b"'
    for bad in ("", "a\x00b"):
        with pytest.raises(ValueError):
            quote_identifier(bad)
    with pytest.raises(TypeError):
        quote_identifier(3)


@pytest.fixture(scope="module")
def memory_db():
    with duckdb.connect() as con:
        yield con


@settings(max_examples=30, deadline=None)
@given(name=st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)),
                    min_size=1, max_size=20))
def test_quoted_identifier_names_exactly_that_column(memory_db, name):
    con = memory_db
    con.execute("DROP TABLE IF EXISTS t")
    con.execute(f"CREATE TABLE t ({quote_identifier(name)} BIGINT)")
    con.execute(f"INSERT INTO t ({quote_identifier(name)}) VALUES (?)", [7])
    assert con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 't'").fetchone()[0] == name
    assert con.execute(f"SELECT {quote_identifier(name)} FROM t").fetchone()[0] == 7


# -- round trips ---------------------------------------------------------------------------


def test_observed_round_trip_keeps_frames_dtypes_and_order(store):
    observed = make_observed()
    counts = write_round(store, observed, round_key="2026-01-05", **LINEAGE)
    assert counts["visitors"] == observed.n_visitors
    loaded = load_experiment(store, "exp-1")
    assert_observed_equal(loaded, observed)
    assert isinstance(loaded.variants[0].visitors["device"].dtype, pd.CategoricalDtype)
    assert loaded.variants[0].visitors["weight32"].dtype == np.float32
    assert loaded.feature_names == observed.feature_names
    assert pt.load_experiment is load_experiment


def test_every_row_carries_lineage(store):
    observed = make_observed()
    write_round(store, observed, round_key="2026-01-05", truth=make_truth(observed), **LINEAGE)
    with duckdb.connect(str(store), read_only=True) as con:
        for table in STORE_TABLES:
            rows = con.execute(f"SELECT DISTINCT experiment_id, round_key, run_id, code_version, "
                               f"written_at IS NOT NULL FROM {table}").fetchall()
            assert rows == [("exp-1", "2026-01-05", "run-1", "v0", True)], table


@pytest.mark.parametrize(("arms", "n", "metric"), [
    (("control", "treat"), (6, 5), "revenue_per_visitor"),
    (("control", "treat"), (4, 7), "conversion_rate"),
    (("control", "b", "a"), (5, 4, 6), "revenue_per_visitor"),
    (("control", "b", "a"), (3, 4, 2), "conversion_rate"),
])
def test_truth_round_trip(store, arms, n, metric):
    observed = make_observed(arms=arms, n=n, metric=metric)
    truth = make_truth(observed)
    write_round(store, observed, round_key="r1", truth=truth, **LINEAGE)
    assert_observed_equal(load_experiment(store, "exp-1"), observed)
    assert_truth_equal(read_round_truth(store, "exp-1"), truth)


def test_truth_without_latent_cluster_round_trips(store):
    observed = make_observed()
    truth = make_truth(observed, latent=False)
    write_round(store, observed, round_key="r1", truth=truth, **LINEAGE)
    assert read_round_truth(store, "exp-1").latent_cluster_per_visitor is None


def test_two_rounds_load_cumulatively_with_aligned_truth(store):
    first = make_observed(arms=("control", "b", "a"), n=(4, 3, 5), seed=1, prefix="r1-")
    second = make_observed(arms=("control", "b", "a"), n=(2, 6, 3), seed=2, prefix="r2-")
    truths = {"2026-01-05": make_truth(first, seed=3), "2026-01-12": make_truth(second, seed=4)}
    # Written out of order on purpose: reads order rounds by key.
    write_round(store, second, round_key="2026-01-12", truth=truths["2026-01-12"], **LINEAGE)
    write_round(store, first, round_key="2026-01-05", truth=truths["2026-01-05"], **LINEAGE)

    both = load_experiment(store, "exp-1")
    assert both.arm_names == ("control", "b", "a")
    for arm, a, b in zip(both.variants, first.variants, second.variants, strict=True):
        expected = pd.concat([a.visitors, b.visitors], ignore_index=True)
        pd.testing.assert_frame_equal(arm.visitors, expected)
    assert_observed_equal(load_experiment(store, "exp-1", rounds=["2026-01-12"]), second)

    # Cumulative truth: each visitor's row equals that visitor's row in its own round's truth.
    truth = read_round_truth(store, "exp-1")
    assert truth.n_visitors == both.n_visitors
    by_visitor = {}
    for observed, t in ((first, truths["2026-01-05"]), (second, truths["2026-01-12"])):
        for i, vid in enumerate(observed.visitors()["visitor_id"]):
            by_visitor[vid] = (t.contrasts()[i], t.conversion_probabilities()[i], t.order_values()[i])
    for i, vid in enumerate(both.visitors()["visitor_id"]):
        contrast, p, m = by_visitor[vid]
        np.testing.assert_array_equal(truth.contrasts()[i], contrast)
        np.testing.assert_array_equal(truth.conversion_probabilities()[i], p)
        np.testing.assert_array_equal(truth.order_values()[i], m)
    one = read_round_truth(store, "exp-1", ["2026-01-12"])
    assert_truth_equal(one, truths["2026-01-12"])


def test_rewriting_a_round_replaces_it(store):
    write_round(store, make_observed(n=(8, 8), seed=1), round_key="r1",
                truth=make_truth(make_observed(n=(8, 8), seed=1)), **LINEAGE)
    write_round(store, make_observed(n=(3, 3), seed=9, prefix="r2-"), round_key="r2", **LINEAGE)
    replacement = make_observed(n=(2, 4), seed=5)
    write_round(store, replacement, round_key="r1", run_id="run-2", code_version="v1")
    assert row_counts(store) == {"rounds": 2, "visitors": 12, "experiment_columns": 2 * 15,
                                 "truth_rounds": 0, "truth_visitors": 0}
    assert_observed_equal(load_experiment(store, "exp-1", rounds=["r1"]), replacement)
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT DISTINCT run_id FROM visitors WHERE round_key = 'r1'").fetchall() == [("run-2",)]
    with pytest.raises(RoundNotFoundError, match="without truth"):
        read_round_truth(store, "exp-1", ["r1"])


# -- atomicity and fail-closed writes --------------------------------------------------------


def test_failure_midway_leaves_the_previous_round(store, monkeypatch):
    first = make_observed(seed=1)
    first_truth = make_truth(first)
    write_round(store, first, round_key="r1", truth=first_truth, **LINEAGE)
    before = row_counts(store)

    real_insert = write_module.insert_frame

    def failing_insert(con, table, frame, lineage):
        if table == "truth_visitors":  # visitors and truth_rounds are already in
            raise RuntimeError("disk full")
        return real_insert(con, table, frame, lineage)

    monkeypatch.setattr(write_module, "insert_frame", failing_insert)
    second = make_observed(n=(3, 9), seed=2, features="other")  # new columns too
    with pytest.raises(RuntimeError, match="disk full"):
        write_round(store, second, round_key="r1", truth=make_truth(second), run_id="run-2",
                    code_version="v1")
    monkeypatch.undo()

    assert row_counts(store) == before
    assert_observed_equal(load_experiment(store, "exp-1"), first)
    assert_truth_equal(read_round_truth(store, "exp-1"), first_truth)
    with duckdb.connect(str(store), read_only=True) as con:
        columns = {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() "
                                             "WHERE table_name = 'visitors'").fetchall()}
        assert "tenure_days" not in columns  # the ALTER TABLE rolled back too
        assert con.execute("SELECT count(*) FROM visitors WHERE run_id = 'run-2'").fetchone()[0] == 0


def _nan_revenue(obs):
    obs.variants[1].visitors.loc[0, "revenue"] = np.nan


def _negative_revenue(obs):
    obs.variants[0].visitors.loc[1, "revenue"] = -5.0


def _duplicate_ids(obs):
    obs.variants[1].visitors.loc[0, "visitor_id"] = obs.variants[0].visitors.loc[0, "visitor_id"]


def _missing_column(obs):
    del obs.variants[0].visitors["sessions_count"]


def _mistyped_column(obs):
    obs.variants[1].visitors["revenue"] = obs.variants[1].visitors["revenue"].astype(str)


@pytest.mark.parametrize("break_it", [_nan_revenue, _negative_revenue, _duplicate_ids, _missing_column,
                                      _mistyped_column])
def test_bad_observed_data_writes_nothing(store, break_it):
    write_round(store, make_observed(seed=1), round_key="r1", **LINEAGE)
    digest, before = file_digest(store), row_counts(store)
    bad = make_observed(seed=2)
    break_it(bad)
    with pytest.raises(SchemaViolation):
        write_round(store, bad, round_key="r1", **LINEAGE)
    assert file_digest(store) == digest
    assert row_counts(store) == before


def test_bad_truth_writes_nothing(store):
    observed = make_observed()
    write_round(store, observed, round_key="r1", **LINEAGE)
    digest = file_digest(store)
    with pytest.raises(AlignmentViolation, match="visitors"):
        write_round(store, observed, round_key="r1", truth=make_truth(observed, n=observed.n_visitors - 1),
                    **LINEAGE)
    other_metric = make_observed(metric="conversion_rate")
    with pytest.raises(AlignmentViolation, match="metric"):
        write_round(store, observed, round_key="r1", truth=make_truth(other_metric), **LINEAGE)
    three = make_observed(arms=("control", "a", "b"), n=(4, 4, 3))
    with pytest.raises(AlignmentViolation, match="arms"):
        write_round(store, observed, round_key="r1", truth=make_truth(three), **LINEAGE)
    assert file_digest(store) == digest


def test_type_conflict_between_experiments_is_clear_and_writes_nothing(store):
    write_round(store, make_observed("exp-a"), round_key="r1", **LINEAGE)
    before = row_counts(store)
    clash = make_observed("exp-b", features="none")
    for v in clash.variants:
        v.visitors["age"] = pd.Series(["old"] * v.n_visitors, dtype="str")
    with pytest.raises(SchemaViolation, match=r"'age'.*VARCHAR.*DOUBLE.*rename"):
        write_round(store, clash, round_key="r1", **LINEAGE)
    assert row_counts(store) == before
    with pytest.raises(ExperimentNotFoundError):
        load_experiment(store, "exp-b")


def test_feature_named_like_a_store_column_is_rejected(store):
    observed = make_observed(features="none")
    for v in observed.variants:
        v.visitors["run_id"] = 1.0
    with pytest.raises(SchemaViolation, match="run_id"):
        write_round(store, observed, round_key="r1", **LINEAGE)
    assert not store.exists()


def test_experiments_with_different_features_read_only_their_own(store):
    a = make_observed("exp-a", features="full")
    b = make_observed("exp-b", features="other", seed=3)
    write_round(store, a, round_key="r1", **LINEAGE)
    write_round(store, b, round_key="r1", **LINEAGE)
    assert_observed_equal(load_experiment(store, "exp-a"), a)
    got = load_experiment(store, "exp-b")
    assert_observed_equal(got, b)
    assert got.variants[0].visitors["channel"].dtype.ordered


def test_categories_differing_between_arms_are_merged(store):
    observed = make_observed(features="none")
    observed.variants[0].visitors["tier"] = pd.Categorical(["gold"] * 6, categories=["gold"])
    observed.variants[1].visitors["tier"] = pd.Categorical(["silver"] * 5, categories=["silver", "gold"])
    write_round(store, observed, round_key="r1", **LINEAGE)
    got = load_experiment(store, "exp-1")
    for variant, want in zip(got.variants, observed.variants, strict=True):
        assert list(variant.visitors["tier"].cat.categories) == ["gold", "silver"]
        assert variant.visitors["tier"].astype(str).tolist() == want.visitors["tier"].astype(str).tolist()


# -- SQL safety ------------------------------------------------------------------------------


def test_quotes_in_names_and_values_survive(store):
    experiment = "o'brien's \"test\"; DROP TABLE visitors; --"
    observed = make_observed(experiment, arms=("ctl'", 'tr"1'), features="none")
    for v in observed.variants:
        v.visitors['odd "name"'] = np.arange(v.n_visitors, dtype="float64")
        v.visitors["x'); DROP TABLE rounds; --"] = pd.Series(["it's"] * v.n_visitors, dtype="str")
    write_round(store, observed, round_key="week's 1", run_id="run 'a'", code_version='v"1"')
    loaded = load_experiment(store, experiment)
    assert_observed_equal(loaded, observed)
    assert set(row_counts(store)) == set(STORE_TABLES)


# -- raw sources -----------------------------------------------------------------------------


def test_load_from_parquet_matches_the_store(tmp_path):
    observed = make_observed(arms=("control", "b", "a"), n=(4, 3, 5))
    path = tmp_path / "visits.parquet"
    frame = observed.visitors().sample(frac=1.0, random_state=0)  # file order is irrelevant to arms
    pd.concat([frame, make_observed("other", seed=4).visitors()]).to_parquet(path, index=False)
    loaded = load_experiment(path, "exp-1")
    assert loaded.arm_names == ("control", "a", "b")  # treatments sorted
    for arm in loaded.arm_names:
        got = loaded.variants[loaded.arm_names.index(arm)].visitors
        want = observed.variants[observed.arm_names.index(arm)].visitors
        want = want.set_index("visitor_id").loc[got["visitor_id"]].reset_index()
        # Raw files keep values, not pandas dtypes: the categorical comes back as text.
        pd.testing.assert_frame_equal(got, want[got.columns].astype({"device": "str"}), check_dtype=False)


def test_load_from_csv_with_benign_differences(tmp_path):
    observed = make_observed(arms=("base", "promo"), n=(4, 3), features="none")
    frame = observed.visitors()
    frame["visitor_id"] = np.arange(100, 100 + len(frame))  # integer ids in the file
    frame["converted"] = frame["converted"].astype(int)  # 0/1 booleans
    frame["orders_count"] = frame["orders_count"].astype(float)  # integral floats
    path = tmp_path / "visits.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(SchemaViolation, match="control="):
        load_experiment(path, "exp-1")
    loaded = load_experiment(path, "exp-1", control="base", metric="revenue_per_visitor")
    assert loaded.arm_names == ("base", "promo")
    got = loaded.visitors()
    assert got["visitor_id"].tolist() == [str(i) for i in range(100, 107)]
    assert got["converted"].dtype == bool and got["orders_count"].dtype == np.int64
    np.testing.assert_allclose(got["revenue"], observed.visitors()["revenue"])
    np.testing.assert_allclose(got["propensity"], 0.5)


def test_csv_with_text_revenue_names_variant_column_row_and_fix(tmp_path):
    frame = make_observed(features="none").visitors()
    frame["revenue"] = frame["revenue"].astype(object)
    frame.loc[7, "revenue"] = "twelve"  # the 2nd visitor of 'treat'
    path = tmp_path / "visits.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(SchemaViolation) as err:
        load_experiment(path, "exp-1")
    message = str(err.value)
    for part in ("'treat'", "'revenue'", "row 1", "r1-treat-1", "twelve", "Fix"):
        assert part in message


def test_raw_source_missing_a_required_column(tmp_path):
    path = tmp_path / "visits.parquet"
    make_observed().visitors().drop(columns="converted").to_parquet(path)
    with pytest.raises(SchemaViolation, match="'converted'.*missing"):
        load_experiment(path, "exp-1")


def test_user_table_in_a_duckdb_file(tmp_path):
    observed = make_observed("shop's test", features="none")
    path = tmp_path / "warehouse.duckdb"
    frame = observed.visitors()
    with duckdb.connect(str(path)) as con:
        con.register("incoming", frame)
        con.execute('CREATE TABLE "raw ""visits""" AS SELECT * FROM incoming')
    loaded = load_experiment(path, "shop's test", table='raw "visits"')
    assert_observed_equal(loaded, observed)
    with pytest.raises(ExperimentNotFoundError, match="no table"):
        load_experiment(path, "shop's test", table="nope")
    with pytest.raises(ExperimentNotFoundError, match="no pytyche store"):
        load_experiment(path, "shop's test")


def test_exported_store_rows_load_without_lineage(store, tmp_path):
    first = make_observed(seed=1, prefix="r1-")
    second = make_observed(seed=2, prefix="r2-")
    write_round(store, first, round_key="r1", **LINEAGE)
    write_round(store, second, round_key="r2", **LINEAGE)
    path = tmp_path / "export.parquet"
    with duckdb.connect(str(store), read_only=True) as con:
        # Scrambled on purpose: round_key and row_index restore the order.
        pq.write_table(con.sql("SELECT * FROM visitors ORDER BY random()").to_arrow_table(), path)
    loaded = load_experiment(path, "exp-1", rounds=["r2"])
    assert list(loaded.variants[0].visitors.columns) == list(second.variants[0].visitors.columns)
    got = load_experiment(path, "exp-1").visitors()["visitor_id"].tolist()
    assert got == load_experiment(store, "exp-1").visitors()["visitor_id"].tolist()


# -- lookups and connections ------------------------------------------------------------------


def test_unknown_experiment_lists_known_ids(store, tmp_path):
    write_round(store, make_observed("exp-a"), round_key="r1", **LINEAGE)
    with pytest.raises(ExperimentNotFoundError, match="'exp-a'"):
        load_experiment(store, "exp-z")
    with pytest.raises(RoundNotFoundError, match="r9"):
        load_experiment(store, "exp-a", rounds=["r9"])
    path = tmp_path / "v.parquet"
    make_observed("exp-a").visitors().to_parquet(path)
    with pytest.raises(ExperimentNotFoundError, match="'exp-a'"):
        load_experiment(path, "exp-z")


def test_missing_path_is_named(tmp_path):
    missing = tmp_path / "nowhere.duckdb"
    with pytest.raises(FileNotFoundError, match="nowhere.duckdb"):
        load_experiment(missing, "exp-1")
    with pytest.raises(FileNotFoundError, match="nowhere.duckdb"):
        read_round_truth(missing, "exp-1")
    assert not missing.exists()


def test_readers_open_read_only_once_the_writer_is_gone(store):
    observed = make_observed()
    write_round(store, observed, round_key="r1", **LINEAGE)
    digest = file_digest(store)
    with duckdb.connect(str(store), read_only=True) as reader:
        assert_observed_equal(load_experiment(reader, "exp-1"), observed)
        assert_observed_equal(load_experiment(store, "exp-1"), observed)  # a second reader
        with pytest.raises(duckdb.Error):
            reader.execute("DELETE FROM visitors")
    assert file_digest(store) == digest


def test_open_connection_is_left_open(tmp_path):
    observed = make_observed()
    with duckdb.connect(str(tmp_path / "s.duckdb")) as con:
        write_round(con, observed, round_key="r1", **LINEAGE)
        assert_observed_equal(load_experiment(con, "exp-1"), observed)
        assert con.execute("SELECT count(*) FROM rounds").fetchone()[0] == 1


# -- generic partitions -----------------------------------------------------------------------


def test_replace_partition_round_trip_and_replacement(store):
    rng = np.random.default_rng(0)
    features = pd.DataFrame({
        "x": rng.normal(size=5), "n": np.arange(5, dtype="int64"), "flag": rng.random(5) < 0.5,
        "seg": pd.Categorical(list("abcab"), categories=["c", "b", "a"]),
        "name": pd.Series(list("vwxyz"), dtype="str"),
    })
    kwargs = {"experiment_id": "exp-1", "run_id": "run-1", "code_version": "v0"}
    assert replace_partition(store, "sim features", features, round_key="r1", **kwargs) == 5
    replace_partition(store, "sim features", features.iloc[:2], round_key="r2", **kwargs)
    pd.testing.assert_frame_equal(read_partition(store, "sim features", "exp-1", "r1"), features)
    smaller = features.iloc[::-1].iloc[:3]
    replace_partition(store, "sim features", smaller, round_key="r1", **kwargs)
    pd.testing.assert_frame_equal(read_partition(store, "sim features", "exp-1", "r1"),
                                  smaller.reset_index(drop=True))
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute('SELECT count(*) FROM "sim features"').fetchone()[0] == 5
    with pytest.raises(SchemaViolation, match="'x'"):
        replace_partition(store, "sim features", features.assign(x="text"), round_key="r3", **kwargs)
    with pytest.raises(RoundNotFoundError):
        read_partition(store, "sim features", "exp-1", "r3")
    with pytest.raises(ValueError, match="write_round"):
        replace_partition(store, "visitors", features, round_key="r1", **kwargs)


# -- arms across rounds and typed SQL ---------------------------------------------------------


def test_stored_columns_are_typed_for_sql_filters(store):
    observed = make_observed(n=(30, 30))
    write_round(store, observed, round_key="r1", **LINEAGE)
    visitors = observed.visitors()
    want = int(((visitors["age"] > 40) & (visitors["device"] == "mobile") & visitors["is_member"]).sum())
    with duckdb.connect(str(store), read_only=True) as con:
        got = con.execute("SELECT count(*) FROM visitors WHERE experiment_id = ? AND age > ? "
                          "AND device = ? AND is_member", ["exp-1", 40, "mobile"]).fetchone()[0]
    assert got == want


def test_a_treatment_dropped_in_a_later_round(store):
    first = make_observed(arms=("control", "a", "b"), n=(3, 3, 3), seed=1, prefix="r1-")
    second = make_observed(arms=("control", "a"), n=(2, 2), seed=2, prefix="r2-")
    write_round(store, first, round_key="r1", truth=make_truth(first), **LINEAGE)
    write_round(store, second, round_key="r2", truth=make_truth(second), **LINEAGE)
    both = load_experiment(store, "exp-1")
    assert both.arm_names == ("control", "a", "b")
    assert [v.n_visitors for v in both.variants] == [5, 5, 3]
    # Round 2 offered no arm 'b': its visitors' P(b) is 0, their P(a) what round 2 recorded.
    r2 = both.variants[1].visitors["visitor_id"].str.startswith("r2-").to_numpy()
    np.testing.assert_allclose(both.variants[1].visitors.loc[r2, ["propensity_1", "propensity_2"]],
                               [[0.5, 0.0]] * 2)
    np.testing.assert_allclose(both.variants[1].visitors.loc[~r2, ["propensity_1", "propensity_2"]],
                               [[1 / 3, 1 / 3]] * 3)
    assert list(both.variants[0].visitors.columns) == list(first.variants[0].visitors.columns)
    with pytest.raises(SchemaViolation, match="arms"):
        read_round_truth(store, "exp-1")
    assert read_round_truth(store, "exp-1", ["r2"]).n_arms == 2


def test_an_empty_arm_round_trips(store):
    observed = make_observed(arms=("control", "a", "b"), n=(4, 0, 3))
    truth = make_truth(observed)
    write_round(store, observed, round_key="r1", truth=truth, **LINEAGE)
    loaded = load_experiment(store, "exp-1")
    assert_observed_equal(loaded, observed)
    assert_truth_equal(read_round_truth(store, "exp-1"), truth)
