"""The segment registry: storing, reading back and deploying registered segments in DuckDB."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from pytyche_core.contracts import (
    BetweenRule,
    ClaimLevel,
    ComparisonRule,
    ContractViolation,
    DiscoveredSegment,
    EqRule,
    InRule,
    RegisteredSegment,
    SegmentRule,
    apply_rule,
)
from pytyche_core.segments import REGISTRY_TABLE, RegistryEntry, SegmentRegistry

WHEN = dt.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC)

RULE = SegmentRule("young, on a phone", (
    ComparisonRule("age", "lt", 30.5),
    InRule("device", ("mobile", "it's a tablet")),
    BetweenRule("spend", 0.1, 0.30000000000000004),
))


def discovered(stability: float = 0.85, rule: SegmentRule = RULE) -> DiscoveredSegment:
    return DiscoveredSegment(3, rule, 0.12, (0.02, 0.2), 0.35, stability,
                             {"control": 0.1, "treatment": 0.9})


def same(a: RegistryEntry, b: RegistryEntry) -> bool:
    """Field-by-field equality that treats a NaN stability as equal to NaN."""
    pa, pb = a.segment.provenance, b.segment.provenance
    if (pa is None) != (pb is None):
        return False
    if pa is not None:
        if not (math.isnan(pa.stability_score) and math.isnan(pb.stability_score)
                or pa.stability_score == pb.stability_score):
            return False
        if dataclasses.replace(pa, stability_score=0.0) != dataclasses.replace(pb, stability_score=0.0):
            return False
    plain = lambda e: dataclasses.replace(  # noqa: E731
        e, segment=dataclasses.replace(e.segment, provenance=None))
    return plain(a) == plain(b) and a.segment.rule == b.segment.rule


@pytest.fixture
def path(tmp_path):
    return tmp_path / "registry.duckdb"


def test_register_discovered_segment(path):
    registry = SegmentRegistry(path)
    entry = registry.register("young_mobile", discovered(), claim_level=ClaimLevel.HONEST_ESTIMATE,
                              experiment_id="exp-1", round_key="2024-05-06", discovered_at=WHEN)
    seg = entry.segment
    assert seg.key == entry.key == "young_mobile"
    assert seg.rule == RULE and seg.lifecycle == "registered"
    assert (seg.provenance.gate_estimate, seg.provenance.stability_score,
            seg.provenance.population_share, seg.provenance.discovered_at) == (0.12, 0.85, 0.35, WHEN)
    assert entry.claim_level is ClaimLevel.HONEST_ESTIMATE
    assert (entry.experiment_id, entry.round_key, entry.deployed_at) == ("exp-1", "2024-05-06", None)
    assert entry.registered_at.tzinfo is not None
    assert "young_mobile" in registry and len(registry) == 1
    assert same(registry.get("young_mobile"), entry)


def test_register_bare_rule_has_no_provenance(path):
    registry = SegmentRegistry(path)
    entry = registry.register("hand_written", SegmentRule("everyone"), claim_level="confirmed")
    assert entry.segment.provenance is None
    assert entry.claim_level is ClaimLevel.CONFIRMED  # confirmed without provenance is allowed
    assert (entry.experiment_id, entry.round_key) == (None, None)
    back = SegmentRegistry(path).get("hand_written")
    assert same(back, entry) and back.segment.provenance is None
    with pytest.raises(ContractViolation, match="discovered_at"):
        registry.register("other", SegmentRule("everyone"), discovered_at=WHEN)


def test_discovered_at_defaults_to_now_utc(path):
    before = dt.datetime.now(dt.UTC)
    entry = SegmentRegistry(path).register("young_mobile", discovered())
    assert before <= entry.segment.provenance.discovered_at <= dt.datetime.now(dt.UTC)


def test_round_trip_through_a_new_registry(path):
    first = SegmentRegistry(path)
    written = [
        first.register("young_mobile", discovered(math.nan), experiment_id="exp-1",
                       round_key="r1", discovered_at=WHEN),
        first.register("stable_one", discovered(0.9, SegmentRule("tablets", (EqRule("device", "tablet"),))),
                       claim_level=ClaimLevel.HONEST_ESTIMATE, experiment_id="exp-1", discovered_at=WHEN),
        first.register("by_hand", SegmentRule("everyone")),
    ]
    first.deploy("stable_one")
    written[1] = first.get("stable_one")
    read = SegmentRegistry(path).entries()
    assert [e.key for e in read] == ["by_hand", "stable_one", "young_mobile"]  # ordered by key
    for entry in read:
        expected = next(w for w in written if w.key == entry.key)
        assert same(entry, expected), entry.key
    nan_entry = read[2]
    assert math.isnan(nan_entry.segment.provenance.stability_score)
    assert nan_entry.segment.rule == RULE
    # NaN is stored as NaN (not computed), not NULL (no provenance).
    con = duckdb.connect(str(path), read_only=True)
    try:
        row = con.execute(f'SELECT "stability_score" IS NULL, isnan("stability_score") '
                          f'FROM "{REGISTRY_TABLE}" WHERE "key" = ?', ["young_mobile"]).fetchone()
    finally:
        con.close()
    assert row == (False, True)


def test_duplicate_key_refused_and_nothing_written(path):
    registry = SegmentRegistry(path)
    original = registry.register("young_mobile", discovered(), discovered_at=WHEN)
    with pytest.raises(ValueError, match="'young_mobile' is already registered.*Fix"):
        registry.register("young_mobile", SegmentRule("everyone"), claim_level="confirmed")
    assert len(registry) == 1 and same(registry.get("young_mobile"), original)


def test_invalid_input_writes_nothing(path):
    registry = SegmentRegistry(path)
    with pytest.raises(ContractViolation, match="snake_case"):
        registry.register("Young Mobile", RULE)
    with pytest.raises(ContractViolation, match=r"claim_level: got 'certain'.*Fix"):
        registry.register("young_mobile", RULE, claim_level="certain")
    with pytest.raises(ContractViolation, match="round_key"):
        registry.register("young_mobile", RULE, round_key="r1")
    with pytest.raises(ContractViolation, match="time zone"):
        registry.register("young_mobile", discovered(), discovered_at=dt.datetime(2024, 1, 1))
    with pytest.raises(ContractViolation, match="segment_or_rule"):
        registry.register("young_mobile", "age < 30")
    assert not path.exists() and len(registry) == 0


def test_claim_levels_stored_and_read_back(path):
    registry = SegmentRegistry(path)
    for level in ClaimLevel:
        registry.register(f"seg_{level.value}", RULE, claim_level=level)
    back = {e.key: e.claim_level for e in SegmentRegistry(path).entries()}
    assert back == {f"seg_{level.value}": level for level in ClaimLevel}


def test_deploy_lifecycle(path):
    registry = SegmentRegistry(path)
    registered = registry.register("young_mobile", discovered(), discovered_at=WHEN)
    deployed = registry.deploy("young_mobile")
    assert deployed.segment.lifecycle == "deployed"
    assert deployed.deployed_at is not None and deployed.deployed_at >= registered.registered_at
    assert same(SegmentRegistry(path).get("young_mobile"), deployed)
    registry.register("later", SegmentRule("everyone"))
    assert [e.key for e in registry.entries("deployed")] == ["young_mobile"]
    assert [e.key for e in registry.entries("registered")] == ["later"]
    with pytest.raises(ContractViolation, match="lifecycle"):
        registry.entries("retired")


def test_deploy_errors(path):
    registry = SegmentRegistry(path)
    with pytest.raises(KeyError, match="no segment 'ghost'"):
        registry.deploy("ghost")
    assert not path.exists()  # deploying an unknown key does not create the file
    registry.register("young_mobile", RULE)
    with pytest.raises(KeyError, match=r"'ghost'.*one of \['young_mobile'\]"):
        registry.deploy("ghost")
    first = registry.deploy("young_mobile")
    with pytest.raises(ValueError, match="'young_mobile' is already deployed.*Fix"):
        registry.deploy("young_mobile")
    assert registry.get("young_mobile").deployed_at == first.deployed_at


def test_get_unknown_names_known_keys(path):
    registry = SegmentRegistry(path)
    registry.register("alpha", RULE)
    registry.register("beta", RULE)
    with pytest.raises(KeyError, match=r"no segment 'gamma'.*\['alpha', 'beta'\]"):
        registry.get("gamma")
    assert "gamma" not in registry and 3 not in registry


def test_members_equals_apply_rule(path):
    registry = SegmentRegistry(path)
    registry.register("young_mobile", RULE)
    visitors = pd.DataFrame({
        "age": [20.0, 40.0, 25.0, np.nan, 30.5, 18.0],
        "device": ["mobile", "mobile", "it's a tablet", "mobile", "mobile", "desktop"],
        "spend": [0.2, 0.2, 0.1, 0.2, 0.2, 0.2],
    })
    mask = registry.members("young_mobile", visitors)
    assert mask.dtype == np.bool_
    np.testing.assert_array_equal(mask, apply_rule(RULE, visitors))
    assert mask.tolist() == [True, False, True, False, False, False]


def test_quotes_and_sql_text_stored_verbatim(path):
    nasty = "x'); DROP TABLE segment_registry; -- \"quoted\" ?"
    rule = SegmentRule(nasty, (EqRule('dev"ice', "it's; DELETE FROM t"),))
    registry = SegmentRegistry(path)
    entry = registry.register("drop_table_segment_registry", discovered(rule=rule),
                              experiment_id=nasty, round_key="r'1\"; --", discovered_at=WHEN)
    back = SegmentRegistry(path).get("drop_table_segment_registry")
    assert same(back, entry)
    assert back.segment.rule.description == nasty and back.experiment_id == nasty
    assert back.round_key == "r'1\"; --"
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute(f'SELECT "description" FROM "{REGISTRY_TABLE}"').fetchall() == [(nasty,)]
    finally:
        con.close()
    # A key that is not snake_case (quotes, SQL) is refused before any SQL runs.
    with pytest.raises(ContractViolation, match="snake_case"):
        registry.register("a'; DROP TABLE x; --", RULE)
    assert len(registry) == 1


def test_missing_file_reads_empty_and_is_not_created(tmp_path):
    path = tmp_path / "nowhere.duckdb"
    registry = SegmentRegistry(path)
    assert registry.entries() == [] and registry.entries("deployed") == []
    assert len(registry) == 0 and "anything" not in registry
    with pytest.raises(KeyError, match="register the segment first"):
        registry.get("anything")
    assert not path.exists()


def test_existing_file_without_the_table_reads_empty(path):
    duckdb.connect(str(path)).close()
    assert SegmentRegistry(path).entries() == [] and len(SegmentRegistry(path)) == 0


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="create the folder"):
        SegmentRegistry(tmp_path / "no" / "registry.duckdb").register("young_mobile", RULE)


def test_open_connection_is_used_and_left_open():
    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")  # reads come back in UTC whatever the session zone
    registry = SegmentRegistry(con)
    assert len(registry) == 0
    entry = registry.register("young_mobile", discovered(), discovered_at=WHEN)
    back = registry.get("young_mobile")
    assert same(back, entry) and back.segment.provenance.discovered_at == WHEN
    assert back.registered_at.utcoffset() == dt.timedelta(0)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("young_mobile", RULE)
    assert con.execute(f'SELECT count(*) FROM "{REGISTRY_TABLE}"').fetchone() == (1,)
    con.close()


def test_registry_entry_validates():
    seg = RegisteredSegment("young_mobile", RULE, None, "registered")
    with pytest.raises(ContractViolation, match=r"RegistryEntry\.deployed_at.*Fix"):
        RegistryEntry(seg, ClaimLevel.EXPLORATORY, None, None, WHEN, WHEN)
    deployed = dataclasses.replace(seg, lifecycle="deployed")
    with pytest.raises(ContractViolation, match="deployed_at.*before registered_at"):
        RegistryEntry(deployed, ClaimLevel.EXPLORATORY, None, None, WHEN, WHEN - dt.timedelta(1))
    with pytest.raises(ContractViolation, match=r"RegistryEntry\.experiment_id"):
        RegistryEntry(seg, ClaimLevel.EXPLORATORY, "", None, WHEN, None)
    with pytest.raises(ContractViolation, match=r"RegistryEntry\.registered_at"):
        RegistryEntry(seg, ClaimLevel.EXPLORATORY, None, None, WHEN.replace(tzinfo=None), None)
    with pytest.raises(ContractViolation, match=r"RegistryEntry\.segment"):
        RegistryEntry(RULE, ClaimLevel.EXPLORATORY, None, None, WHEN, None)
    entry = RegistryEntry(seg, "honest_estimate", None, None, WHEN, None)
    assert entry.claim_level is ClaimLevel.HONEST_ESTIMATE
