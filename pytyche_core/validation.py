"""Fail-closed validation of observed data and of arrays aligned with it.

The contract types already check themselves when built; pandas frames stay
mutable, so these functions re-check an experiment right before it is used
(fit, store) and add the checks that need more than one object.
"""

from __future__ import annotations

from .contracts.data import AlignedVisitorArray, ObservedExperimentData, check_observed
from .contracts.errors import AlignmentViolation, SchemaViolation
from .contracts.schema import is_reserved_column

__all__ = [
    "AlignmentViolation",
    "SchemaViolation",
    "validate_alignment",
    "validate_feature_names",
    "validate_observed_data",
]


def validate_observed_data(observed: ObservedExperimentData, *, strict: bool = False) -> None:
    """Re-check every invariant of ``observed``; raise ``SchemaViolation`` on the first breach.

    ``strict=True`` adds the simulator's expectation that every conversion
    carries revenue > 0.
    """
    if not isinstance(observed, ObservedExperimentData):
        raise SchemaViolation(f"expected ObservedExperimentData, got {type(observed).__name__}. "
                              "Fix: build it with ObservedExperimentData(...) or pt.load_experiment.")
    check_observed(observed.experiment_id, observed.metric, observed.variants, strict=strict)


def validate_alignment(array: AlignedVisitorArray, observed: ObservedExperimentData) -> None:
    """Raise ``AlignmentViolation`` unless ``array`` has one row per observed visitor."""
    if not isinstance(array, AlignedVisitorArray):
        raise AlignmentViolation(f"expected AlignedVisitorArray, got {type(array).__name__}. "
                                 "Fix: wrap per-visitor arrays in AlignedVisitorArray.")
    if array.n_visitors != observed.n_visitors:
        raise AlignmentViolation(
            f"array has {array.n_visitors} rows but experiment {observed.experiment_id!r} has "
            f"{observed.n_visitors} visitors ({', '.join(f'{v.name}={v.n_visitors}' for v in observed.variants)}). "
            "Fix: build the array over the concatenated visitor rows, control first."
        )


def validate_feature_names(names: list[str] | tuple[str, ...], observed: ObservedExperimentData) -> tuple[str, ...]:
    """Check a requested feature list: known columns, never reserved design columns."""
    out = tuple(names)
    for name in out:
        if is_reserved_column(name):
            raise SchemaViolation(f"column {name!r} is a reserved design column (propensity or cell) "
                                  "and is never a feature. Fix: drop it from the feature list.")
        if name not in observed.feature_names:
            raise SchemaViolation(f"feature {name!r} is not a feature column of experiment "
                                  f"{observed.experiment_id!r} (features: {list(observed.feature_names)}). "
                                  "Fix: name an existing feature column.")
    return out
