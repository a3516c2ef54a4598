"""The policy pack: the real pack loads and says what the statutes say; bad packs name file and field."""

from __future__ import annotations

import importlib
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from stream import policy as policy_mod
from stream.cli import app
from stream.errors import ConfigError
from stream.policy import load_policy
from tests.unit.detector_steps import PACK, real_policy
from tests.unit.factories import T0, ice_agency, make_agency, make_query

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "policies"
BRIEF_STATES = {"NY", "IL", "MA", "MN", "WA", "OR", "CO", "NJ", "CA"}
CBP = make_agency(ori="XXSYN0002", category="FE", component="CBP", immigration_enforcement=True)


def at(day: str) -> float:
    return datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()


def reasons(state: str, **kw: object) -> set[tuple[str, str]]:
    q = make_query(destinations=(state,), **kw)
    return {(h.rule_id, h.reason) for h in real_policy().state(state).violations(q)}  # type: ignore[union-attr]


def test_real_pack_has_every_brief_state_and_stable_rule_ids() -> None:
    policy = real_policy()
    assert re.fullmatch(r"\d{4}\.\d{1,2}\.\d+", policy.version)
    assert set(policy.states) == BRIEF_STATES
    ids = [r.rule_id for s in policy.states.values() for r in s.rules]
    assert len(ids) == len(set(ids))
    for code, state in policy.states.items():
        assert all(r.rule_id.startswith(f"{code}-") for r in state.rules)
    assert policy.state("NY").rule("NY-VTL201-12-JUDICIAL") is not None  # type: ignore[union-attr]
    assert policy.state("TX") is None


def test_every_rule_has_a_source_url_comment_above_it() -> None:
    for path in sorted((PACK.parent / "states").glob("*.yaml")):
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if "- rule_id:" not in line:
                continue
            block = []
            j = i - 1
            while j >= 0 and lines[j].strip().startswith("#"):
                block.append(lines[j])
                j -= 1
            assert any("http" in c for c in block), f"{path.name}:{i + 1} has no source URL comment"


def test_detector_params_are_raw_mappings() -> None:
    policy = real_policy()
    assert policy.detector_params("blocked_retry")["min_count"] == 5
    assert policy.detector_params("no_such_detector") == {}


@pytest.mark.parametrize(
    ("state", "agency", "day", "expected"),
    [
        ("NY", ice_agency(), "2026-03-02", True),
        ("NY", ice_agency(), "2019-06-01", False),  # before the Green Light law
        ("NY", make_agency(), "2026-03-02", False),  # local police are not restricted requesters
        ("WA", CBP, "2026-03-02", True),  # RCW 43.17.425 covers immigration enforcement
        ("TX", ice_agency(), "2026-03-02", None),  # no policy for Texas
    ],
)
def test_restricts(state: str, agency: object, day: str, expected: bool | None) -> None:
    rules = real_policy().state(state)
    assert (rules.restricts(agency, at(day)) if rules else None) is expected  # type: ignore[arg-type]


def test_ny_needs_a_judicial_predicate_and_a_case_number() -> None:
    ice = ice_agency()
    assert reasons("NY", agency=ice, predicate="administrative_warrant") == {
        ("NY-VTL201-12-JUDICIAL", "administrative_warrant"),
        ("NY-VTL201-12-JUDICIAL", "missing_case_number"),
    }
    assert reasons("NY", agency=ice) >= {("NY-VTL201-12-JUDICIAL", "restricted_agency_no_predicate")}
    assert reasons("NY", agency=ice, predicate="judicial_warrant", has_case_number=True) == set()
    assert reasons("NY", agency=make_agency(), image_requested=True) == set()


def test_photo_face_bans_and_carve_outs() -> None:
    ice = ice_agency()
    ok = {"predicate": "court_order", "has_case_number": True}
    assert reasons("NY", agency=ice, image_requested=True, **ok) == {
        ("NY-DMV-PHOTO-SYSTEM", "photo_request_banned")
    }
    assert ("NJ-MVC-PHOTO", "face_search_banned") in reasons(
        "NJ", agency=ice, source="face", message_key="FRS", search_mode="face_image"
    )
    # NY trusted-traveler carve-out ([A] CBP with purpose I) and CA's criminal-history carve-out.
    assert reasons("NY", agency=CBP, purpose_code="I") == set()
    assert reasons("CA", agency=ice, message_key="IQ", search_mode="name_dob_sex") == set()
    assert ("CA-AB1747-CLETS", "restricted_agency_no_predicate") in reasons("CA", agency=ice)
    # CA's S2S guardrails: S2S look-ups only; a court-ordered name-only Nlets query is AB 1747's (lawful)
    oct_ = at("2026-10-05")  # after the guardrails' start
    dnq = {"message_key": "DNQ", "search_mode": "name_only", "predicate": "court_order", "ts": oct_}
    assert reasons("CA", agency=CBP, **dnq) == set()
    assert ("CA-S2S-GUARDRAILS", "bulk_search_banned") in reasons("CA", agency=CBP, source="s2s", **dnq)
    assert ("CA-S2S-GUARDRAILS", "forbidden_message_key") in reasons(
        "CA", agency=CBP, source="s2s", message_key="S2S", predicate="court_order", ts=oct_
    )
    assert ("CO-SB21-131-CERTIFIED-PURPOSE", "purpose_code") in reasons("CO", agency=CBP, purpose_code="S")
    # a court-issued predicate lifts NJ's photo ban and CO's declared-purpose rule (their statutes'
    # own exception), not NY's photo-system rule above
    court = {"predicate": "court_order"}
    assert reasons("NJ", agency=ice, image_requested=True, **court) == set()
    assert reasons("CO", agency=CBP, purpose_code="S", **court) == set()


