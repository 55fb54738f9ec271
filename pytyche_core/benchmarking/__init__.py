"""Our estimator beside its peers on the simulator's catalog: the systems, the scores, one comparison.

Used by the scripts in ``benchmarks/`` and by the pipeline's accuracy
benchmark partitions, so a figure from either is computed the same way.
The peers (stochtree, bartz, EconML) are the ``bench`` extra:
``pip install -e '.[bench]'``.
"""

from .peers import Estimate, as_estimate
from .scores import quartile_groups, score
from .systems import SYSTEMS, check_systems, compare_on_scenario, estimate_system, score_system

__all__ = ["SYSTEMS", "Estimate", "as_estimate", "check_systems", "compare_on_scenario", "estimate_system",
           "quartile_groups", "score", "score_system"]
