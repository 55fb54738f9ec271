"""Every tutorial in docs/tutorials runs: its ```python blocks, in order, in one namespace.

Each tutorial runs in a fresh temporary directory (the files it writes stay
there). The default tier sets ``PYTYCHE_TUTORIAL_VISITORS`` small and
``PYTYCHE_TUTORIAL_QUICK=1`` (a tiny sampler), so all of them together take
a few minutes on 2 cores; the slow tier clears both and runs each tutorial
at the size its prose states. A block that raises fails the test with the
tutorial's name and the block's number; after the blocks, a few checks per
tutorial read the namespace, so a tutorial that silently stops doing what it
says fails too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

TUTORIALS = Path(__file__).resolve().parents[2] / "docs" / "tutorials"
INDEX = TUTORIALS / "index.md"
_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: Visitors per round in the default tier: enough for every arm to convert, small enough to fit in seconds.
QUICK_VISITORS = "600"


def python_blocks(path: Path) -> list[str]:
    """The ```python fenced blocks of a markdown file, in order."""
    return _BLOCK.findall(path.read_text())


def tutorial_paths() -> list[Path]:
    return sorted(p for p in TUTORIALS.glob("*.md") if p != INDEX)


def run_tutorial(path: Path) -> dict:
    """Execute the tutorial's blocks in one namespace (in the current directory); return the namespace."""
    blocks = python_blocks(path)
    assert blocks, f"{path.name} has no ```python block to run"
    namespace: dict = {"__name__": f"tutorial_{path.stem.replace('-', '_')}"}
    for number, block in enumerate(blocks, start=1):
        code = compile(block, f"{path.name} [block {number}]", "exec")
        exec(code, namespace)  # noqa: S102 - running our own documentation is the point
    return namespace


# -- what each tutorial must have done ---------------------------------------------------------------------


def _first_adaptive_experiment(ns: dict) -> None:
    experiment = ns["experiment"]
    assert experiment.done and len(experiment.history) == 3
    assert [e.observed.n_visitors for e in experiment.history] == list(ns["ROUND_SIZES"])
    assert len(ns["summary"]) == 3 and "oracle_gap_captured" in ns["summary"].columns
    assert all(e.score is not None for e in experiment.history)


def _working_with_the_posterior(ns: dict) -> None:
    result, loaded = ns["result"], ns["loaded"]
    assert result.rpv_cate_samples.shape[0] == ns["VISITORS"]
    scale = float(np.abs(result.rpv_cate_samples).max())  # float32: the loaded draws walk the stored trees
    np.testing.assert_allclose(loaded.rpv_cate_samples, result.rpv_cate_samples, rtol=1e-4, atol=1e-5 * scale)
    assert set(ns["allocation"]) == {s.id for s in ns["tree"].segments}


def _hypothesis_cells(ns: dict) -> None:
    experiment, round_two = ns["experiment"], ns["round_two"]
    assert [c.name for c in round_two.deployed_cells] == [c.name for c in ns["cells"]]
    visitors = round_two.observed.visitors()
    routed = visitors[visitors["cell"] == "hypothesis"]
    assert len(routed) > 0 and set(routed["variant"]) <= {"treatment_1", "treatment_2"}
    assert experiment.history[-1] is round_two


def _production_data(ns: dict) -> None:
    experiment = ns["experiment"]
    assert not experiment.simulated and len(experiment.history) == 2
    assert experiment.history[-1].cumulative.n_visitors == 2 * ns["VISITORS"]
    assert ns["stored_rounds"] == ["2024-W01", "2024-W02"]


CHECKS: dict[str, Callable[[dict], None]] = {
    "first-adaptive-experiment": _first_adaptive_experiment,
    "working-with-the-posterior": _working_with_the_posterior,
    "hypothesis-cells": _hypothesis_cells,
    "production-data": _production_data,
}


def _run_and_check(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    namespace = run_tutorial(path)
    CHECKS[path.stem](namespace)


# -- the tests -----------------------------------------------------------------------------------------------


def test_every_tutorial_is_listed_checked_and_has_code():
    listed = set(re.findall(r"\]\(([\w-]+)\.md\)", INDEX.read_text()))
    stems = {p.stem for p in tutorial_paths()}
    assert stems == listed, f"index.md lists {sorted(listed)}, the folder holds {sorted(stems)}"
    assert stems == set(CHECKS), f"tutorials without checks here: {sorted(stems - set(CHECKS))}"
    for path in tutorial_paths():
        assert python_blocks(path), f"{path.name} has no ```python block"


def test_a_broken_block_fails_with_the_tutorial_and_block_named(tmp_path):
    tutorial = tmp_path / "broken.md"
    tutorial.write_text("Text.\n\n```python\nx = 1\n```\n\nMore.\n\n```python\nraise RuntimeError(x)\n```\n")
    with pytest.raises(RuntimeError) as caught:
        run_tutorial(tutorial)
    assert "broken.md [block 2]" in "".join(str(f.path) for f in caught.traceback)


@pytest.mark.parametrize("path", tutorial_paths(), ids=lambda p: p.stem)
def test_tutorial_runs_at_a_small_size(path, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTYCHE_TUTORIAL_VISITORS", QUICK_VISITORS)
    monkeypatch.setenv("PYTYCHE_TUTORIAL_QUICK", "1")
    _run_and_check(path, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("path", tutorial_paths(), ids=lambda p: p.stem)
def test_tutorial_runs_as_written(path, tmp_path, monkeypatch):
    monkeypatch.delenv("PYTYCHE_TUTORIAL_VISITORS", raising=False)
    monkeypatch.delenv("PYTYCHE_TUTORIAL_QUICK", raising=False)
    _run_and_check(path, tmp_path, monkeypatch)
