"""Real-browser checks (slow tier): headless Chromium, installed here when the machine lacks it.

The ``chromium`` fixture finds Debian's ``chromium`` or installs it with
``apt-get install -y chromium`` (root only; about a minute); when that is not
possible the tests skip and say why. ``Browser`` drives it from the command
line: ``--dump-dom`` prints the DOM after the page has run (with a virtual
time budget, so a JavaScript app renders), ``--screenshot`` writes a PNG.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

#: A bound on one browser or installer call, so a hung process fails the test instead of hanging the run.
PROCESS_BOUND_S = 600


def _apt_install_chromium() -> str:
    """Install Debian's chromium with apt-get; the reason it could not, or "" when it is now installed."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "chromium is not installed and installing it needs root (run: apt-get install -y chromium)"
    apt = shutil.which("apt-get")
    if apt is None:
        return "chromium is not installed and this machine has no apt-get to install it with"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    attempts = ([apt, "install", "-y", "chromium"], [apt, "update"], [apt, "install", "-y", "chromium"])
    output = ""
    for command in attempts:
        try:
            done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=PROCESS_BOUND_S)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"`{' '.join(command)}` failed: {err}"
        output = (done.stdout + done.stderr)[-400:]
        if command[1] == "install" and done.returncode == 0 and shutil.which("chromium"):
            return ""
    return f"`apt-get install -y chromium` failed (after apt-get update too): {output.strip()}"


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of a chromium binary, installing Debian's package when missing; skips with the reason otherwise."""
    found = shutil.which("chromium")
    if found is None:
        reason = _apt_install_chromium()
        found = shutil.which("chromium")
        if reason or found is None:
            pytest.skip(reason or "chromium is still not on PATH after installing it")
    return found


class Browser:
    """Headless Chromium runs, each in its own throw-away profile."""

    def __init__(self, binary: str, profile_root: Path) -> None:
        self.binary = binary
        self.profile_root = profile_root
        self._runs = 0

    def _run(self, *arguments: str) -> subprocess.CompletedProcess:
        self._runs += 1
        profile = self.profile_root / f"profile-{self._runs}"
        command = [self.binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                   "--no-first-run", "--hide-scrollbars", f"--user-data-dir={profile}", *arguments]
        done = subprocess.run(command, capture_output=True, text=True, timeout=PROCESS_BOUND_S)
        assert done.returncode == 0, f"chromium exited {done.returncode}: {done.stderr[-2000:]}"
        return done

    def dump_dom(self, url: str, *, virtual_time_ms: int = 10_000) -> str:
        """The DOM as serialised after the page ran for ``virtual_time_ms`` of virtual time."""
        return self._run(f"--virtual-time-budget={virtual_time_ms}", "--dump-dom", url).stdout

    def screenshot(self, url: str, path: Path, *, width: int = 1280, height: int = 2400,
                   virtual_time_ms: int = 5_000) -> Path:
        self._run(f"--virtual-time-budget={virtual_time_ms}", f"--window-size={width},{height}",
                  f"--screenshot={path}", url)
        assert path.is_file(), f"chromium wrote no screenshot at {path}"
        return path


@pytest.fixture(scope="session")
def browser(chromium, tmp_path_factory) -> Browser:
    return Browser(chromium, tmp_path_factory.mktemp("chromium-profiles"))
