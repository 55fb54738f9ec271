"""Segment rules: canonical order, catch-all, and clause semantics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytyche_core.contracts import (
    BetweenRule,
    ComparisonRule,
    ContractViolation,
    EqRule,
    InRule,
    SegmentRule,
    apply_rule,
)

VISITORS = pd.DataFrame({
    "age": [20.0, 35.0, 50.0, np.nan],
    "device": pd.Categorical(["mobile", "desktop", "tablet", "mobile"]),
    "country": ["DE", "FR", "DE", None],
    "returning": [True, False, True, False],
})


def test_catch_all_selects_everyone():
    rule = SegmentRule("all")
    assert rule.is_catch_all
    assert apply_rule(rule, VISITORS).tolist() == [True] * 4


def test_clause_semantics():
    assert apply_rule(SegmentRule("", (ComparisonRule("age", "gt", 35),)), VISITORS).tolist() == [False, False, True, False]
    assert apply_rule(SegmentRule("", (ComparisonRule("age", "gte", 35),)), VISITORS).tolist() == [False, True, True, False]
    assert apply_rule(SegmentRule("", (BetweenRule("age", 20, 35),)), VISITORS).tolist() == [True, True, False, False]
    assert apply_rule(SegmentRule("", (EqRule("device", "mobile"),)), VISITORS).tolist() == [True, False, False, True]
    assert apply_rule(SegmentRule("", (InRule("country", ("FR", "DE")),)), VISITORS).tolist() == [True, True, True, False]
    assert apply_rule(SegmentRule("", (ComparisonRule("returning", "gt", 0.5),)), VISITORS).tolist() == [True, False, True, False]
    both = SegmentRule("", (EqRule("device", "mobile"), ComparisonRule("age", "lt", 30)))
    assert apply_rule(both, VISITORS).tolist() == [True, False, False, False]


clauses = st.one_of(
    st.builds(EqRule, st.sampled_from(["device", "country"]), st.sampled_from(["mobile", "DE", "x"])),
    st.builds(InRule, st.sampled_from(["device", "country"]),
              st.lists(st.sampled_from(["mobile", "DE", "FR", "tablet"]), min_size=1, max_size=3).map(tuple)),
    st.builds(ComparisonRule, st.just("age"), st.sampled_from(["gt", "gte", "lt", "lte"]),
              st.floats(0, 60, allow_nan=False)),
    st.builds(BetweenRule, st.just("age"), st.floats(0, 30, allow_nan=False), st.floats(30, 60, allow_nan=False)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(clauses, max_size=4), st.randoms())
def test_order_of_clauses_does_not_matter(items, random):
    shuffled = list(items)
    random.shuffle(shuffled)
    a, b = SegmentRule("r", tuple(items)), SegmentRule("r", tuple(shuffled))
    assert a == b and hash(a) == hash(b)
    assert [c.feature for c in a.clauses] == sorted(c.feature for c in a.clauses)
    assert (apply_rule(a, VISITORS) == apply_rule(b, VISITORS)).all()


def test_in_rule_values_are_canonical():
    assert InRule("device", ("tablet", "mobile", "mobile")).values == ("mobile", "tablet")


@pytest.mark.parametrize("build", [
    lambda: EqRule("propensity", "x"),
    lambda: ComparisonRule("propensity_2", "gt", 0.1),
    lambda: InRule("cell", ("explore",)),
    lambda: EqRule("variant", "control"),
    lambda: ComparisonRule("revenue", "gt", 1.0),
    lambda: ComparisonRule("age", "between", 1.0),
    lambda: ComparisonRule("age", "gt", float("nan")),
    lambda: BetweenRule("age", 5.0, 1.0),
    lambda: InRule("device", ()),
    lambda: InRule("device", "mobile"),
    lambda: SegmentRule("x", (("age", ">", 3),)),
])
def test_bad_clauses_fail_closed(build):
    with pytest.raises(ContractViolation, match="Fix"):
        build()


def test_apply_rule_errors_name_the_fix():
    with pytest.raises(KeyError, match="income"):
        apply_rule(SegmentRule("", (ComparisonRule("income", "gt", 1.0),)), VISITORS)
    with pytest.raises(TypeError, match="EqRule"):
        apply_rule(SegmentRule("", (ComparisonRule("country", "gt", 1.0),)), VISITORS)
    with pytest.raises(TypeError, match="ComparisonRule"):
        apply_rule(SegmentRule("", (EqRule("age", "20"),)), VISITORS)
