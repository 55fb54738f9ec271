"""`pytyche ui`: dagster dev on 127.0.0.1 over the project's workspace; other hosts only when asked twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytyche_cli.commands import ui as ui_module
from tests.cli.helpers import error_line, invoke


def _dry_run(*args, env=None) -> dict:
    done = invoke("ui", "--dry-run", "--json", *args, env=env)
    assert done.exit_code == 0, done.stderr
    return json.loads(done.stdout)


def _bound_host(command: list[str]) -> str:
    return command[command.index("-h") + 1]


def test_by_default_it_binds_loopback_on_the_workspace(tmp_path):
    shown = _dry_run("--store", tmp_path / "s.duckdb", env={"DAGSTER_HOME": None})
    command = shown["command"]
    assert command[1] == "dev" and Path(command[0]).name == "dagster"
    assert _bound_host(command) == "127.0.0.1" and command[command.index("-p") + 1] == "3000"
    assert command[command.index("-w") + 1].endswith("workspace.yaml")
    assert shown["DAGSTER_HOME"] == str((tmp_path / "dagster_home").resolve())
    assert shown["PYTYCHE_DUCKDB"] == str((tmp_path / "s.duckdb").resolve())
    assert not (tmp_path / "dagster_home").exists(), "a dry run must not write anything"


def test_a_reachable_host_needs_expose():
    done = invoke("ui", "--host", "0.0.0.0", "--dry-run")
    assert done.exit_code == 2 and "--expose" in error_line(done)
    assert _bound_host(_dry_run("--host", "0.0.0.0", "--expose")["command"]) == "0.0.0.0"
    assert _bound_host(_dry_run("--host", "localhost", "--port", "4000")["command"]) == "localhost"


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False),
                                            ("example.com", False)])
def test_loopback_addresses(host, loopback):
    assert ui_module.is_loopback(host) is loopback


def test_without_a_workspace_file_it_loads_the_definitions_module(tmp_path):
    command, cwd = ui_module.ui_command("127.0.0.1", 3000, root=tmp_path)
    assert command[2:4] == ["-m", "pytyche_pipelines.definitions"]


def test_it_starts_dagster_dev_with_the_instance_prepared(tmp_path, monkeypatch):
    started = {}

    def call(command, cwd, env):
        started.update(command=command, cwd=cwd, env=env)
        return 0

    monkeypatch.setattr(ui_module.subprocess, "call", call)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    done = invoke("ui", "--store", tmp_path / "s.duckdb")
    assert done.exit_code == 0, done.stderr
    assert _bound_host(started["command"]) == "127.0.0.1"
    assert started["env"]["DAGSTER_HOME"] == str((tmp_path / "home").resolve())
    assert (tmp_path / "home" / "dagster.yaml").exists()
