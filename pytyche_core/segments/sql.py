"""Segment rules as SQL boolean expressions for a ``WHERE`` clause.

The expression selects exactly the rows ``apply_rule`` selects, in DuckDB and
in any engine that follows ANSI SQL for the constructs used:

- Numeric clauses cast the column to ``DOUBLE PRECISION`` (``apply_rule``
  compares in float64; the cast also lets BOOLEAN columns compare as 0/1,
  which DuckDB refuses to do implicitly). Thresholds are written as
  approximate numeric literals (``30.0E0``), which SQL types as a double, so
  they mean the exact float of the rule.
- A NULL never satisfies a clause: every clause is a plain comparison and the
  clauses are joined by ``AND`` without ``NOT``, so a NULL makes the row's
  condition NULL or FALSE and ``WHERE`` drops it.
- A NaN never satisfies a clause either. DuckDB (like PostgreSQL, Spark,
  Snowflake) orders NaN above every number, so ``x > 5`` is TRUE for NaN.
  ``gt`` / ``gte`` are therefore written negated (``-x < -5.0E0``), where NaN
  lands on the false side in those engines and in IEEE engines alike;
  ``lt`` / ``lte`` / ``BETWEEN`` already exclude NaN through their upper bound.
- Categorical clauses cast the column to ``VARCHAR`` and compare it with
  strings (``=`` / ``IN``), as ``apply_rule`` compares ``astype(object)``
  values with strings. The cast makes ENUM columns, and columns a database
  typed as numbers because every value is missing, compare as text instead
  of failing to convert the literal.

Two renderings share one construction: ``rule_to_sql`` inlines quoted
literals (for export), ``rule_to_sql_parameters`` uses ``?`` placeholders
(for execution: values reach the database as parameters).
"""

from __future__ import annotations

import dataclasses
import math

from pytyche_core.contracts import (
    BetweenRule,
    ComparisonRule,
    EqRule,
    InRule,
    RuleClause,
    SegmentRule,
)

#: The expression of the catch-all rule: every row.
CATCH_ALL_SQL = "TRUE"

# gt/gte are written as the negated column against the negated threshold
# (see the module docstring); lt/lte compare directly.
_NEGATED = {"gt": "<", "gte": "<="}
_DIRECT = {"lt": "<", "lte": "<="}


@dataclasses.dataclass(frozen=True)
class _Value:
    """A value slot: a ``?`` placeholder or an inline literal."""

    value: str | float


_Part = str | _Value


def _checked_text(text: str, what: str) -> str:
    # NUL is cut off by C-string clients and refused by PostgreSQL, and a lone
    # surrogate has no UTF-8 form: refuse both rather than match other rows.
    if "\x00" in text:
        raise ValueError(f"rule_to_sql: {what} {text!r} contains a NUL character. "
                         "Fix: remove it from the rule (and the data).")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        raise ValueError(f"rule_to_sql: {what} {text!r} is not valid Unicode ({err.reason}). "
                         "Fix: use a string that encodes as UTF-8.") from None
    return text


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier: ``a"b`` -> ``"a""b"``."""
    return '"' + _checked_text(name, "identifier").replace('"', '""') + '"'


def quote_string(text: str) -> str:
    """``text`` as a single-quoted SQL string literal: ``it's`` -> ``'it''s'``.

    Only ``'`` is special inside an ANSI string literal; backslashes and
    everything else are taken literally.
    """
    return "'" + _checked_text(text, "value").replace("'", "''") + "'"


def float_literal(value: float) -> str:
    """A finite float as an ANSI approximate numeric literal that reads back exactly.

    ``repr`` gives the shortest digits that round-trip; the ``E`` exponent
    makes SQL type the literal as a double rather than an exact decimal.
    ``30.0`` -> ``30.0E0``, ``1e-05`` -> ``1E-5``.
    """
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"rule_to_sql: threshold {number} is not finite. "
                         "Fix: use a finite threshold (rules reject NaN and infinities).")
    digits = repr(number)
    mantissa, _, exponent = digits.partition("e")
    return f"{mantissa}E{int(exponent) if exponent else 0}"


