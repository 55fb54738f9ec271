"""The simulation-based calibration run: simulate and fit replicates, then fit the artifact.

``run_calibration(scenarios, seeds, n=..., config=...)`` simulates every
(scenario, seed) pair, fits it, and fits an ``IntervalCalibration`` on the
draws against the true effects (``posterior.calibration.fit_interval_calibration``).
With K >= 3 arms every treatment's contrast is one replicate of its own: the
artifact is one correction for every contrast, fitted on all of them.
It sits in the experiment layer because it drives both the simulator and the
estimator.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence

import numpy as np

from ..bcf.config import BCFConfig
from ..contracts._checks import integer
from ..posterior.calibration import TARGETS, IntervalCalibration, fit_interval_calibration
from ..posterior.fit import fit
from ..simulate import simulate
from ..simulate.scenarios import Scenario, scenario


@dataclasses.dataclass(frozen=True, eq=False)
class CalibrationReplicate:
    """One simulated and fitted contrast: draws ``(m, S)`` against truth ``(m,)``.

    m is the number of visitors (target ``"visitor"``) or 1 (``"average"``);
    ``contrast`` is the treatment's index among the K - 1 contrasts.
    """

    scenario: str
    seed: int
    samples: np.ndarray
    truth: np.ndarray
    contrast: int = 0


def _scenario_objects(scenarios: Sequence[Scenario | str], k: int) -> list[Scenario]:
    if isinstance(scenarios, (str, Scenario)):
        scenarios = [scenarios]
    out = []
    for item in scenarios:
        sc = scenario(item, k=k) if isinstance(item, str) else item
        if not isinstance(sc, Scenario):
            raise TypeError(f"run_calibration: scenario {item!r} is neither a name nor a Scenario. Fix: pass "
                            "names such as 'reversal' or scenario(...) objects.")
        out.append(sc)
    if not out:
        raise ValueError("run_calibration: no scenarios. Fix: pass at least one name or Scenario.")
    return out


def calibration_replicates(scenarios: Sequence[Scenario | str], seeds: Sequence[int], *, n: int,
                           config: BCFConfig | None = None, target: str = "visitor", k: int = 2,
                           progress: bool = False) -> list[CalibrationReplicate]:
    """Simulate and fit every (scenario, seed) pair, returning draws against truth per contrast.

    Scenarios are ``Scenario`` objects (``scenario(name, k=3, ...)``) or
    names, which mean ``scenario(name, k=k)`` (revenue per visitor, the
    realistic profile). Every treatment's contrast is one replicate. Each pair: ``pt.simulate(sc.config(n, seed=seed))``
    then ``pt.fit(observed, config=config, seed=seed)``. ``target="visitor"``
    keeps every visitor's draws ``(n, S)``; ``"average"`` the per-draw mean
    over visitors ``(1, S)`` against the true average effect.
    """
    if target not in TARGETS:
        raise ValueError(f"calibration_replicates: target {target!r}. Fix: use one of {list(TARGETS)}.")
    objects = _scenario_objects(scenarios, integer("run_calibration", "k", k, minimum=2))
    seeds = [integer("run_calibration", "seeds[]", s, minimum=0) for s in seeds]
    n = integer("run_calibration", "n", n, minimum=2)
    if not seeds:
        raise ValueError("run_calibration: no seeds. Fix: pass at least one seed (several, for a usable fit).")
    pairs = list(itertools.product(objects, seeds))
    if progress:
        from tqdm.auto import tqdm

        pairs = tqdm(pairs, desc="calibration replicates")
    out = []
    for sc, seed in pairs:
        observed, truth = simulate(sc.config(n, seed=seed))
        samples, contrasts = fit(observed, config=config, seed=seed).cate_samples, truth.contrasts()
        for j in range(contrasts.shape[1]):
            draws, effect = samples[:, :, j], contrasts[:, j]
            if target == "average":
                draws, effect = draws.mean(axis=0, dtype=np.float64)[None, :], np.array([effect.mean()])
            out.append(CalibrationReplicate(sc.label, seed, np.asarray(draws, dtype=np.float64), effect, j))
    return out


def run_calibration(scenarios: Sequence[Scenario | str], seeds: Sequence[int], *, n: int,
                    config: BCFConfig | None = None, level: float = 0.8, target: str = "visitor", k: int = 2,
                    progress: bool = False) -> IntervalCalibration:
    """The simulation-based calibration run: replicates of every (scenario, seed), then the artifact.

    See ``calibration_replicates`` for the scenarios and the replicates, and
    ``fit_interval_calibration`` for the fit (``level`` is its target level).
    Check the result on other seeds before trusting it.
    """
    config = BCFConfig() if config is None else config
    replicates = calibration_replicates(scenarios, seeds, n=n, config=config, target=target, k=k,
                                        progress=progress)
    return fit_interval_calibration(
        [r.samples for r in replicates], [r.truth for r in replicates], target_level=level, target=target,
        scenarios=tuple(dict.fromkeys(r.scenario for r in replicates)),
        seeds=tuple(dict.fromkeys(r.seed for r in replicates)), n_visitors=n, config=config)
