#!/usr/bin/env python3
"""The project's entry points; each creates the environment it needs.

    python3 tasks.py run     # a simulated adaptive experiment through Dagster into data/pytyche.duckdb
    python3 tasks.py test    # the test suite (the default tier; what CI runs)
    python3 tasks.py ui      # the Dagster UI on 127.0.0.1, over the same data

Only the standard library is used here: this file must work on a machine
that has nothing but python3 and access to the package index.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".tyche-installed"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
DATA = ROOT / "data"


def _say(message: str) -> None:
    print(f"[tasks] {message}", flush=True)


def _wanted_stamp() -> str:
    # Reinstall whenever the dependency declaration or the interpreter changes.
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    return f"{digest} {sys.version_info[:3]}"


def ensure_environment() -> None:
    """Create .venv and install the project with its dev extra, once per pyproject change."""
    if sys.version_info < (3, 11):  # noqa: UP036 - tasks.py runs under whatever python3 the machine has
        sys.exit(f"[tasks] Python >= 3.11 is required, this is {sys.version.split()[0]}. "
                 "Fix: run with a newer python3.")
    if not PYTHON.exists():
        _say(f"creating the virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    if STAMP.exists() and STAMP.read_text() == _wanted_stamp():
        return
    _say("installing the project and its dependencies (about a minute on a fresh machine)")
    subprocess.run([str(PYTHON), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-e", f"{ROOT}[dev]"], check=True, cwd=ROOT)
    STAMP.write_text(_wanted_stamp())


def _dagster_env() -> dict[str, str]:
    env = dict(os.environ)
    home = DATA / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    env.setdefault("DAGSTER_HOME", str(home))  # must be absolute, or runs are lost on exit
    env.setdefault("PYTYCHE_DUCKDB", str(DATA / "pytyche.duckdb"))
    return env


def run(args: list[str]) -> int:
    ensure_environment()
    return subprocess.call([str(PYTHON), "-m", "pytyche_pipelines.main", *args],
                           cwd=ROOT, env=_dagster_env())


def test(args: list[str]) -> int:
    ensure_environment()
    code = subprocess.call([str(PYTHON), "-m", "pytest", *args], cwd=ROOT)
    if code == 5:
        # pytest's "no tests collected" must not pass as green.
        _say("pytest collected no tests: failing on purpose")
        return 1
    return code


def ui(args: list[str]) -> int:
    ensure_environment()
    host = ["-h", "127.0.0.1"] if "-h" not in args and "--host" not in args else []
    return subprocess.call([str(BIN / "dagster"), "dev", "-w", "workspace.yaml", *host, *args],
                           cwd=ROOT, env=_dagster_env())


COMMANDS = {"run": run, "test": test, "ui": ui}


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        return 2
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
