"""An experiment id keeps the design it began with."""

from __future__ import annotations

import pytest

import pytyche_core as pt
from pytyche_core.store import read_design, record_design


def test_first_design_is_kept_and_another_is_refused(tmp_path):
    path = tmp_path / "store.duckdb"
    design = {"scenario": "clustered", "arms": 3, "seed": 7}
    record_design(path, "exp", design)
    record_design(path, "exp", dict(reversed(list(design.items()))))  # same design, other key order
    with pytest.raises(pt.ContractViolation, match="arms: stored 3, now 2.*Fix"):
        record_design(path, "exp", {**design, "arms": 2})
    assert read_design(path, "exp") == design
    record_design(path, "other", {**design, "arms": 2})  # a new id may have any design
    assert read_design(path, "other")["arms"] == 2 and read_design(path, "missing") is None
