"""``pytyche ui``: the Dagster UI (``dagster dev``) over the project's workspace, instance and store.

It binds to 127.0.0.1 unless told otherwise, and a host other machines can
reach needs ``--expose`` as well: the UI can launch runs that write to the
store, so serving it beyond this machine is never a default or an accident.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import click

from ..errors import CliFailure, CliUsageError
from ..options import store_option, store_path
from ..output import print_json
from .base import command
from .run import dagster_home_for

#: The repository root when installed from a checkout (editable): it holds workspace.yaml.
CHECKOUT = Path(__file__).resolve().parents[2]
DEFINITIONS_MODULE = "pytyche_pipelines.definitions"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name other than localhost may resolve anywhere
        return False


def dagster_executable() -> Path:
    """``dagster`` beside this Python (the project's environment)."""
    return Path(sys.executable).parent / ("dagster.exe" if os.name == "nt" else "dagster")


def ui_command(host: str, port: int, root: Path = CHECKOUT) -> tuple[list[str], Path]:
    """``dagster dev`` on the workspace file when ``root`` has one, else on the definitions module; and its cwd."""
    workspace = root / "workspace.yaml"
    target = ["-w", str(workspace)] if workspace.is_file() else ["-m", DEFINITIONS_MODULE]
    cwd = root if workspace.is_file() else Path.cwd()
    return [str(dagster_executable()), "dev", *target, "-h", host, "-p", str(port)], cwd


def ui_environment(store: str) -> dict[str, str]:
    """The environment the UI runs in: the same DAGSTER_HOME and store as `pytyche run` (absolute paths)."""
    return {**os.environ, "DAGSTER_HOME": str(dagster_home_for(store)), "PYTYCHE_DUCKDB": str(Path(store).resolve())}


def prepare_instance(home: str) -> None:
    """Create DAGSTER_HOME with the project's instance settings (telemetry off) on first use."""
    from pytyche_pipelines.main import prepare_dagster_home

    prepare_dagster_home(Path(home))


@command("ui", short_help="The Dagster UI on 127.0.0.1 over the same runs and store.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Anything but a loopback address also needs --expose.")
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True)
@click.option("--expose", is_flag=True, help="Allow a --host other machines can reach (e.g. 0.0.0.0).")
@store_option
@click.option("--dry-run", is_flag=True, help="Print the command and environment instead of starting the UI.")
@click.option("--json", "as_json", is_flag=True, help="With --dry-run: print them as JSON.")
def ui(host: str, port: int, expose: bool, store: str | None, dry_run: bool, as_json: bool) -> None:
    """Start the Dagster UI (dagster dev: webserver and daemon) on this project's runs and store.

    Stop it with Ctrl-C. It reads the same DAGSTER_HOME and DuckDB file as
    `pytyche run`, so the rounds it ran are there with their metadata.
    """
    if not is_loopback(host) and not expose:
        raise CliUsageError(f"--host {host} would serve the UI, which can launch runs, to other machines. "
                            "Fix: add --expose if you mean that, or keep the default 127.0.0.1.")
    store = store_path(store)
    command_line, cwd = ui_command(host, port)
    environment = ui_environment(store)
    if dry_run:
        shown = {"command": command_line, "cwd": str(cwd), "DAGSTER_HOME": environment["DAGSTER_HOME"],
                 "PYTYCHE_DUCKDB": environment["PYTYCHE_DUCKDB"], "url": f"http://{host}:{port}"}
        if as_json:
            print_json(shown)
        else:
            click.echo(" ".join(command_line))
            click.echo(f"cwd={cwd} DAGSTER_HOME={shown['DAGSTER_HOME']} PYTYCHE_DUCKDB={shown['PYTYCHE_DUCKDB']}")
        return
    if not Path(command_line[0]).is_file():
        raise CliFailure(f"{command_line[0]} not found. Fix: install the project with its dependencies "
                         "(pip install -e .), which brings dagster and dagster-webserver.")
    prepare_instance(environment["DAGSTER_HOME"])
    click.echo(f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={environment['DAGSTER_HOME']}); Ctrl-C stops it.",
               err=True)
    code = subprocess.call(command_line, cwd=cwd, env=environment)
    if code not in (0, -2, 130):  # a Ctrl-C stop is a normal end
        raise CliFailure(f"dagster dev stopped with exit code {code} (see its output above). Fix: check that "
                         f"port {port} is free (--port) and that the workspace loads (dagster definitions validate).")


__all__ = ["dagster_executable", "is_loopback", "prepare_instance", "ui", "ui_command", "ui_environment"]
