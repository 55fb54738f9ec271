"""The Dagster UI starts on 127.0.0.1 over our workspace and its GraphQL endpoint lists the round assets."""

from __future__ import annotations

import os

import pytest

from tests.dagster_ui import running_ui

pytestmark = pytest.mark.slow


def test_the_ui_answers_with_the_round_assets(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PYTYCHE_DUCKDB": str(tmp_path / "store.duckdb")}
    with running_ui(env) as (_, nodes):
        keys = {"/".join(node["assetKey"]["path"]) for node in nodes}
    assert {"demo_clustered_k3/features", "demo_clustered_k3/assignment", "demo_clustered_k3/model_fit",
            "demo_clustered_k3/next_round_plan", "demo_clustered_k3/truth_comparison",
            "demo_reversal_k2/next_round_plan", "flywheel_benchmark"} <= keys
