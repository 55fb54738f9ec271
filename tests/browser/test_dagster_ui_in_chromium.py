"""The Dagster UI, opened in headless Chromium on the asset page of a materialised round."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.core.report.stored_experiment import EXPERIMENT, materialize_rounds

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PREFIX = EXPERIMENT["experiment_id"].replace("-", "_")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _asset_nodes(port: int) -> list:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                     data=json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read()).get("data", {}).get("assetNodes") or []


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """A webserver on 127.0.0.1 over a temporary DAGSTER_HOME holding one materialised round."""
    import dagster as dg

    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    spec = home / "experiments.yaml"
    spec.write_text(yaml.safe_dump({"experiments": [EXPERIMENT]}))
    stored = materialize_rounds(home / "data", rounds=1, instance=dg.DagsterInstance.local_temp(str(home)))
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTYCHE_EXPERIMENTS": str(spec),
           "PYTYCHE_DUCKDB": str(stored.store_path)}
    webserver = Path(sys.executable).parent / "dagster-webserver"
    server = subprocess.Popen([str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while True:  # bounded wait for the server to load the code location
            try:
                if _asset_nodes(port):
                    break
            except OSError:
                pass
            assert server.poll() is None, "the webserver exited"
            assert time.monotonic() < deadline, "the UI did not answer within 180 s"
            time.sleep(2)
        yield port, stored.round_keys[0]
    finally:
        server.terminate()
        server.wait(timeout=30)


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
