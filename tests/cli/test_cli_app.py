"""The group: one line per error with a distinct exit code, --debug for the traceback, the console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from pytyche_cli import errors
from pytyche_cli.app import cli, main
from pytyche_cli.commands.base import command
from tests.cli.helpers import error_line, invoke


@pytest.fixture
def failing_command():
    """A throwaway command that raises what the test asks for."""

    @command("explode")
    @click.argument("kind")
    def explode(kind: str) -> None:
        raise {"value": ValueError("the input is wrong. Fix: pass a right one."),
               "missing": FileNotFoundError(2, "No such file or directory", "x.csv"),
               "bug": ZeroDivisionError("division by zero"),
               "key": KeyError("plain key")}[kind]

    cli.add_command(explode)
    yield
    cli.commands.pop("explode")


@pytest.mark.parametrize("kind, code, words", [
    ("value", errors.EXIT_FAILURE, "the input is wrong. Fix: pass a right one."),
    ("missing", errors.EXIT_FAILURE, "No such file or directory: x.csv. Fix: check the path."),
    ("bug", errors.EXIT_INTERNAL, "this is a bug"),
    ("key", errors.EXIT_INTERNAL, "this is a bug"),
])
def test_each_kind_of_error_is_one_line_with_its_exit_code(failing_command, kind, code, words):
    done = invoke("explode", kind)
    assert done.exit_code == code
    line = error_line(done)
    assert line.startswith("pytyche explode: error:") and words in line
    assert "Traceback" not in done.stderr


def test_debug_adds_the_traceback(failing_command):
    for args in (["--debug", "explode", "bug"], ["explode", "bug", "--debug"]):
        done = invoke(*args)
        assert done.exit_code == errors.EXIT_INTERNAL
        assert "Traceback" in done.stderr and "ZeroDivisionError" in done.stderr


def test_usage_errors_are_exit_2_and_help_is_exit_0():
    assert invoke("no-such-command").exit_code == errors.EXIT_USAGE
    assert "pytyche --help" in error_line(invoke("no-such-command"))
    done = invoke("--help")
    assert done.exit_code == 0
    assert all(name in done.stdout for name in ("simulate", "fit", "analyze", "plan", "run", "report", "power", "ui"))


def test_shell_completion_is_answered():
    done = invoke(env={"_PYTYCHE_COMPLETE": "bash_source"})
    assert done.exit_code == 0 and "_PYTYCHE_COMPLETE" in done.stdout


def test_main_returns_the_exit_code(capsys):
    assert main(["no-such-command"]) == errors.EXIT_USAGE
    assert capsys.readouterr().err.count("\n") == 1


def test_the_console_script_is_installed():
    script = Path(sys.executable).parent / "pytyche"
    assert script.exists(), "run `pip install -e .` so [project.scripts] creates it"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "analyze" in done.stdout
