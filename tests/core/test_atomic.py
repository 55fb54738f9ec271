"""Files written through ``atomic_path`` appear whole or not at all."""

from __future__ import annotations

import pytest

from pytyche_core.atomic import atomic_path


def test_a_finished_write_lands_under_the_target(tmp_path):
    target = tmp_path / "out.json"
    with atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.name.endswith(".json") and not temporary.exists()
        temporary.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half")
        raise RuntimeError("the writer failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
