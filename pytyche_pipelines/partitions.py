"""Rounds are weekly time windows: the only partitioning Dagster lets depend on itself."""

from __future__ import annotations

import dagster as dg

#: One partition per experiment round, keyed by the Monday that starts it.
ROUNDS = dg.WeeklyPartitionsDefinition(start_date="2026-01-05", day_offset=1)

#: A round's plan depends on the previous round's (used by the round loop).
PREV_ROUND = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)


def round_index(partition_key: str) -> int:
    """0 for the first round, 1 for the next, ... (position among all round keys)."""
    keys = ROUNDS.get_partition_keys()
    try:
        return keys.index(partition_key)
    except ValueError:
        raise ValueError(f"{partition_key!r} is not a round key; the first is {keys[0]!r}") from None


def first_round_keys(n: int) -> list[str]:
    """The keys of the first ``n`` rounds, in order."""
    keys = ROUNDS.get_partition_keys()
    if not 1 <= n <= len(keys):
        raise ValueError(f"asked for {n} rounds; between 1 and {len(keys)} exist so far")
    return keys[:n]
