"""Contract types: invariants hold, bad values fail closed with a named fix."""

from __future__ import annotations

import dataclasses
import json
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pytyche_core as pt
from pytyche_core.contracts import (
    AlignedVisitorArray,
    AlignmentViolation,
    CalibrationBundle,
    CalibrationRecord,
    CalibrationTruth,
    ContractViolation,
    Decision,
    DecisionThresholds,
    DiscoveredSegment,
    MetricFamily,
    ObservedExperimentData,
    RecommendationSummary,
    SchemaViolation,
    VariantData,
    is_reserved_propensity_column,
)
from tests.builders import visitor_frame


def observed(k: int = 2, n: int = 20, **frames_kw) -> ObservedExperimentData:
    names = ["control"] + (["treatment"] if k == 2 else [f"treatment_{j}" for j in range(1, k)])
    variants = [VariantData.from_visitors(name, visitor_frame(name, n, seed=i, **frames_kw))
                for i, name in enumerate(names)]
    return ObservedExperimentData("exp-1", "revenue_per_visitor", variants)


# -- schema ---------------------------------------------------------------------------

@pytest.mark.parametrize("name,reserved", [
    ("propensity", True), ("propensity_0", True), ("propensity_1", True), ("propensity_12", True),
    ("propensity_x", False), ("propensities", False), ("Propensity", False), ("cell", False),
])
def test_reserved_propensity_columns(name, reserved):
    assert is_reserved_propensity_column(name) is reserved


def test_visitor_schema_is_read_only():
    with pytest.raises(TypeError):
        pt.VISITOR_SCHEMA["extra"] = "object"  # type: ignore[index]


def test_metric_families():
    assert pt.metric_family("revenue_per_visitor") is MetricFamily.HURDLE_REAL
    assert pt.metric_family("conversion_rate") is MetricFamily.BINARY
    with pytest.raises(ValueError, match="Fix"):
        pt.metric_family("clicks")


# -- observed data ------------------------------------------------------------------------

def test_observed_accessors_and_alignment_order():
    data = observed(k=3, n=5)
    assert data.control_name == "control"
    assert data.treatment_names == ("treatment_1", "treatment_2")
    assert data.feature_names == ("engagement", "device")
    frame = data.visitors()
    assert list(frame["variant"]) == ["control"] * 5 + ["treatment_1"] * 5 + ["treatment_2"] * 5
    assert list(data.arm_index()) == [0] * 5 + [1] * 5 + [2] * 5


def test_frozen_types_reject_assignment():
    data = observed()
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.metric = "conversion_rate"  # type: ignore[misc]
    assert isinstance(data.variants, tuple)


def test_fewer_than_two_arms():
    only = VariantData.from_visitors("control", visitor_frame("control", 5))
    with pytest.raises(ContractViolation, match="at least one treatment"):
        ObservedExperimentData("exp-1", "revenue_per_visitor", [only])


def test_duplicate_visitor_across_arms():
    a = VariantData.from_visitors("control", visitor_frame("control", 5))
    b_frame = visitor_frame("treatment", 5)
    b_frame.loc[2, "visitor_id"] = "control-3"
    b = VariantData.from_visitors("treatment", b_frame)
    with pytest.raises(SchemaViolation, match="control-3.*more than one arm"):
        ObservedExperimentData("exp-1", "revenue_per_visitor", [a, b])


def test_variant_totals_must_agree():
    frame = visitor_frame("control", 10)
    with pytest.raises(ContractViolation, match="n_visitors"):
        VariantData("control", frame, 9, int(frame.converted.sum()), float(frame.revenue.sum()))
    with pytest.raises(ContractViolation, match="total_revenue"):
        VariantData("control", frame, 10, int(frame.converted.sum()), float(frame.revenue.sum()) + 1)


def test_feature_columns_must_match_across_arms():
    a = VariantData.from_visitors("control", visitor_frame("control", 5))
    b = VariantData.from_visitors("treatment", visitor_frame("treatment", 5).drop(columns="device"))
    with pytest.raises(SchemaViolation, match="device"):
        ObservedExperimentData("exp-1", "revenue_per_visitor", [a, b])


