"""Lookups that find nothing in a store or file."""

from __future__ import annotations


class ExperimentNotFoundError(LookupError):
    """No rows for the requested experiment id; the message lists some known ids."""


class RoundNotFoundError(LookupError):
    """A requested round key (or its truth) is not stored for the experiment."""
