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


def test_on_by_default_unless_configured_or_turned_off(tmp_path, monkeypatch, restore_cache_dir):
    monkeypatch.setenv(compile_cache.CACHE_ENV, "off")
    jax.config.update("jax_compilation_cache_dir", None)
    assert compile_cache.use_default_compilation_cache() is None
    assert jax.config.jax_compilation_cache_dir is None
    with pytest.raises(ValueError, match="off"):
        pt.enable_compilation_cache()
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(tmp_path / "default"))
    assert compile_cache.use_default_compilation_cache() == tmp_path / "default"
    assert jax.config.jax_compilation_cache_dir == str(tmp_path / "default")
    # A folder configured by the user (or JAX's own settings) is left alone.
    jax.config.update("jax_compilation_cache_dir", str(tmp_path / "mine"))
    assert compile_cache.use_default_compilation_cache() == tmp_path / "mine"


def test_an_unwritable_default_is_a_warning_not_an_error(tmp_path, monkeypatch, restore_cache_dir):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(blocker / "cache"))
    jax.config.update("jax_compilation_cache_dir", None)
    with pytest.warns(UserWarning, match="without the persistent compilation cache"):
        assert compile_cache.use_default_compilation_cache() is None