def test_experiment_id_column_must_match():
    with pytest.raises(SchemaViolation, match="another experiment"):
        ObservedExperimentData("exp-2", "revenue_per_visitor", list(observed().variants))


def test_propensity_columns_follow_the_number_of_arms():
    frames = {name: visitor_frame(name, 6, seed=i) for i, name in enumerate(["control", "treatment"])}
    for frame in frames.values():
        frame["propensity_1"] = 0.5
    variants = [VariantData.from_visitors(k, v) for k, v in frames.items()]
    with pytest.raises(SchemaViolation, match="propensity"):
        ObservedExperimentData("exp-1", "revenue_per_visitor", variants)
    for frame in frames.values():
        frame["propensity"] = frame.pop("propensity_1")
        frame["cell"] = "explore"
    ok = ObservedExperimentData("exp-1", "revenue_per_visitor",
                                [VariantData.from_visitors(k, v) for k, v in frames.items()])
    assert ok.feature_names == ("engagement", "device")
    np.testing.assert_allclose(pt.propensity_matrix(ok), 0.5)


def test_received_arm_must_have_positive_probability():
    frames = {name: visitor_frame(name, 4, seed=i) for i, name in enumerate(["control", "treatment"])}
    frames["control"]["propensity"] = 0.5
    frames["treatment"]["propensity"] = [0.5, 0.0, 0.5, 0.5]
    variants = [VariantData.from_visitors(k, v) for k, v in frames.items()]
    with pytest.raises(SchemaViolation, match=r"probability 0.*row 1"):
        ObservedExperimentData("exp-1", "revenue_per_visitor", variants)


def test_validate_observed_data_catches_later_mutation():
    data = observed()
    data.variants[1].visitors.loc[3, "revenue"] = -1.0
    with pytest.raises(SchemaViolation, match=r"'treatment'.*'revenue'.*row 3"):
        pt.validate_observed_data(data)


def test_strict_mode_requires_revenue_on_conversion():
    data = observed()
    frame = data.variants[0].visitors
    row = int(np.flatnonzero(frame["converted"].to_numpy())[0])
    frame.loc[row, "revenue"] = 0.0
    pt.validate_observed_data(data)  # production data may have free conversions
    with pytest.raises(SchemaViolation, match="strict"):
        pt.validate_observed_data(data, strict=True)


def test_validate_feature_names_rejects_reserved_columns():
    data = observed()
    with pytest.raises(SchemaViolation, match="reserved"):
        pt.validate_feature_names(["engagement", "propensity"], data)
    with pytest.raises(SchemaViolation, match="not a feature"):
        pt.validate_feature_names(["age"], data)
    assert pt.validate_feature_names(["device"], data) == ("device",)


# -- hypothesis: any single corruption of a valid frame is caught and explained ----------

def _corrupt(frame: pd.DataFrame, kind: str, row: int) -> tuple[pd.DataFrame, str]:
    frame = frame.copy()
    if kind == "nan_revenue":
        frame.loc[row, "revenue"] = np.nan
        return frame, "revenue"
    if kind == "negative_revenue":
        frame.loc[row, "revenue"] = -0.01
        return frame, "revenue"
    if kind == "inf_revenue":
        frame.loc[row, "revenue"] = np.inf
        return frame, "revenue"
    if kind == "duplicate_id":
        frame.loc[row, "visitor_id"] = frame.loc[(row + 1) % len(frame), "visitor_id"]
        return frame, "visitor_id"
    if kind == "missing_column":
        return frame.drop(columns="converted"), "converted"
    if kind == "mistyped_revenue":
        frame["revenue"] = frame["revenue"].astype(str)
        return frame, "revenue"
    if kind == "mistyped_converted":
        frame["converted"] = frame["converted"].astype("int64")
        return frame, "converted"
    if kind == "negative_count":
        frame.loc[row, "orders_count"] = -1
        return frame, "orders_count"
    if kind == "wrong_variant":
        frame.loc[row, "variant"] = "other"
        return frame, "variant"
    if kind == "revenue_without_conversion":
        frame.loc[row, "converted"] = False
        frame.loc[row, "revenue"] = 5.0
        return frame, "converted"
    if kind == "bad_propensity":
        frame["propensity"] = 0.5
        frame.loc[row, "propensity"] = 1.5
        return frame, "propensity"
    raise AssertionError(kind)


