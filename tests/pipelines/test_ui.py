"""The Dagster UI starts on 127.0.0.1 over our workspace and its GraphQL endpoint lists the round assets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, query: str) -> dict:
    request = urllib.request.Request(url, data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_the_ui_answers_with_the_round_assets(tmp_path):
    port = _free_port()
    webserver = Path(sys.executable).parent / "dagster-webserver"
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "PYTYCHE_DUCKDB": str(tmp_path / "store.duckdb")}
    server = subprocess.Popen([str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 180
        while True:  # bounded wait for the server to load the code location
            try:
                answer = _post(f"http://127.0.0.1:{port}/graphql", "{ assetNodes { assetKey { path } } }")
                if answer.get("data", {}).get("assetNodes"):
                    break
            except OSError:
                pass
            assert server.poll() is None, "the webserver exited"
            assert time.monotonic() < deadline, "the UI did not answer within 180 s"
            time.sleep(2)
        keys = {"/".join(node["assetKey"]["path"]) for node in answer["data"]["assetNodes"]}
        assert {"demo_clustered_k3/features", "demo_clustered_k3/assignment", "demo_clustered_k3/model_fit",
                "demo_clustered_k3/next_round_plan", "demo_clustered_k3/truth_comparison",
                "demo_reversal_k2/next_round_plan", "flywheel_benchmark"} <= keys
    finally:
        server.terminate()
        server.wait(timeout=30)
