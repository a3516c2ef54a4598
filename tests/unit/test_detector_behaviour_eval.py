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


@pytest.fixture(scope="module")
def agencies() -> list:
    return build_agencies(AGENCIES, seed=3)


def test_benign_background_raises_nothing(agencies: list) -> None:
    findings = run(merged(agencies, DAYS, [], None), detectors(), jitter=120.0)
    _, unmatched = score(findings, [])
    assert unmatched == []  # (a silence opening at the very end of the data is ignored by score)


def test_every_injected_pattern_is_found(agencies: list) -> None:
    extra, labels = inject(agencies, DAYS)
    quiet = T0 + (DAYS - 1) * DAY + 3 * HOUR
    labels.append(Label("silence_45m", "feed_silence", None, quiet, quiet + 0.75 * HOUR))
    findings = run(merged(agencies, DAYS, extra, (quiet, quiet + 0.75 * HOUR)), detectors(), jitter=120.0)
    found, unmatched = score(findings, labels)
    assert found == dict.fromkeys(found, True)
    # what is left over is volume the injected patterns themselves added to their ORI or component
    # (agency_spike on a split sweep, or on ICE-ERO when a new ICE ORI starts): never benign noise
    injected = {lb.ori for lb in labels}
    assert all(f.detector == "agency_spike" and f.ori in injected for f in unmatched)
