"""The instance configurations in deploy/ are valid Dagster instance configs (as Dagster itself checks them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster._core.instance.config import dagster_instance_config

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.mark.parametrize("folder", ["local", "shared"])
def test_instance_config_validates(folder):
    config, _ = dagster_instance_config(str(DEPLOY / folder))
    assert config["concurrency"]["pools"]["default_limit"] == 1  # one fit per GPU
    assert config["telemetry"]["enabled"] is False
    if folder == "shared":
        assert "postgres" in config["storage"]
