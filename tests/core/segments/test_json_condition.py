"""JSON targeting conditions: exact round trip and clear errors."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings

from pytyche_core.contracts import (
    BetweenRule,
    ComparisonRule,
    ContractViolation,
    EqRule,
    InRule,
    SegmentRule,
)
from pytyche_core.segments import rule_from_json, rule_to_json
from tests.core.segments.strategies import rules


def test_layout():
    rule = SegmentRule("young mobile", (InRule("device", ("tablet", "mobile")),
                                        ComparisonRule("age", "lt", 30)))
    assert rule_to_json(rule) == {
        "version": 1,
        "description": "young mobile",
        "all": [
            {"feature": "age", "op": "lt", "value": 30.0},
            {"feature": "device", "op": "in", "values": ["mobile", "tablet"]},
        ],
    }
    assert rule_to_json(SegmentRule("everyone")) == {"version": 1, "description": "everyone", "all": []}


@settings(max_examples=150, deadline=None)
@given(rules)
def test_round_trip_through_json_text(rule: SegmentRule):
    payload = rule_to_json(rule)
    assert rule_from_json(payload) == rule
    assert rule_from_json(json.loads(json.dumps(payload))) == rule


def test_optional_fields_and_any_clause_order():
    payload = {"all": [{"feature": "b", "op": "between", "low": 1, "high": 2},
                       {"feature": "a", "op": "eq", "value": "x"},
                       {"feature": "a", "op": "gte", "value": 0}]}
    assert rule_from_json(payload) == SegmentRule("", (
        EqRule("a", "x"), ComparisonRule("a", "gte", 0.0), BetweenRule("b", 1.0, 2.0)))


def _with(clause: dict) -> dict:
    return {"description": "d", "all": [{"feature": "ok", "op": "eq", "value": "x"}, clause]}


@pytest.mark.parametrize(("payload", "field"), [
    ('{"all": []}', "payload"),
    ({"description": "d"}, "all"),
    ({"all": {"feature": "a"}}, "all"),
    ({"all": [], "clauses": []}, "payload"),
    ({"all": [], "version": 2}, "version"),
    ({"all": [], "version": True}, "version"),
    ({"all": [], "description": 3}, "description"),
    (_with("age > 3"), "all[1]"),
    (_with({"feature": "age", "op": "ge", "value": 3}), "all[1].op"),
    (_with({"op": "gt", "value": 3}), "all[1].feature"),
    (_with({"feature": 7, "op": "gt", "value": 3}), "all[1].feature"),
    (_with({"feature": "age", "op": "gt", "threshold": 3}), "all[1]"),
    (_with({"feature": "age", "op": "gt"}), "all[1].value"),
    (_with({"feature": "age", "op": "gt", "value": "3"}), "all[1].value"),
    (_with({"feature": "age", "op": "gt", "value": True}), "all[1].value"),
    (_with({"feature": "age", "op": "gt", "value": float("nan")}), "all[1].value"),
    (_with({"feature": "age", "op": "lt", "value": float("inf")}), "all[1].value"),
    (_with({"feature": "age", "op": "lt", "value": 10**400}), "all[1].value"),
    (_with({"feature": "d", "op": "eq", "value": 3}), "all[1].value"),
    (_with({"feature": "d", "op": "in", "values": "mobile"}), "all[1].values"),
    (_with({"feature": "d", "op": "in", "values": ["a", 1]}), "all[1].values[1]"),
    (_with({"feature": "d", "op": "in", "values": []}), "all[1]"),
    (_with({"feature": "x", "op": "between", "low": 2, "high": 1}), "all[1]"),
    (_with({"feature": "x", "op": "between", "low": 1}), "all[1].high"),
    (_with({"feature": "cell", "op": "eq", "value": "explore"}), "all[1]"),
    (_with({"feature": " ", "op": "eq", "value": "x"}), "all[1]"),
])
def test_malformed_payload_names_the_field_and_the_fix(payload, field: str):
    with pytest.raises(ValueError) as info:
        rule_from_json(payload)
    assert isinstance(info.value, ContractViolation)
    message = str(info.value)
    assert message.startswith(f"rule_from_json: {field}:"), message
    assert "Fix:" in message


def test_to_json_needs_a_rule():
    with pytest.raises(TypeError, match="SegmentRule"):
        rule_to_json({"all": []})  # type: ignore[arg-type]
