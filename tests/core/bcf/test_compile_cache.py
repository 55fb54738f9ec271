"""``pt.enable_compilation_cache``: where it points JAX, and its errors."""

from __future__ import annotations

import jax
import pytest

import pytyche_core as pt
from pytyche_core.bcf import compile_cache


@pytest.fixture
def restore_cache_dir():
    before = jax.config.jax_compilation_cache_dir
    yield
    jax.config.update("jax_compilation_cache_dir", before)


def test_points_jax_at_the_folder_and_creates_it(tmp_path, restore_cache_dir):
    target = tmp_path / "nested" / "cache"
    assert pt.enable_compilation_cache(target) == target
    assert target.is_dir()
    assert jax.config.jax_compilation_cache_dir == str(target)


def test_default_folder_follows_the_environment(tmp_path, monkeypatch, restore_cache_dir):
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(tmp_path / "from-env"))
    assert pt.enable_compilation_cache() == tmp_path / "from-env"


def test_unwritable_folder_names_the_fix(tmp_path, restore_cache_dir):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(OSError, match=compile_cache.CACHE_ENV):
        pt.enable_compilation_cache(blocker / "cache")
