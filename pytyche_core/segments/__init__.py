"""Segment rules exported for targeting: SQL ``WHERE`` expressions and JSON conditions.

- ``rule_to_sql`` renders a rule with inline, quoted literals (for export).
- ``rule_to_sql_parameters`` renders it with ``?`` placeholders plus the
  parameter list (for executing it: values travel as parameters).
- ``rule_to_json`` / ``rule_from_json`` convert to and from a JSON condition.

Both SQL forms select exactly the rows ``apply_rule`` selects (NULL and NaN
never satisfy a clause). See ``docs/concepts/targeting-export.md``.
"""

from .json_condition import JSON_CONDITION_VERSION, rule_from_json, rule_to_json
from .registry import REGISTRY_TABLE, RegistryEntry, SegmentRegistry
from .sql import CATCH_ALL_SQL, rule_to_sql, rule_to_sql_parameters

__all__ = [
    "CATCH_ALL_SQL",
    "JSON_CONDITION_VERSION",
    "REGISTRY_TABLE",
    "RegistryEntry",
    "SegmentRegistry",
    "rule_from_json",
    "rule_to_json",
    "rule_to_sql",
    "rule_to_sql_parameters",
]
