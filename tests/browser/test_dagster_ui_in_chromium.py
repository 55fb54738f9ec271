"""The Dagster UI, opened in headless Chromium on the asset page of a materialised round."""

from __future__ import annotations

import html
import os
import re

import pytest
import yaml

from tests.core.report.stored_experiment import EXPERIMENT, materialize_rounds
from tests.dagster_ui import running_ui

pytestmark = pytest.mark.slow

PREFIX = EXPERIMENT["experiment_id"].replace("-", "_")


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """A webserver on 127.0.0.1 over a temporary DAGSTER_HOME holding one materialised round."""
    import dagster as dg

    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    spec = home / "experiments.yaml"
    spec.write_text(yaml.safe_dump({"experiments": [EXPERIMENT]}))
    stored = materialize_rounds(home / "data", rounds=1, instance=dg.DagsterInstance.local_temp(str(home)))
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTYCHE_EXPERIMENTS": str(spec),
           "PYTYCHE_DUCKDB": str(stored.store_path)}
    with running_ui(env) as (port, _):
        yield port, stored.round_keys[0]


def _visible_text(dom: str) -> str:
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", "", dom, flags=re.S))
    return re.sub(r"\s+", " ", html.unescape(text))


def test_the_asset_page_of_a_round_renders_in_chromium(browser, ui):
    port, round_key = ui
    url = f"http://127.0.0.1:{port}/assets/{PREFIX}/model_fit?partition={round_key}"
    text = _visible_text(browser.dump_dom(url, virtual_time_ms=30_000))
    # Rendered by the JavaScript app from the server's answers, not echoed from the URL:
    assert f"{PREFIX} / model_fit" in text, text[:1500]
    assert "The hurdle BCF fit on every round so far" in text  # the asset's definition
    assert "Latest materialization" in text and round_key in text  # the materialised partition
    assert "visitors fitted" in text and "sha256" in text  # the round's metadata
