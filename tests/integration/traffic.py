"""Deterministic test traffic for runtime tests: background plus rule-breaking immigration queries.

Independent of the simulator so that runtime tests pin the runtime, not the traffic model. Events
carry their own `agency` enrichment (no registry needed). Bad lines sit at fixed positions.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import orjson

START = datetime(2026, 10, 5, tzinfo=UTC)
BAD_LINES = (b"this is not json", b'{"schema":"dmvq.query.v1","event_id":"x"}', b"\xff\xfe\x00")
ICE = {"category": "FE", "parent_org": "DHS", "component": "ICE-ERO", "immigration_enforcement": True}
PD = {"category": "PD", "immigration_enforcement": False}


def _ts(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def build(seed: int = 7, hours: int = 6, per_hour: int = 400) -> tuple[list[bytes], int]:
    """Lines in arrival order (responses jittered around their queries) and the number of bad lines."""
    rng = random.Random(seed)
    events: list[tuple[datetime, dict]] = []
    n = 0
    for h in range(hours):
        for _ in range(per_hour):
            n += 1
            t = START + timedelta(hours=h, seconds=rng.uniform(0, 3600))
            immigration = rng.random() < 0.15
            ori = f"XXSYNICE{rng.randint(1, 4)}" if immigration else f"OR{rng.randint(1, 40):07d}"
            state = rng.choice(["WA", "NY", "IL"]) if immigration else rng.choice(["WA", "OR", "CA", "ID"])
            qid = f"q-{seed}-{n:06d}"
            events.append(
                (
                    t,
                    {
                        "schema": "dmvq.query.v1",
                        "event_id": qid,
                        "ts": _ts(t),
                        "source": "nlets",
                        "message_key": rng.choice(["RQ", "DQ"]),
                        "originating_ori": ori,
                        "agency": ICE if immigration else PD,
                        "destinations": [state],
                        "search": {"mode": "plate", "subject_key": f"s-{rng.randint(1, 5000)}"},
                        "legal_predicate": {"type": "none"} if immigration else None,
                    },
                )
            )
            if rng.random() < 0.9:
                outcome = "HIT"
                if immigration:
                    outcome = "HIT" if rng.random() < 0.2 else "BLOCKED_BY_POLICY"
                rt = t + timedelta(seconds=rng.uniform(-20, 90))  # responses may precede queries
                events.append(
                    (
                        rt,
                        {
                            "schema": "dmvq.response.v1",
                            "event_id": f"r-{seed}-{n:06d}",
                            "ts": _ts(rt),
                            "in_reply_to": qid,
                            "responding_state": state,
                            "outcome": outcome,
                            "record_count": 1 if outcome == "HIT" else 0,
                        },
                    )
                )
    events.sort(key=lambda e: (e[0], e[1]["event_id"]))
    lines = [orjson.dumps(e) for _, e in events]
    for i, bad in enumerate(BAD_LINES):
        lines.insert(len(lines) * (i + 1) // (len(BAD_LINES) + 1), bad)
    lines.insert(len(lines) // 2, lines[len(lines) // 3])  # one redelivery
    return lines, len(BAD_LINES)
