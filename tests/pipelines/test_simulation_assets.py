"""The round pipeline: definitions load, two rounds of the loop materialise in process, lineage holds."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pytest

import pytyche_core as pt
from pytyche_core.simulate import scenario
from pytyche_core.store import read_round_truth
from pytyche_pipelines.definitions import defs, round_assets
from pytyche_pipelines.experiments import SimulatedExperiment, load_experiments
from pytyche_pipelines.main import main
from pytyche_pipelines.partitions import PREV_ROUND, ROUNDS, first_round_keys, round_index
from pytyche_pipelines.resources import DuckDBStore, JaxDevice

#: Small fits (the shapes of tests/core/posterior/small_fits.py): the loop's code paths, not its accuracy.
FIT = dict(mu_trees=20, tau_trees=10, burn_in=30, draws=20, chains=2, n_bootstrap=5)
def _assets(**changes):
    """The round assets of the test experiment (with ``changes`` to its settings)."""
    return round_assets(SimulatedExperiment(**{**EXPERIMENT, **changes}))


def _resources(path: str) -> dict:
    return {"store": DuckDBStore(path=path), "device": JaxDevice()}


EXPERIMENT = dict(experiment_id="pipe-test", scenario="reversal", arms=3, metric="revenue_per_visitor",
                  profile="stress", visitors_per_round=1500, seed=11, **FIT)


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    for experiment in load_experiments():  # every experiment of experiments.yaml has its own round assets
        prefix = experiment.key_prefix()
        assert {f"{prefix}/{name}" for name in ("features", "potential_outcomes", "assignment", "observed",
                                                 "model_fit", "analysis", "policy_tree", "next_round_plan",
                                                 "truth_comparison")} <= keys


def test_round_keys_are_weekly_mondays_in_order():
    keys = first_round_keys(3)
    assert keys == ["2026-01-05", "2026-01-12", "2026-01-19"]
    assert [round_index(k) for k in keys] == [0, 1, 2]
    assert isinstance(PREV_ROUND, dg.TimeWindowPartitionMapping) and ROUNDS.day_offset == 1
    with pytest.raises(ValueError, match="not a round key"):
        round_index("2026-01-06")


@pytest.fixture(scope="module")
def two_rounds(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("store") / "pytyche.duckdb")
    resources = _resources(path)
    instance = dg.DagsterInstance.ephemeral()
    runs = {}
    for key in first_round_keys(2):
        result = dg.materialize(_assets(), partition_key=key, resources=resources, instance=instance)
        assert result.success
        runs[key] = result.run_id
    return path, runs, resources, instance


def test_every_row_carries_lineage(two_rounds):
    path, runs, _, _ = two_rounds
    with duckdb.connect(path, read_only=True) as con:
        for table in ("visitors", "rounds", "truth_visitors", "truth_rounds", "sim_features",
                      "sim_potential_outcomes", "round_plans", "round_segments", "visitor_effects", "round_fits",
                      "round_scores"):
            rows = con.execute(f'SELECT round_key, run_id, count(*), min(length(code_version)), '
                               f'count(DISTINCT experiment_id) FROM "{table}" GROUP BY ALL ORDER BY 1').fetchall()
            assert [(r[0], r[1]) for r in rows] == sorted(runs.items()), table
            assert all(r[3] > 0 and r[4] == 1 for r in rows), table
        assert con.execute("SELECT count(*) FROM visitors").fetchone()[0] == 3000
        lineage = con.execute('SELECT round_key, plan_run_id, fit_run_id, data_run_id, visitors_fitted '
                              'FROM "lineage" ORDER BY round_key').fetchall()
        assert [(r[0], r[1], r[2], r[3]) for r in lineage] == [(k, v, v, v) for k, v in sorted(runs.items())]
        assert [r[4] for r in lineage] == [1500, 3000]  # cumulative fits


def test_stored_rounds_load_back_cumulatively_with_aligned_truth(two_rounds):
    path, runs, _, _ = two_rounds
    observed = pt.load_experiment(path, "pipe-test")
    assert observed.n_visitors == 3000 and observed.n_arms == 3
    assert not {"cluster_id", "run_id", "round_key"} & set(observed.variants[0].visitors.columns)
    truth = read_round_truth(path, "pipe-test")
    # Recompute each stored row's effect from its own features: a misaligned truth cannot pass.
    effects = scenario("reversal", k=3, profile="stress").effects(observed.visitors())
    np.testing.assert_allclose(truth.contrasts(), effects, rtol=1e-9, atol=1e-12)
    only_first = pt.load_experiment(path, "pipe-test", rounds=[first_round_keys(1)[0]])
    assert only_first.n_visitors == 1500
    # Round 1 ran the cold start (control 50% + uniform 50%): P(control) = 0.5 + 0.5 / 3 for everyone.
    np.testing.assert_allclose(pt.propensity_matrix(only_first), [[2 / 3, 1 / 6, 1 / 6]] * 1500)


def test_device_resource_picks_a_device_or_fails_with_the_fix():
    assert JaxDevice(device="cpu").selected().platform == "cpu"
    assert JaxDevice().selected().platform in ("cpu", "gpu")
    with pytest.raises(dg.Failure, match="Fix"):
        JaxDevice(device="tpu").selected()
    import jax

    if not any(d.platform == "gpu" for d in jax.devices()):
        with pytest.raises(dg.Failure, match="no GPU"):
            JaxDevice(device="gpu").selected()


def test_round_checks_are_reported(two_rounds):
    _, runs, _, instance = two_rounds
    from pytyche_pipelines.assets.round_loop import ROUND_CHECKS

    for run_id in runs.values():
        events = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        results = {e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data.passed
                   for e in events}
        assert set(results) == {name for name, _ in ROUND_CHECKS}
        assert all(passed for name, passed in results.items() if name != "convergence"), results


def test_the_second_round_was_assigned_by_the_first_rounds_plan(two_rounds):
    from pytyche_core.experiment import mixture_probabilities
    from pytyche_core.experiment.stored import read_plan

    path, _, _, _ = two_rounds
    first, second = first_round_keys(2)
    plan = read_plan(path, "pipe-test", first)
    assert [c.name for c in plan.cells] == ["control", "explore", "optimized"]
    observed = pt.load_experiment(path, "pipe-test", rounds=[second])
    expected = mixture_probabilities(plan.cells, observed.visitors(), observed.arm_names)
    np.testing.assert_allclose(pt.propensity_matrix(observed), expected, atol=1e-9)
    assert set(observed.visitors()["cell"].astype(str)) <= {"control", "explore", "optimized"}


def test_a_round_without_its_predecessor_fails_and_plans_nothing(tmp_path):
    path = str(tmp_path / "pytyche.duckdb")
    resources = _resources(path)
    result = dg.materialize(_assets(), partition_key=first_round_keys(2)[1], resources=resources,
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    with duckdb.connect(path, read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "round_plans" not in tables


def test_rematerialising_a_round_replaces_it(two_rounds):
    path, runs, resources, instance = two_rounds
    key = first_round_keys(1)[0]
    before = pt.load_experiment(path, "pipe-test", rounds=[key]).visitors()
    result = dg.materialize(_assets(), partition_key=key, resources=resources, instance=instance)
    assert result.success
    after = pt.load_experiment(path, "pipe-test", rounds=[key]).visitors()
    assert len(after) == 1500
    assert before.equals(after)  # same seed and round: the same visitors and outcomes
    with duckdb.connect(path, read_only=True) as con:
        assert con.execute("SELECT DISTINCT run_id FROM visitors WHERE round_key = ?", [key]).fetchall() \
            == [(result.run_id,)]


@pytest.mark.parametrize("bad", [{"scenario": "no_such_scenario"}, {"arms": 7}, {"min_control_weight": 0.99},
                                 {"visitors_per_round": 0}, {"on_empty_arm": "ignore"}])
def test_a_bad_experiment_is_refused_when_it_is_built(bad):
    with pytest.raises(ValueError, match="Fix|>= 1|must"):
        SimulatedExperiment(**{**EXPERIMENT, **bad})


def test_fit_settings_left_alone_are_the_librarys_defaults():
    fields = ("mu_trees", "tau_trees", "burn_in", "draws", "chains")
    spec = SimulatedExperiment(**{name: value for name, value in EXPERIMENT.items() if name not in fields})
    assert spec.fit_config() == pt.BCFConfig()


def test_a_bad_spec_file_names_the_file_and_the_entry(tmp_path):
    path = tmp_path / "experiments.yaml"
    path.write_text("experiments:\n  - experiment_id: a\n    scenario: nope\n")
    with pytest.raises(ValueError, match="experiments.yaml.*experiments\\[0\\]"):
        load_experiments(path)
    path.write_text("experiments:\n  - experiment_id: a-b\n  - experiment_id: a_b\n")
    with pytest.raises(ValueError, match="repeat"):
        load_experiments(path)
    with pytest.raises(FileNotFoundError, match="PYTYCHE_EXPERIMENTS"):
        load_experiments(tmp_path / "missing.yaml")


def test_a_changed_design_never_touches_the_old_experiment(two_rounds):
    path, runs, resources, instance = two_rounds
    before = pt.load_experiment(path, "pipe-test").visitors()
    result = dg.materialize(_assets(scenario="constant"), partition_key=first_round_keys(1)[0], resources=resources,
                            instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "another design" in str(failure.event_specific_data.error) and "Fix" in str(
        failure.event_specific_data.error)
    assert pt.load_experiment(path, "pipe-test").visitors().equals(before)


def test_main_job_runs_and_prints_a_summary(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    code = main(["--rounds", "2", "--visitors-per-round", "1500", "--scenario", "reversal", "--arms", "3",
                 "--profile", "stress", "--duckdb", str(tmp_path / "out.duckdb"), "--experiment-id", "cli-test",
                 *[f"--{k.replace('_', '-')}={v}" for k, v in FIT.items()]])
    out = capsys.readouterr().out
    assert code == 0
    assert "round 2026-01-12" in out and "treatment" in out and "true_effect" in out
    assert "gap_captured" in out and "The plan for the next round" in out
    assert pt.load_experiment(tmp_path / "out.duckdb", "cli-test").n_visitors == 3000
    assert (tmp_path / "home" / "dagster.yaml").exists()


def test_dagster_cli_validates_the_workspace(tmp_path):
    root = Path(__file__).resolve().parents[2]
    dagster = Path(sys.executable).parent / "dagster"
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    done = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All code locations passed validation" in done.stdout + done.stderr


def test_round_sizes_follow_the_list_and_the_last_repeats():
    experiment = SimulatedExperiment(**{**EXPERIMENT, "round_sizes": [50_000, 100_000, 200_000]})
    assert [experiment.round_size(i) for i in range(4)] == [50_000, 100_000, 200_000, 200_000]
    assert experiment.schedule().next_round_size(1) == 100_000
    assert experiment.design()["round_sizes"] == [50_000, 100_000, 200_000]
    assert SimulatedExperiment(**EXPERIMENT).round_size(5) == EXPERIMENT["visitors_per_round"]


def test_stored_scores_use_truth_aligned_with_the_fitted_rows(two_rounds):
    from pytyche_core.experiment.stored import read_fit_file, read_score

    path, _, _, _ = two_rounds
    second = first_round_keys(2)[1]
    result = pt.load_result(read_fit_file(path, "pipe-test", second).path)
    truth = scenario("reversal", k=3, profile="stress").effects(result.observed.visitors())
    estimate = result.cate_samples.mean(axis=1, dtype=np.float64)
    expected = float(np.sqrt(np.mean((estimate - truth) ** 2)))
    assert read_score(path, "pipe-test", second).cate_rmse == pytest.approx(expected, rel=1e-4)


def test_a_failed_fit_produces_no_plan(tmp_path, monkeypatch):
    from pytyche_core.experiment import round_step
    from pytyche_core.experiment.stored import PLANS_TABLE

    path = str(tmp_path / "pytyche.duckdb")
    resources = _resources(path)

    def broken_fit(*args, **kwargs):
        raise RuntimeError("the sampler fell over")

    monkeypatch.setattr(round_step, "fit", broken_fit)
    result = dg.materialize(_assets(), partition_key=first_round_keys(1)[0], resources=resources,
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not result.success
    with duckdb.connect(path, read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        visitors = con.execute("SELECT count(*) FROM visitors").fetchone()[0]
    assert PLANS_TABLE not in tables and visitors == 0  # the round lands whole or not at all


def test_round_metadata_carries_the_reports_figures(two_rounds):
    """The assets show the figures the HTML report draws, from the same plotting functions."""
    _, runs, _, instance = two_rounds
    events = instance.all_logs(next(iter(runs.values())), of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    metadata = {tuple(e.dagster_event.event_specific_data.materialization.asset_key.path[1:]):
                e.dagster_event.event_specific_data.materialization.metadata for e in events}
    assert {"posterior lift", "conversion and order value"} <= set(metadata[("analysis",)])
    assert "segment tree" in metadata[("policy_tree",)]
    assert {"regret and oracle gap", "interval calibration"} <= set(metadata[("truth_comparison",)])