KINDS = ["nan_revenue", "negative_revenue", "inf_revenue", "duplicate_id", "missing_column",
         "mistyped_revenue", "mistyped_converted", "negative_count", "wrong_variant",
         "revenue_without_conversion", "bad_propensity"]


@settings(max_examples=80, deadline=None)
@given(kind=st.sampled_from(KINDS), n=st.integers(2, 30), row=st.integers(0, 29), seed=st.integers(0, 10))
def test_any_corruption_is_reported_with_variant_column_and_fix(kind, n, row, seed):
    frame, column = _corrupt(visitor_frame("treatment", n, seed=seed), kind, row % n)
    with pytest.raises(SchemaViolation) as err:
        VariantData.from_visitors("treatment", frame)
    message = str(err.value)
    assert "'treatment'" in message and repr(column) in message and "Fix:" in message


# -- aligned arrays and truth --------------------------------------------------------------

def test_aligned_array_checks():
    with pytest.raises(AlignmentViolation):
        AlignedVisitorArray(np.zeros(3), 4)
    with pytest.raises(AlignmentViolation, match="row 1"):
        AlignedVisitorArray(np.array([0.0, np.nan]), 2)
    arr = AlignedVisitorArray(np.arange(3.0), 3)
    with pytest.raises(ValueError):
        arr.values[0] = 5.0  # read-only
    data = observed(n=5)
    with pytest.raises(AlignmentViolation, match="concatenated"):
        pt.validate_alignment(AlignedVisitorArray(np.zeros(9), 9), data)
    pt.validate_alignment(AlignedVisitorArray(np.zeros(10), 10), data)


def hurdle_truth_k2(n: int, rng: np.random.Generator) -> CalibrationTruth:
    p0, p1 = rng.uniform(0.01, 0.1, n), rng.uniform(0.01, 0.1, n)
    m0, m1 = rng.uniform(40, 80, n), rng.uniform(40, 80, n)
    conv, aov = (p1 - p0) * m0, p1 * (m1 - m0)
    a = lambda v: AlignedVisitorArray(v, n)  # noqa: E731
    return CalibrationTruth(
        effect=float(np.mean(conv + aov)), metric_id="revenue_per_visitor",
        metric_family=MetricFamily.HURDLE_REAL,
        effect_components={"conv_effect": float(conv.mean()), "aov_effect": float(aov.mean())},
        cate_per_visitor=a(p1 * m1 - p0 * m0), conv_cate_per_visitor=a(conv), aov_cate_per_visitor=a(aov),
        p0_per_visitor=a(p0), p1_per_visitor=a(p1), m0_per_visitor=a(m0), m1_per_visitor=a(m1))


def test_truth_identities_are_enforced():
    truth = hurdle_truth_k2(40, np.random.default_rng(1))
    conv, aov = truth.decomposition()
    np.testing.assert_allclose(conv[:, 0] + aov[:, 0], truth.contrasts()[:, 0])
    with pytest.raises(ContractViolation, match="aov"):
        dataclasses.replace(truth, aov_cate_per_visitor=AlignedVisitorArray(
            truth.aov_cate_per_visitor.values + 1e-3, 40))


def test_truth_k3_form():
    rng = np.random.default_rng(2)
    n = 30
    p = [rng.uniform(0.01, 0.1, n) for _ in range(3)]
    m = [rng.uniform(40, 80, n) for _ in range(3)]
    a = lambda v: AlignedVisitorArray(v, n)  # noqa: E731
    contrasts = [a(p[j] * m[j] - p[0] * m[0]) for j in (1, 2)]
    truth = CalibrationTruth(effect=0.1, metric_id="revenue_per_visitor", metric_family="hurdle_real",
                             effect_components={}, cate_per_visitor=None,
                             contrast_cate_per_visitor=contrasts, p_per_visitor=[a(v) for v in p],
                             m_per_visitor=[a(v) for v in m])
    assert truth.n_arms == 3 and truth.contrasts().shape == (n, 2)
    conv, aov = truth.decomposition()
    np.testing.assert_allclose(conv + aov, truth.contrasts(), atol=1e-12)
    with pytest.raises(ContractViolation, match="contrast"):
        CalibrationTruth(effect=0.1, metric_id="revenue_per_visitor", metric_family="hurdle_real",
                         effect_components={}, cate_per_visitor=None,
                         contrast_cate_per_visitor=contrasts[::-1], p_per_visitor=[a(v) for v in p],
                         m_per_visitor=[a(v) for v in m])


