"""Event factory: turns simulated queries and responses into contract JSON lines, fast and deterministically.

Hot-path habits: timestamps are integer milliseconds, formatted from a per-minute prefix cache; event ids
are counters; dicts are serialized once by orjson. Every event goes into `pending` as
`(emit_ms, seq, line)`; the engine sorts and flushes it, so emission order is time order except for the
deliberately late share (`late_share`, delayed by up to `late_max_ms`), which lets a response precede
its query in the output.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import orjson

from stream.simulate.agencies import SimAgency
from stream.simulate.calibration import MIX_LABELS
from stream.simulate.people import person, subject_key

_MILLIS = [f".{i:03d}Z" for i in range(1000)]
_FIELDS_JSON: dict[tuple[str, ...], str] = {}


class Stats:
    """Counters for the final summary; labels are bounded (keys, categories, components)."""

    def __init__(self) -> None:
        self.events: Counter[str] = Counter()  # duplicate/malformed/silenced
        self.queries = 0
        self.responses = 0
        self.logical: Counter[str] = Counter()  # mix label of logical queries
        self.category: Counter[str] = Counter()
        self.component: Counter[str] = Counter()
        self.dq_photo = 0
        self.msq = 0
        self.children = 0


class EventFactory:
    def __init__(
        self,
        seed: int,
        rnd: random.Random,
        *,
        clear_text_share: float = 0.0,
        enrich: bool = False,
        late_share: float = 0.0,
        late_max_ms: int = 180_000,
    ) -> None:
        self.tag = f"{seed & 0xFFFFFF:06x}"
        self.rnd = rnd
        self.clear_rnd = random.Random(f"clear:{seed}")
        self.clear_text_share = clear_text_share
        self.enrich = enrich
        self.late_share = late_share
        self.late_max_ms = late_max_ms
        self.pending: list[tuple[int, int, bytes]] = []
        self.stats = Stats()
        self._n = 0
        self._seq = 0
        self._minute_cache: dict[int, str] = {}
        self._second_cache: dict[int, str] = {}
        self._agency_json: dict[str, str] = {}
        self.silences: list[tuple[int, int]] = []  # feed_silence windows (ms): nothing is tapped

    def ts(self, ms: int) -> str:
        """RFC 3339 UTC with millis: a cached per-second prefix plus a precomputed '.mmmZ' suffix."""
        sec = ms // 1000
        prefix = self._second_cache.get(sec)
        if prefix is None:
            if len(self._second_cache) > 200_000:
                self._second_cache.clear()
            minute = self._minute_cache.get(sec // 60)
            if minute is None:
                minute = self._minute_cache[sec // 60] = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(sec))
            prefix = self._second_cache[sec] = f"{minute}{sec % 60:02d}"
        return prefix + _MILLIS[ms - sec * 1000]

    def next_id(self) -> str:
        self._n += 1
        return f"{self.tag}{self._n:x}"

    def push(self, ms: int, obj: dict[str, Any]) -> bool:
        return self.emit(ms, orjson.dumps(obj))

    def emit(self, ms: int, line: bytes) -> bool:
        """Queue one serialized event seen by the switch at `ms` (late share, silences applied)."""
        if self.silences and any(a <= ms < b for a, b in self.silences):
            self.stats.events["silenced"] += 1  # the tap was down when the switch saw it
            return False
        emit = ms
        if self.late_share and self.rnd.random() < self.late_share:
            emit += self.rnd.randrange(1000, self.late_max_ms)
        self._seq += 1
        self.pending.append((emit, self._seq, line))
        return True

    def query(
        self,
        ms: int,
        agency: SimAgency,
        key: str,
        source: str,
        mode: str,
        dests: list[str],
        sid: int | None,
        label: str,
        *,
        operator: str | None = None,
        pattern: str | None = None,
        image: bool = False,
        parent: str | None = None,
        extra: dict[str, Any] | None = None,
        qid: str | None = None,
        ssn5: str | None = None,
    ) -> str:
        if qid is None:
            self._n += 1
            qid = f"q{self.tag}{self._n:x}"
        # Like responses, queries are written with f-strings; only the variable parts (clear text,
        # extras, enrichment) go through orjson. Byte-identical to serializing the whole dict.
        clear = sid is not None and self.clear_text_share and self.clear_rnd.random() < self.clear_text_share
        if sid is not None and not clear and ssn5 is None and pattern is None:
            search_json = (
                f'{{"mode":"{mode}","subject_key":"s-{(sid * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFF:012x}"}}'
            )
        else:
            search: dict[str, Any] = {"mode": mode}
            if ssn5 is not None:
                search["ssn_last5"] = ssn5
            if sid is not None:
                if clear:
                    p = person(sid, dests[0][:2])
                    field = "plate" if mode in ("plate", "owner_name") else "oln" if mode == "oln" else "name"
                    if field == "name":
                        search["name"], search["dob"] = p["name"], p["dob"]
                    else:
                        search[field] = p[field]
                    if self.clear_rnd.random() < 0.5:  # half the raw taps also carry the upstream hash
                        search["subject_key"] = subject_key(sid)
                else:
                    search["subject_key"] = subject_key(sid)
            if pattern is not None:
                search["pattern"] = pattern
            search_json = orjson.dumps(search).decode()
        op_json = "null" if operator is None else f'"{operator}"'
        dests_json = dests[0] if len(dests) == 1 else '","'.join(dests)
        line = (
            f'{{"schema":"dmvq.query.v1","event_id":"{qid}","ts":"{self.ts(ms)}","origin_tz":"{agency.tz}",'
            f'"source":"{source}","message_key":"{key}","originating_ori":"{agency.ori}",'
            f'"operator_id":{op_json},"destinations":["{dests_json}"],'
            f'"search":{search_json},"image_requested":{"true" if image else "false"}'
        )
        if self.enrich:
            enrichment = self._agency_json.get(agency.ori)
            if enrichment is None:
                enrichment = self._agency_json[agency.ori] = orjson.dumps(agency.enrichment).decode()
            line += ',"agency":' + enrichment
        if parent is not None:
            line += f',"parent_query_id":"{parent}"'
        if extra:
            line += "," + orjson.dumps(extra).decode()[1:-1]
        if not self.emit(ms, (line + "}").encode()):
            return qid
        st = self.stats
        st.queries += 1
        if parent is not None:
            st.children += 1
            return qid
        st.logical[label] += 1
        if label in MIX_LABELS:
            st.category[agency.category] += 1
            st.component[agency.component or "-"] += 1
            if key == "DQ" and image:
                st.dq_photo += 1
            if dests[0] == "NL":
                st.msq += 1
        return qid

    def response(
        self,
        ms: int,
        reply_to: str,
        state: str,
        rkey: str,
        outcome: str,
        latency: int,
        fields: list[str],
        *,
        count: int = 0,
        rule: str | None = None,
        photo: bool = False,
        faces: int | None = None,
        flags: list[str] | None = None,
    ) -> None:
        # Responses are half the output and all their values are plain ASCII tokens (ids, codes,
        # numbers), so they are written with one f-string: the same bytes orjson would give, faster.
        self._n += 1
        fields_json = _FIELDS_JSON.get(tuple(fields)) if fields else "[]"
        if fields_json is None:
            fields_json = _FIELDS_JSON[tuple(fields)] = orjson.dumps(fields).decode()
        line = (
            f'{{"schema":"dmvq.response.v1","event_id":"r{self.tag}{self._n:x}","ts":"{self.ts(ms)}",'
            f'"in_reply_to":"{reply_to}","responding_state":"{state}","message_key":"{rkey}",'
            f'"outcome":"{outcome}","record_count":{count},"fields_returned":{fields_json},'
            f'"photo_returned":{"true" if photo else "false"},"latency_ms":{latency}'
        )
        if rule is not None:
            line += f',"policy_rule_id":"{rule}"'
        if faces is not None:
            line += f',"face_candidates":{faces}'
        if flags:
            line += ',"record_flags":' + orjson.dumps(flags).decode()
        if self.emit(ms, (line + "}").encode()):
            self.stats.responses += 1