def test_washington_block_is_dated_and_covers_ice_not_cbp() -> None:
    wa = real_policy().state("WA")
    assert wa is not None
    before = make_query(agency=ice_agency(), ts=at("2025-11-18"))
    after = make_query(agency=ice_agency(), ts=T0)
    assert "WA-ACCESS-ICE-BLOCK" not in {h.rule_id for h in wa.violations(before)}
    assert {h.rule_id for h in wa.blocking_violations(after)} == {"WA-ACCESS-ICE-BLOCK"}
    cbp = make_query(agency=CBP, ts=T0)
    assert wa.violations(cbp) and not wa.blocking_violations(cbp)  # a violation, but CBP kept access


@pytest.mark.parametrize(
    ("case", "file", "field"),
    [
        ("malformed_yaml", "states/NY.yaml", "line 11"),
        ("duplicate_key", "states/NY.yaml", "line 5"),
        ("unknown_key", "states/NY.yaml", "rules[0].allowed_predicate"),
        ("out_of_range", "policy.yaml", "detectors.blocked_retry.min_count"),
        ("unknown_detector", "policy.yaml", "detectors.crystal_ball"),
        ("unknown_state", "states/XX.yaml", "state"),
        ("bad_date", "states/NY.yaml", "rules[0].effective_from"),
        ("bad_version", "policy.yaml", "version"),
    ],
)
def test_bad_packs_name_file_and_field(case: str, file: str, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_policy(FIXTURES / case / "policy.yaml")
    assert Path(err.value.source) == FIXTURES / case / file
    assert err.value.field == field
    assert file in str(err.value) and field in str(err.value)


def test_check_policy_command() -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["check-policy", str(PACK)], env={"COLUMNS": "200"})
    assert good.exit_code == 0, good.output
    assert "NY-VTL201-12-JUDICIAL" in good.output and "9 states" in good.output
    bad = runner.invoke(app, ["check-policy", str(FIXTURES / "bad_date" / "policy.yaml")])
    assert bad.exit_code == 1
    text = bad.output + (bad.stderr if bad.stderr_bytes is not None else "")
    assert "bad_date/states/NY.yaml" in text and "rules[0].effective_from" in text


def test_full_load_validates_thresholds_with_each_detector_model() -> None:
    policy = load_policy(PACK)  # imports every detector module that exists
    assert policy.detector_params("s2s_misuse")["min_batch"] == 20


def _missing(name: str):  # type: ignore[no-untyped-def]
    real = importlib.import_module

    def fake(mod: str, *a: object, **kw: object) -> object:
        if mod == "stream.detectors.s2s_misuse":
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real(mod, *a, **kw)

    return fake


def test_a_detector_module_not_written_yet_is_skipped_but_a_broken_one_is_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from stream import detectors

    (tmp_path / "states").mkdir()
    shutil.copy(FIXTURES / "unknown_key" / "policy.yaml", tmp_path / "policy.yaml")
    (tmp_path / "states" / "NY.yaml").write_text(
        (FIXTURES / "out_of_range" / "states" / "NY.yaml").read_text()
    )
    with (tmp_path / "policy.yaml").open("a") as fh:
        fh.write("detectors:\n  s2s_misuse:\n    min_batch: 1\n")  # out of range (>= 3)
    with pytest.raises(ConfigError, match=re.escape("detectors.s2s_misuse.min_batch")):
        load_policy(tmp_path / "policy.yaml")
    saved = detectors.REGISTRY.pop("s2s_misuse", None)
    try:
        monkeypatch.setattr(detectors, "load_all", lambda: (_ for _ in ()).throw(ModuleNotFoundError()))
        monkeypatch.setattr(policy_mod.importlib, "import_module", _missing("stream.detectors.s2s_misuse"))
        assert load_policy(tmp_path / "policy.yaml").detector_params("s2s_misuse") == {"min_batch": 1}
        monkeypatch.setattr(policy_mod.importlib, "import_module", _missing("some_dependency"))
        with pytest.raises(ModuleNotFoundError):
            load_policy(tmp_path / "policy.yaml")
    finally:
        if saved is not None:
            detectors.REGISTRY["s2s_misuse"] = saved
