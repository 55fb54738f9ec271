"""A Dagster webserver on 127.0.0.1 over the workspace, for the slow UI tests."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def asset_nodes(port: int) -> list[dict]:
    """The UI's asset nodes as its GraphQL endpoint lists them (empty while it loads)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/graphql",
                                     data=json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read()).get("data", {}).get("assetNodes") or []


@contextlib.contextmanager
def running_ui(env: Mapping[str, str], *, timeout_s: float = 180) -> Iterator[tuple[int, list[dict]]]:
    """``dagster-webserver`` on a free loopback port with ``env``; yields (port, asset nodes) once loaded."""
    port = free_port()
    webserver = Path(sys.executable).parent / "dagster-webserver"
    server = subprocess.Popen([str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
                              cwd=ROOT, env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout_s
        while True:  # bounded wait for the server to load the code location
            try:
                if nodes := asset_nodes(port):
                    break
            except OSError:
                pass
            assert server.poll() is None, "the webserver exited"
            assert time.monotonic() < deadline, f"the UI did not answer within {timeout_s:.0f} s"
            time.sleep(2)
        yield port, nodes
    finally:
        server.terminate()
        server.wait(timeout=30)
