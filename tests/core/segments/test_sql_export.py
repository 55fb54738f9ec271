"""SQL export: DuckDB selects exactly the rows ``apply_rule`` selects."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytyche_core.contracts import (
    BetweenRule,
    ComparisonRule,
    EqRule,
    InRule,
    SegmentRule,
    apply_rule,
)
from pytyche_core.segments import rule_to_sql, rule_to_sql_parameters
from pytyche_core.segments.sql import float_literal, quote_identifier, quote_string
from tests.core.segments.strategies import CATEGORIES, ROW, Visitors, rules, visitors


def _selected(con: duckdb.DuckDBPyConnection, table: str, where: str, params=None) -> list[int]:
    sql = f'SELECT "{ROW}" FROM "{table}" WHERE {where} ORDER BY 1'
    return [row[0] for row in con.execute(sql, params or []).fetchall()]


def _expected(rule: SegmentRule, frame: pd.DataFrame) -> list[int]:
    return frame[ROW].to_numpy()[apply_rule(rule, frame)].tolist()


@pytest.fixture(scope="module")
def con():
    # One connection for all examples: opening one costs more than a query.
    with duckdb.connect() as connection:
        yield connection


@settings(max_examples=150, deadline=None)
@given(rule=rules, data=visitors())
def test_duckdb_selects_the_rows_apply_rule_selects(con, rule: SegmentRule, data: Visitors):
    expected = _expected(rule, data.frame)
    inline = rule_to_sql(rule)
    template, params = rule_to_sql_parameters(rule)
    # pandas registration turns NaN into NULL; the arrow table keeps real NaN.
    con.register("from_pandas", data.frame)
    con.register("from_arrow", data.arrow)
    for table in ("from_pandas", "from_arrow"):
        assert _selected(con, table, inline) == expected, (table, inline)
        assert _selected(con, table, template, params) == expected, (table, template)


def _one_column(values: list, dtype: str | None = None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    frame = pd.DataFrame({"x": pd.Series(values, dtype=dtype), ROW: np.arange(len(values))})
    con.register("t", frame)
    return con


def test_catch_all_is_true_and_selects_everyone():
    rule = SegmentRule("everyone")
    assert rule_to_sql(rule) == "TRUE"
    assert rule_to_sql_parameters(rule) == ("TRUE", [])
    assert _selected(_one_column([None, 1.0]), "t", "TRUE") == [0, 1]


def test_rendering_of_each_clause_kind():
    assert (rule_to_sql(SegmentRule("", (EqRule("device", "mobile"),)))
            == "CAST(\"device\" AS VARCHAR) = 'mobile'")
    assert (rule_to_sql(SegmentRule("", (InRule("device", ("b", "a")),)))
            == "CAST(\"device\" AS VARCHAR) IN ('a', 'b')")
    assert (rule_to_sql(SegmentRule("", (ComparisonRule("age", "lte", 30),)))
            == 'CAST("age" AS DOUBLE PRECISION) <= 30.0E0')
    # gt / gte are negated so that NaN (ordered above every number) fails them.
    assert (rule_to_sql(SegmentRule("", (ComparisonRule("age", "gt", 30),)))
            == '-CAST("age" AS DOUBLE PRECISION) < -30.0E0')
    assert (rule_to_sql(SegmentRule("", (BetweenRule("age", -1, 2.5),)))
            == 'CAST("age" AS DOUBLE PRECISION) BETWEEN -1.0E0 AND 2.5E0')
    two = SegmentRule("", (EqRule("device", "mobile"), ComparisonRule("age", "lt", 1e-5)))
    assert rule_to_sql(two, table_alias='v"1') == (
        '(CAST("v""1"."age" AS DOUBLE PRECISION) < 1E-5 AND CAST("v""1"."device" AS VARCHAR) = \'mobile\')')
    assert rule_to_sql_parameters(two) == (
        '(CAST("age" AS DOUBLE PRECISION) < ? AND CAST("device" AS VARCHAR) = ?)', [1e-5, "mobile"])


def test_quoting():
    assert quote_identifier('we"ird') == '"we""ird"'
    assert quote_string("it's") == "'it''s'"
    assert quote_string("back\\slash -- ; é") == "'back\\slash -- ; é'"


@pytest.mark.parametrize("value", CATEGORIES)
def test_every_category_literal_reads_back_exactly(value: str):
    con = duckdb.connect()
    assert con.execute(f"SELECT {quote_string(value)}").fetchone()[0] == value


def test_injection_attempt_is_just_a_category():
    evil = "x'; DROP TABLE t; --"
    con = _one_column([evil, "x", None], dtype="str")
    rule = SegmentRule("", (EqRule('x', evil),))
    assert _selected(con, "t", rule_to_sql(rule)) == [0]
    sql, params = rule_to_sql_parameters(rule)
    assert _selected(con, "t", sql, params) == [0]
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == 3


def test_identifier_with_quotes_selects_its_column():
    con = duckdb.connect()
    con.register("t", pd.DataFrame({'a "b"': [1.0, 5.0], ROW: [0, 1]}))
    rule = SegmentRule("", (ComparisonRule('a "b"', "gt", 2.0),))
    assert _selected(con, "t", rule_to_sql(rule)) == [1]


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_literals_are_exact(value: float):
    literal = float_literal(value)
    assert float(literal) == value
    assert duckdb.execute(f"SELECT typeof({literal}), {literal}").fetchone() == ("DOUBLE", value)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_threshold_is_rejected(value: float):
    with pytest.raises(ValueError, match="finite"):
        float_literal(value)


def _nan_table() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    x = pa.array([1.0, math.nan, None, math.inf, -math.inf], type=pa.float64())
    con.register("t", pa.table({"x": x, ROW: pa.array(range(5))}))
    return con


@pytest.mark.parametrize(("clause", "rows"), [
    (ComparisonRule("x", "gt", 0.0), [0, 3]),
    (ComparisonRule("x", "gte", 1.0), [0, 3]),
    (ComparisonRule("x", "lt", 2.0), [0, 4]),
    (ComparisonRule("x", "lte", 1.0), [0, 4]),
    (BetweenRule("x", 0.0, 2.0), [0]),
])
def test_nan_and_null_never_satisfy_a_clause(clause, rows):
    rule = SegmentRule("", (clause,))
    con = _nan_table()
    frame = pd.DataFrame({"x": [1.0, math.nan, math.nan, math.inf, -math.inf]})
    assert np.flatnonzero(apply_rule(rule, frame)).tolist() == rows
    assert _selected(con, "t", rule_to_sql(rule)) == rows
    sql, params = rule_to_sql_parameters(rule)
    assert _selected(con, "t", sql, params) == rows


def test_plain_comparison_would_select_nan_in_duckdb():
    # Why gt / gte are negated: DuckDB orders NaN above every number.
    assert _selected(_nan_table(), "t", '"x" > 0.0E0') == [0, 1, 3]


@pytest.mark.parametrize("dtype", ["bool", "boolean"])
def test_bool_columns_compare_as_numbers(dtype: str):
    values = [True, False, True] if dtype == "bool" else [True, None, False]
    con = _one_column(values, dtype=dtype)
    frame = pd.DataFrame({"x": pd.Series(values, dtype=dtype)})
    for clause in (ComparisonRule("x", "gt", 0.5), ComparisonRule("x", "lte", 0.0),
                   BetweenRule("x", 1.0, 1.0)):
        rule = SegmentRule("", (clause,))
        expected = np.flatnonzero(apply_rule(rule, frame)).tolist()
        assert _selected(con, "t", rule_to_sql(rule)) == expected


@pytest.mark.parametrize("column", [
    pd.Categorical(["a", "b", None]),         # DuckDB ENUM
    pd.Categorical([None, None, None]),       # no categories: DuckDB types it DOUBLE
    pd.Series([None, None, None], dtype=object),
])
def test_categorical_clauses_compare_as_text_whatever_the_column_type(column):
    con = duckdb.connect()
    frame = pd.DataFrame({"c": column, ROW: [0, 1, 2]})
    con.register("t", frame)
    for clause in (EqRule("c", "a"), InRule("c", ("a", "zz"))):
        rule = SegmentRule("", (clause,))
        expected = np.flatnonzero(apply_rule(rule, frame)).tolist()
        assert _selected(con, "t", rule_to_sql(rule)) == expected
        sql, params = rule_to_sql_parameters(rule)
        assert _selected(con, "t", sql, params) == expected


def test_not_of_the_expression_is_the_complement_without_missing_values():
    con = duckdb.connect()
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "c": ["x", "y", "x"], ROW: [0, 1, 2]})
    con.register("t", frame)
    rule = SegmentRule("", (ComparisonRule("a", "gte", 2.0), EqRule("c", "x")))
    assert _selected(con, "t", rule_to_sql(rule)) == [2]
    assert _selected(con, "t", f"NOT {rule_to_sql(rule)}") == [0, 1]


@pytest.mark.parametrize("text", ["a\x00b", "\ud800"])
def test_text_sql_cannot_carry_is_refused(text: str):
    for rule in (SegmentRule("", (EqRule("c", text),)), SegmentRule("", (EqRule(text, "v"),))):
        with pytest.raises(ValueError, match="Fix"):
            rule_to_sql(rule)
        with pytest.raises(ValueError, match="Fix"):
            rule_to_sql_parameters(rule)


def test_bad_arguments():
    with pytest.raises(TypeError, match="SegmentRule"):
        rule_to_sql("age > 3")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="table_alias"):
        rule_to_sql(SegmentRule(""), table_alias="")
