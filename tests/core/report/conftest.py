"""One small stored experiment (two rounds through the round loop) shared by the report tests."""

from __future__ import annotations

import pytest

from tests.core.report.stored_experiment import StoredExperiment, materialize_rounds


@pytest.fixture(scope="session")
def stored_experiment(tmp_path_factory) -> StoredExperiment:
    return materialize_rounds(tmp_path_factory.mktemp("report-store"), rounds=2)
