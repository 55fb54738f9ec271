"""What the CLI tests share besides fixtures: the tiny fit's options, and running `pytyche` in-process."""

from __future__ import annotations

from click.testing import CliRunner, Result

from pytyche_cli.app import cli

#: The tiny sampler every CLI fit uses: a few seconds once compiled.
TINY_FIT = ["--burn-in", "10", "--draws", "10", "--chains", "1", "--mu-trees", "10", "--tau-trees", "5"]
#: Five of the simulator's six features: the fit must use exactly these.
FEATURES = "engagement,recency,basket_affinity,price_sensitivity,device"
#: Visitors in the shared data set: enough that the stress reversal's segments show through a tiny
#: fit (at 1,500 the treatment forest's shrinkage could leave the policy tree nothing to split).
VISITORS = 3000


def invoke(*args: str, env: dict | None = None) -> Result:
    """Run ``pytyche ARGS`` in-process, stdout and stderr kept apart."""
    return CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)


def error_line(result: Result) -> str:
    """The one stderr line of a failed command (asserting there is exactly one, with a fix)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Fix:" in lines[0], lines[0]
    return lines[0]