def _clause_parts(clause: RuleClause, column: str) -> list[_Part]:
    text = f"CAST({column} AS VARCHAR)"
    if isinstance(clause, EqRule):
        return [f"{text} = ", _Value(clause.value)]
    if isinstance(clause, InRule):
        parts: list[_Part] = [f"{text} IN ("]
        for i, value in enumerate(clause.values):
            parts += ([", "] if i else []) + [_Value(value)]
        return [*parts, ")"]
    number = f"CAST({column} AS DOUBLE PRECISION)"
    if isinstance(clause, ComparisonRule):
        if clause.operator in _NEGATED:
            return [f"-{number} {_NEGATED[clause.operator]} ", _Value(-clause.threshold)]
        return [f"{number} {_DIRECT[clause.operator]} ", _Value(clause.threshold)]
    if isinstance(clause, BetweenRule):
        return [f"{number} BETWEEN ", _Value(clause.low), " AND ", _Value(clause.high)]
    raise TypeError(f"rule_to_sql: unknown clause type {type(clause).__name__}")


def _rule_parts(rule: SegmentRule, table_alias: str | None) -> list[_Part]:
    if not isinstance(rule, SegmentRule):
        raise TypeError(f"rule_to_sql: expected a SegmentRule, got {type(rule).__name__}. "
                        "Fix: build the rule with SegmentRule(description, clauses).")
    if table_alias is not None and (not isinstance(table_alias, str) or not table_alias):
        raise ValueError(f"rule_to_sql: table_alias must be a non-empty str or None, "
                         f"got {table_alias!r}. Fix: pass the alias used in FROM, or None.")
    if rule.is_catch_all:
        return [CATCH_ALL_SQL]
    prefix = "" if table_alias is None else quote_identifier(table_alias) + "."
    parts: list[_Part] = []
    for i, clause in enumerate(rule.clauses):
        parts += ([" AND "] if i else []) + _clause_parts(
            clause, prefix + quote_identifier(clause.feature))
    # Parentheses keep the conjunction whole when a caller combines it
    # (``NOT (...)``, ``... OR ...``).
    return ["(", *parts, ")"] if len(rule.clauses) > 1 else parts


def _literal(value: str | float) -> str:
    return quote_string(value) if isinstance(value, str) else float_literal(value)


def rule_to_sql(rule: SegmentRule, *, table_alias: str | None = None) -> str:
    """The rule as a SQL boolean expression with inline literals.

    Inputs: a ``SegmentRule``; ``table_alias`` qualifies every column
    (``"v"."age"``) when given. Output: a ``str`` for a ``WHERE`` clause,
    ``TRUE`` for the catch-all. Identifiers are double-quoted, strings
    single-quoted (embedded quotes doubled), thresholds exact doubles.
    Raises ``ValueError`` for text SQL cannot carry (NUL, lone surrogates).
    """
    parts = _rule_parts(rule, table_alias)
    return "".join(p if isinstance(p, str) else _literal(p.value) for p in parts)


def rule_to_sql_parameters(
    rule: SegmentRule, *, table_alias: str | None = None
) -> tuple[str, list[str | float]]:
    """The rule as a SQL boolean expression with ``?`` placeholders.

    Output: ``(sql, parameters)``, one parameter per ``?`` in order: ``str``
    for category values, ``float`` for thresholds (``gt`` / ``gte`` carry the
    negated threshold, as in ``rule_to_sql``). Execute with e.g.
    ``con.execute(f"SELECT * FROM t WHERE {sql}", parameters)``.
    """
    parts = _rule_parts(rule, table_alias)
    values = [p.value for p in parts if isinstance(p, _Value)]
    for value in values:
        _literal(value)  # the same checks as the inline form
    sql = "".join(p if isinstance(p, str) else "?" for p in parts)
    return sql, values
