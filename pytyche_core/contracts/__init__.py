"""pytyche's typed contracts: the boundary types every stage agrees on.

Containment runs visitor -> variant -> experiment -> program; segments cut
across it. Three boundaries are enforced by the types themselves:

- observed vs truth: ``ObservedExperimentData`` has no truth field;
  ``CalibrationTruth`` travels only on the simulation path.
- analysis vs diagnostics: ``AnalysisResult`` carries results,
  ``DiagnosticsBundle`` the sampler internals.
- discovery vs internals: ``DiscoveredSegment`` exposes what a segment is and
  does, never the fitted tree behind it.

Every type is a frozen dataclass (or NamedTuple) that checks itself on
construction and fails with a message naming the field and the fix.
"""

from .data import AlignedVisitorArray, ObservedExperimentData, VariantData, propensity_matrix
from .errors import AlignmentViolation, ContractViolation, SchemaViolation
from .results import (
    AnalysisResult,
    ChannelLift,
    Comparison,
    ComparisonResult,
    DecisionThresholds,
    Decomposition,
    DecompositionSamples,
    DiagnosticsBundle,
    RecommendationSummary,
)
from .revenue import CartRevenueConfig, ProductCategory
from .rules import (
    BetweenRule,
    ComparisonRule,
    EqRule,
    InRule,
    RuleClause,
    SegmentRule,
    apply_rule,
    clause_mask,
)
from .schema import (
    METRIC_FAMILIES,
    RESERVED_CELL_COLUMN,
    RESERVED_PROPENSITY_COLUMN,
    RESERVED_PROPENSITY_PREFIX,
    VISITOR_SCHEMA,
    ClaimLevel,
    Decision,
    MetricFamily,
    is_feature_column,
    is_reserved_column,
    is_reserved_propensity_column,
    metric_family,
    propensity_columns,
)
from .segments import (
    STABILITY_CUTOFF,
    DepthScore,
    DiscoveredSegment,
    DiscoveryProvenance,
    PolicyTreeResult,
    RegisteredSegment,
)
from .truth import CalibrationBundle, CalibrationRecord, CalibrationTruth

__all__ = [
    "METRIC_FAMILIES",
    "RESERVED_CELL_COLUMN",
    "RESERVED_PROPENSITY_COLUMN",
    "RESERVED_PROPENSITY_PREFIX",
    "STABILITY_CUTOFF",
    "VISITOR_SCHEMA",
    "AlignedVisitorArray",
    "AlignmentViolation",
    "AnalysisResult",
    "BetweenRule",
    "CalibrationBundle",
    "CalibrationRecord",
    "CalibrationTruth",
    "CartRevenueConfig",
    "ChannelLift",
    "ClaimLevel",
    "Comparison",
    "ComparisonResult",
    "ComparisonRule",
    "ContractViolation",
    "Decision",
    "DecisionThresholds",
    "Decomposition",
    "DecompositionSamples",
    "DiagnosticsBundle",
    "DepthScore",
    "DiscoveredSegment",
    "DiscoveryProvenance",
    "EqRule",
    "InRule",
    "MetricFamily",
    "ObservedExperimentData",
    "ProductCategory",
    "RecommendationSummary",
    "PolicyTreeResult",
    "RegisteredSegment",
    "RuleClause",
    "SchemaViolation",
    "SegmentRule",
    "VariantData",
    "apply_rule",
    "clause_mask",
    "is_feature_column",
    "is_reserved_column",
    "is_reserved_propensity_column",
    "metric_family",
    "propensity_columns",
    "propensity_matrix",
]
