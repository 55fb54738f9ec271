"""Segment rules as JSON targeting conditions, and back.

The condition is a plain dict that ``json.dumps`` accepts::

    {
      "version": 1,
      "description": "young mobile visitors",
      "all": [
        {"feature": "age", "op": "lt", "value": 30.0},
        {"feature": "device", "op": "in", "values": ["mobile", "tablet"]}
      ]
    }

``"all"`` is the AND of its conditions; an empty list is the catch-all. The
condition kinds:

- ``{"feature", "op": "eq", "value": str}``
- ``{"feature", "op": "in", "values": [str, ...]}`` (non-empty)
- ``{"feature", "op": "gt" | "gte" | "lt" | "lte", "value": number}``
- ``{"feature", "op": "between", "low": number, "high": number}`` (inclusive)

Reading is fail-closed: a missing ``"all"`` is an error, not a catch-all
(it would target everyone), and unknown keys are errors (a misspelt key must
not be ignored). ``"version"`` and ``"description"`` may be omitted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pytyche_core.contracts import (
    BetweenRule,
    ComparisonRule,
    ContractViolation,
    EqRule,
    InRule,
    RuleClause,
    SegmentRule,
)

#: The version written by ``rule_to_json`` and the only one read.
JSON_CONDITION_VERSION = 1

_COMPARISONS = ("gt", "gte", "lt", "lte")
_OPS = ("eq", "in", *_COMPARISONS, "between")
_KEYS = {"eq": {"value"}, "in": {"values"}, "between": {"low", "high"},
         **{op: {"value"} for op in _COMPARISONS}}
_TOP_KEYS = {"version", "description", "all"}


def _clause_json(clause: RuleClause) -> dict[str, Any]:
    head: dict[str, Any] = {"feature": clause.feature}
    if isinstance(clause, EqRule):
        return {**head, "op": "eq", "value": clause.value}
    if isinstance(clause, InRule):
        return {**head, "op": "in", "values": list(clause.values)}
    if isinstance(clause, ComparisonRule):
        return {**head, "op": clause.operator, "value": clause.threshold}
    return {**head, "op": "between", "low": clause.low, "high": clause.high}


def rule_to_json(rule: SegmentRule) -> dict[str, Any]:
    """The rule as a JSON-serialisable condition (see the module docstring).

    Input: a ``SegmentRule``. Output: a new ``dict`` with ``version``,
    ``description`` and ``all`` (conditions in the rule's canonical order;
    thresholds as finite floats, so ``json.dumps`` writes them exactly).
    """
    if not isinstance(rule, SegmentRule):
        raise TypeError(f"rule_to_json: expected a SegmentRule, got {type(rule).__name__}. "
                        "Fix: build the rule with SegmentRule(description, clauses).")
    return {
        "version": JSON_CONDITION_VERSION,
        "description": rule.description,
        "all": [_clause_json(c) for c in rule.clauses],
    }


def _bad(field: str, problem: str, fix: str) -> ContractViolation:
    # ContractViolation is a ValueError: callers may catch either.
    return ContractViolation(f"rule_from_json: {field}: {problem}. Fix: {fix}.")


def _number(field: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(field, f"expected a number, got {value!r}", "write a JSON number such as 30.5")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range
        number = math.inf
    if not math.isfinite(number):
        raise _bad(field, f"expected a finite number, got {value!r}", "use a finite threshold")
    return number


def _text(field: str, value: Any) -> str:
    if not isinstance(value, str):
        raise _bad(field, f"expected a string, got {value!r}",
                   "write category values as JSON strings; compare numbers with gt/gte/lt/lte/between")
    return value


def _clause(where: str, item: Any) -> RuleClause:
    if not isinstance(item, Mapping):
        raise _bad(where, f"expected an object, got {item!r}",
                   'write a condition such as {"feature": "age", "op": "gt", "value": 30}')
    op = item.get("op")
    if op not in _KEYS:
        raise _bad(f"{where}.op", f"got {op!r}", f"use one of {list(_OPS)}")
    if "feature" not in item:
        raise _bad(f"{where}.feature", "missing", "name the feature column the condition reads")
    allowed = {"feature", "op"} | _KEYS[op]
    unknown = sorted(set(item) - allowed, key=str)
    if unknown:
        raise _bad(where, f"unknown key(s) {unknown} for op {op!r}",
                   f"use only the keys {sorted(allowed)}")
    missing = sorted(_KEYS[op] - set(item))
    if missing:
        raise _bad(f"{where}.{missing[0]}", "missing", f"op {op!r} needs the keys {sorted(allowed)}")
    feature = item["feature"]
    if not isinstance(feature, str):
        raise _bad(f"{where}.feature", f"expected a string, got {feature!r}", "name the feature column")
    if op == "eq":
        return EqRule(feature, _text(f"{where}.value", item["value"]))
    if op == "in":
        values = item["values"]
        if not isinstance(values, (list, tuple)):
            raise _bad(f"{where}.values", f"expected a list of strings, got {values!r}",
                       'write a JSON array such as ["mobile", "tablet"]')
        return InRule(feature, tuple(_text(f"{where}.values[{i}]", v) for i, v in enumerate(values)))
    if op == "between":
        return BetweenRule(feature, _number(f"{where}.low", item["low"]),
                           _number(f"{where}.high", item["high"]))
    return ComparisonRule(feature, op, _number(f"{where}.value", item["value"]))


def rule_from_json(payload: Mapping[str, Any]) -> SegmentRule:
    """Rebuild a ``SegmentRule`` from a condition written by ``rule_to_json``.

    Input: a mapping (parse JSON text with ``json.loads`` first). Output: the
    ``SegmentRule``; ``rule_from_json(rule_to_json(r)) == r``. Raises
    ``ContractViolation`` (a ``ValueError``) naming the offending field,
    e.g. ``all[1].value``, and the fix.
    """
    if not isinstance(payload, Mapping):
        raise _bad("payload", f"expected a JSON object (dict), got {type(payload).__name__}",
                   "pass a dict; parse JSON text with json.loads first")
    unknown = sorted(set(payload) - _TOP_KEYS, key=str)
    if unknown:
        raise _bad("payload", f"unknown key(s) {unknown}", f"use only the keys {sorted(_TOP_KEYS)}")
    version = payload.get("version", JSON_CONDITION_VERSION)
    if isinstance(version, bool) or version != JSON_CONDITION_VERSION:
        raise _bad("version", f"got {version!r}",
                   f"write version {JSON_CONDITION_VERSION} or upgrade pytyche")
    if "all" not in payload:
        raise _bad("all", "missing (a missing list is not read as the catch-all)",
                   'list the conditions; write "all": [] for a rule that targets everyone')
    items = payload["all"]
    if not isinstance(items, (list, tuple)):
        raise _bad("all", f"expected a list of conditions, got {items!r}", "write a JSON array")
    description = payload.get("description", "")
    if not isinstance(description, str):
        raise _bad("description", f"expected a string, got {description!r}",
                   "write a short human-readable description")
    clauses = []
    for i, item in enumerate(items):
        try:
            clauses.append(_clause(f"all[{i}]", item))
        except ContractViolation as err:
            if str(err).startswith("rule_from_json:"):
                raise
            # A clause type refused the value (e.g. a reserved column): say where.
            raise ContractViolation(f"rule_from_json: all[{i}]: {err}") from err
    return SegmentRule(description, tuple(clauses))
