"""`pytyche fit`: the result file holds the fit asked for; refused input writes no result."""

from __future__ import annotations

import pytest

import pytyche_core as pt
from pytyche_cli.commands.sources import load_observed, only_experiment
from tests.cli.helpers import FEATURES, TINY_FIT, VISITORS, error_line, invoke


def test_the_result_file_holds_the_fit_the_options_asked_for(fitted):
    result = pt.load_result(fitted.result)
    assert result.observed.n_visitors == fitted.summary["visitors"] == VISITORS
    assert list(result.observed.feature_names) == fitted.summary["features"] == FEATURES.split(",")
    assert fitted.summary["config"] == {"burn_in": 10, "draws": 10, "chains": 1, "mu_trees": 10, "tau_trees": 5}
    assert result.config.tau_trees == 5 and result.n_draws == 10
    assert fitted.summary["model"] == "hurdle" and fitted.summary["out"] == str(fitted.result)


def test_the_fit_shows_a_progress_bar_per_channel_on_stderr_only(fitted):
    assert "conversion" in fitted.stderr and "order value" in fitted.stderr
    assert "it/s" in fitted.stderr or "it]" in fitted.stderr


def test_a_store_and_a_file_load_the_same_experiment(tmp_path, observed_parquet):
    store = tmp_path / "s.duckdb"
    assert invoke("simulate", "reversal", "-k", "3", "--profile", "stress", "--visitors", VISITORS, "--seed", "1",
                  "--out", store).exit_code == 0
    experiment = only_experiment(str(store))
    from_store = load_observed(str(store), experiment_id=None, metric=None, control=None, rounds=())
    from_file = load_observed(str(observed_parquet), experiment_id=experiment, metric=None, control=None, rounds=())
    assert from_store.arm_names == from_file.arm_names
    assert from_store.visitors()["revenue"].sum() == pytest.approx(from_file.visitors()["revenue"].sum())


def test_several_experiments_need_an_id(tmp_path):
    store = tmp_path / "two.duckdb"
    for name in ("a", "b"):
        assert invoke("simulate", "constant", "--visitors", 400, "--experiment-id", name, "--out", store).exit_code == 0
    done = invoke("fit", store, "--out", tmp_path / "f.npz", *TINY_FIT)
    assert done.exit_code == 1
    assert "--experiment-id" in error_line(done) and "a, b" in error_line(done)
    assert not (tmp_path / "f.npz").exists()


@pytest.mark.parametrize("make_data, words", [
    (lambda d: d / "missing.csv", "does not exist"),
    (lambda d: _write(d / "bad.csv", "a,b\n1,2\n"), "experiment_id"),
    (lambda d: _write(d / "result.npz", "not a table"), "unknown file type"),
])
def test_bad_data_is_one_line_exit_1_and_no_result(tmp_path, make_data, words):
    out = tmp_path / "out.npz"
    done = invoke("fit", make_data(tmp_path), "--out", out, *TINY_FIT)
    assert done.exit_code == 1
    line = error_line(done)
    assert line.startswith("pytyche fit: error:") and words in line
    assert "Traceback" not in done.output
    assert not out.exists()


def test_an_unknown_feature_is_refused_by_the_library_before_sampling(tmp_path, observed_parquet):
    out = tmp_path / "out.npz"
    done = invoke("fit", observed_parquet, "--out", out, *TINY_FIT, "--features", "engagement,shoe_size")
    assert done.exit_code == 1
    assert "shoe_size" in error_line(done)
    assert not out.exists()


def test_an_existing_result_is_kept_unless_overwrite(tmp_path, observed_parquet):
    out = tmp_path / "out.npz"
    out.write_bytes(b"earlier")
    done = invoke("fit", observed_parquet, "--out", out, *TINY_FIT)
    assert done.exit_code == 1 and "--overwrite" in error_line(done)
    assert out.read_bytes() == b"earlier"


@pytest.mark.parametrize("args", [["--chains", "0"], ["--draws", "x"], ["--pooling", "both"], ["--nope"]])
def test_bad_options_are_usage_errors(tmp_path, observed_parquet, args):
    done = invoke("fit", observed_parquet, "--out", tmp_path / "o.npz", *args)
    assert done.exit_code == 2
    assert "pytyche fit --help" in error_line(done)


def _write(path, text):
    path.write_text(text)
    return path
