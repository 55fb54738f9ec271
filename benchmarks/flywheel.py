"""The adaptive loop against the truth: one JSON line per round.

Runs ``pt.sequential_experiment`` on a catalog scenario (simulation mode) and
prints, per round, the scores of ``pytyche_core.experiment.truth`` beside the
two reference policies every round is measured against: the uniform design
(every arm equally likely: no targeting) and the oracle (each visitor on its
truly best arm). Keys include ``scenario``, ``k``, ``round``,
``n_cumulative``, ``oracle_gap_captured``, ``cumulative_regret``,
``gate_rmse``, ``segments``, ``policy_accuracy`` and ``seconds``.

    .venv/bin/python benchmarks/flywheel.py --scenario clustered --k 3 --profile realistic \\
        --rounds 3 --visitors 10000 --seed 0

``--seeds 0 1 2`` runs several experiments one after another; ``--fast``
uses a short chain (for a smoke run, not for figures).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time


def _clean(value):
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 6)
    return value


def run(scenario: str, k: int, profile: str, rounds: int, visitors: int, seed: int, depth: int | str,
        fast: bool, assignable: list[str] | None, geometric: float | None, control: str = "fixed") -> list[dict]:
    import pytyche_core as pt

    # "fixed": the engine's own Control cell (its floor); "decaying": Control 50% -> 30% -> 10% of traffic.
    control_share = pt.DecayingControlShare() if control == "decaying" else None

    config = pt.BCFConfig(burn_in=40, draws=40, chains=1, mu_trees=50, tau_trees=20) if fast else pt.BCFConfig()
    schedule = pt.GeometricSchedule(visitors, geometric, rounds=rounds) if geometric else \
        pt.FixedSchedule(visitors, rounds=rounds)
    experiment = pt.sequential_experiment(scenario, k=k, profile=profile, schedule=schedule, config=config,
                                          seed=seed, max_segment_depth=depth, assignable_attributes=assignable,
                                          control_share=control_share)
    lines = []
    started = time.perf_counter()
    for record in experiment:
        score = record.score
        routing = record.plan.routing
        line = {
            "scenario": scenario, "k": k, "profile": profile, "seed": seed, "depth": depth, "control": control,
            "round": record.round_index,
            "n_round": score.n_round, "n_cumulative": score.n_cumulative,
            "oracle_gap_captured": score.oracle_gap_captured, "expected_lift": score.expected_lift,
            "oracle_lift": score.oracle_lift, "uniform_lift": score.uniform_lift,
            "best_arm_lift": score.best_arm_lift, "targeting_regret": score.targeting_regret,
            "cumulative_regret": score.cumulative_regret, "deployed_lift": score.deployed_lift,
            "realized_lift": score.realized_lift, "cumulative_deployed_regret": score.cumulative_deployed_regret,
            "cate_rmse": score.cate_rmse, "gate_rmse": score.gate_rmse, "segments": score.segment_count,
            "segment_stability": score.segment_stability, "policy_accuracy": score.policy_accuracy,
            "guardrail_change": score.policy_guardrail_change,
            "routes": {str(r.segment_id): f"{r.arm} ({r.source})" for r in routing.routes},
            "decision": record.plan.decision.decision.value, "dropped": record.plan.dropped_treatments,
            "fit_seconds": record.seconds["fit"], "seconds": time.perf_counter() - started,
        }
        line = {key: _clean(value) for key, value in line.items()}
        print(json.dumps(line), flush=True)
        lines.append(line)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="clustered")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--profile", default="realistic")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--visitors", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, nargs="*", help="several seeds (overrides --seed)")
    parser.add_argument("--depth", type=lambda v: v if v == "cv" else int(v), default=2,
                        help="policy-tree depth, or 'cv' to choose it by cross-validation each round")
    parser.add_argument("--control", choices=("fixed", "decaying"), default="fixed",
                        help="Control share: the engine's fixed floor, or decaying 50%% -> 30%% -> 10%%")
    parser.add_argument("--geometric", type=float, default=None, help="grow rounds by this ratio")
    parser.add_argument("--assignable", nargs="*", default=None, help="features the tree may split on")
    parser.add_argument("--fast", action="store_true", help="short chains (smoke run)")
    args = parser.parse_args()
    import pytyche_core as pt

    pt.enable_compilation_cache()
    print(json.dumps({"machine": platform.processor() or platform.machine(), "python": platform.python_version(),
                      "args": vars(args)}), flush=True)
    for seed in (args.seeds if args.seeds else [args.seed]):
        run(args.scenario, args.k, args.profile, args.rounds, args.visitors, seed, args.depth, args.fast,
            args.assignable, args.geometric, args.control)


if __name__ == "__main__":
    main()
