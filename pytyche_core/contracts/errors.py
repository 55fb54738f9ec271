"""The exceptions raised at pytyche's boundaries.

Every one is a ``ValueError`` so that callers who only know "bad input" can
catch that, while tests and tools can tell the kinds apart.
"""

from __future__ import annotations


class ContractViolation(ValueError):
    """A boundary type was built with a value its contract forbids."""


class SchemaViolation(ContractViolation):
    """Visitor data does not conform to ``VISITOR_SCHEMA`` or its invariants."""


class AlignmentViolation(ContractViolation):
    """A per-visitor array is not aligned with the concatenated visitor rows."""
