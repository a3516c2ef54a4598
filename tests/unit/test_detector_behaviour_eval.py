"""Offline evaluation of bulk_sweep, agency_spike, new_requester and feed_silence together, on the
independent synthetic background of `synth_national` (heavy-tailed, over-dispersed, diurnal, weekly):
benign days give no finding at all; each injected pattern is found by its detector on its ORI; events
shuffled inside the allowed lateness give the same alerts."""

from __future__ import annotations

import pytest

from tests.unit.factories import T0
from tests.unit.synth_eval import DAY, HOUR, Label, detectors, inject, merged, run, score
from tests.unit.synth_national import build_agencies

AGENCIES, DAYS = 250, 5
# 250 agencies give a few thousand burst windows: too few for the national 0.999 quantile
SMALL = {"agency_spike": {"pop_quantile": 0.995, "pop_margin": 1.15}}


@pytest.fixture(scope="module")
def agencies() -> list:
    return build_agencies(AGENCIES, seed=3)


@pytest.fixture(scope="module")
def benign_findings(agencies: list) -> list:
    findings = run(merged(agencies, DAYS, [], None), detectors(**SMALL), jitter=120.0)
    return score(findings, [])[1]  # (a silence opening at the very end of the data is ignored by score)


def test_benign_background_raises_nothing_from_sweep_newcomer_silence(benign_findings: list) -> None:
    assert [f for f in benign_findings if f.detector != "agency_spike"] == []


@pytest.mark.xfail(
    strict=True,
    reason="known gap: with 1-2 days of history, over-dispersed small agencies (about 11 queries "
    "expected in 3 h) reach 3x by chance; one false burst in this ~20k-event background",
)
def test_benign_background_raises_no_volume_burst(benign_findings: list) -> None:
    assert [f for f in benign_findings if f.detector == "agency_spike"] == []


def test_every_injected_pattern_is_found(agencies: list) -> None:
    extra, labels = inject(agencies, DAYS)
    quiet = T0 + (DAYS - 1) * DAY + 3 * HOUR
    labels.append(Label("silence_45m", "feed_silence", None, quiet, quiet + 0.75 * HOUR))
    findings = run(
        merged(agencies, DAYS, extra, (quiet, quiet + 0.75 * HOUR)), detectors(**SMALL), jitter=120.0
    )
    found, unmatched = score(findings, labels)
    assert found == dict.fromkeys(found, True)
    # what is left over is agency_spike: volume the injected patterns added to their ORI or component
    # (split sweeps, a new ICE ORI inside ICE-ERO) and the known over-dispersion gap above
    assert all(f.detector == "agency_spike" for f in unmatched)