def test_bundle_checks_alignment_and_unpacks():
    data = observed(n=20)
    truth = hurdle_truth_k2(40, np.random.default_rng(3))
    observed_part, truth_part = CalibrationBundle(data, truth)
    assert observed_part is data and truth_part is truth
    with pytest.raises(AlignmentViolation, match="40 visitors"):
        CalibrationBundle(observed(n=10), truth)


# -- results and records ---------------------------------------------------------------------

def test_segment_probabilities_must_sum_to_one():
    rule = pt.SegmentRule("everyone")
    seg = DiscoveredSegment(0, rule, 0.1, (0.0, 0.2), 1.0, math.nan, {"control": 0.3, "treatment": 0.7})
    assert math.isnan(seg.stability_score) and not seg.is_stable
    with pytest.raises(ContractViolation, match="sum"):
        DiscoveredSegment(0, rule, 0.1, (0.0, 0.2), 1.0, 0.9, {"control": 0.3, "treatment": 0.6})
    with pytest.raises(ContractViolation, match="gate_ci"):
        DiscoveredSegment(0, rule, 0.1, (0.2, 0.0), 1.0, 0.9, {"control": 0.3, "treatment": 0.7})


def test_recommendation_summary_coerces_and_freezes():
    summary = RecommendationSummary("treatment", "ship", 0.0, 0.01, 0.97, 0.9, 0.01,
                                    DecisionThresholds().as_dict())
    assert summary.decision is Decision.SHIP
    assert math.isnan(summary.expected_value_of_one_more_round)
    with pytest.raises(TypeError):
        summary.thresholds["harm_threshold"] = 0.5  # type: ignore[index]
    with pytest.raises(ContractViolation, match="decision"):
        RecommendationSummary("treatment", "launch", 0.0, 0.0, 0.5, 0.5, 0.1, {})


@pytest.mark.parametrize("field,value", [("expected_loss_tolerance", 0.0), ("p_positive_threshold", 1.0),
                                          ("harm_threshold", -0.1), ("futility_threshold", float("nan"))])
def test_decision_thresholds_fail_closed(field, value):
    with pytest.raises(ContractViolation, match=field):
        DecisionThresholds(**{field: value})


def test_calibration_record_json_round_trip():
    record = CalibrationRecord(
        scenario_id="reversal", seed=3, analysis_mode="exploratory", effect=0.1,
        metric_id="revenue_per_visitor", metric_family="hurdle_real",
        effect_components={"conv_effect": 0.04, "aov_effect": 0.06}, estimator_id="hurdle_bcf",
        estimated_lift=0.09, ci_low=0.01, ci_high=0.2, ci_level=0.8, probability_positive=0.9,
        probability_better=0.7, probability_harmful=0.02, expected_loss_baseline=0.05,
        expected_loss_comparison=0.001, decision="continue", oracle_decision="ship",
        decision_correct=None, regret=0.1)
    payload = json.loads(json.dumps(record.to_dict()))
    assert CalibrationRecord.from_dict(payload) == record
    with pytest.raises(ContractViolation, match="ci_low"):
        dataclasses.replace(record, ci_low=0.3)


def test_provenance_and_registered_segment():
    rule = pt.SegmentRule("mobile", (pt.EqRule("device", "mobile"),))
    seg = DiscoveredSegment(2, rule, 0.1, (0.0, 0.2), 0.4, 0.85, {"control": 0.1, "treatment": 0.9})
    prov = pt.DiscoveryProvenance.of(seg, datetime.now(UTC))
    reg = pt.RegisteredSegment("mobile_buyers", rule, prov, "registered")
    assert reg.provenance.population_share == 0.4
    with pytest.raises(ContractViolation, match="snake_case"):
        pt.RegisteredSegment("Mobile Buyers", rule, None, "registered")
