"""The input contract (`../shared/schema/*.json`) as strict pydantic v2 models.

These models sit at the edge: every byte that enters the monitor is validated here. Unknown extra
fields are accepted (the schemas allow them) but dropped, so nothing we did not ask for (and might be
personal data) travels further.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$")


def _rfc3339(value: str) -> str:
    if not _RFC3339.match(value):
        raise ValueError("not an RFC 3339 date-time with a time zone")
    datetime.fromisoformat(value.replace("z", "Z"))  # raises on impossible dates (2026-02-30)
    return value


Rfc3339 = Annotated[str, AfterValidator(_rfc3339)]
Ori = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{9}$")]
Destination = Annotated[str, StringConstraints(pattern=r"^([A-Z]{2}|[A-Z0-9]{9})$")]
EventId = Annotated[str, StringConstraints(min_length=1, max_length=64)]

Source = Literal["nlets", "state_switch", "s2s", "face"]
MessageKey = Literal[
    "DQ",
    "DQG",
    "DNQ",
    "KQ",
    "RQ",
    "RQG",
    "RNQ",
    "RPQ",
    "BQ",
    "CPQ",
    "IAQ",
    "IQ",
    "FQ",
    "AQ",
    "YQ",
    "LQ",
    "AM",
    "S2S",
    "FRS",
]
Category = Literal["PD", "SO", "SA", "FE", "JA", "JC", "JG", "JJ", "JF", "NJ", "LE", "CJ"]
PurposeCode = Literal["A", "C", "D", "E", "F", "H", "I", "J", "R", "S", "V", "X"]
ReasonCode = Literal["N", "F", "V", "T", "S", "H", "I"]
PredicateType = Literal[
    "none", "judicial_warrant", "court_order", "subpoena", "administrative_warrant", "consent"
]
SearchMode = Literal[
    "oln",
    "name_dob_sex",
    "name_only",
    "plate",
    "partial_plate",
    "vin",
    "owner_name",
    "face_image",
    "ssn_last5",
]
Outcome = Literal[
    "HIT",
    "MULTI_HIT",
    "NOT_ON_FILE",
    "FILE_NOT_AVAILABLE",
    "TEMPORARILY_UNAVAILABLE",
    "REJECTED_FORMAT",
    "BLOCKED_BY_POLICY",
    "SM_01",
    "SM_02",
    "SM_04",
    "ACK_ONLY",
]
FieldReturned = Literal[
    "name",
    "address",
    "dob",
    "description",
    "ssn",
    "oln",
    "license_class",
    "restrictions",
    "status",
    "vehicle",
    "owner",
    "photo",
    "history",
]
RecordFlag = Literal["no_ssn", "ssn_placeholder_99999", "limited_term", "undocumented_eligible_license"]

OUTCOMES: tuple[str, ...] = Outcome.__args__  # type: ignore[attr-defined]
MESSAGE_KEYS: tuple[str, ...] = MessageKey.__args__  # type: ignore[attr-defined]
SOURCES: tuple[str, ...] = Source.__args__  # type: ignore[attr-defined]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
SEARCH_MODES: tuple[str, ...] = SearchMode.__args__  # type: ignore[attr-defined]


class _Edge(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)


class AgencyIn(_Edge):
    name: str | None = None
    category: Category | None = None
    parent_org: str | None = None
    component: str | None = None
    immigration_enforcement: bool | None = None


class LegalPredicateIn(_Edge):
    type: PredicateType
    reference: Annotated[str, StringConstraints(max_length=80)] | None = None


class SearchIn(_Edge):
    mode: SearchMode
    subject_key: str | None = None
    pattern: Annotated[str, StringConstraints(max_length=20)] | None = None
    ssn_last5: Annotated[str, StringConstraints(pattern=r"^[0-9]{5}$")] | None = None
    # Clear text from raw taps: pseudonymized on arrival, never kept (see stream/pseudonymize.py).
    name: str | None = None
    dob: str | None = None
    oln: str | None = None
    plate: str | None = None


class QueryIn(_Edge):
    schema_: Literal["dmvq.query.v1"] = Field(alias="schema")
    event_id: EventId
    ts: Rfc3339
    origin_tz: str | None = None
    source: Source
    message_key: MessageKey
    originating_ori: Ori
    agency: AgencyIn | None = None
    operator_id: str | None = None
    terminal_id: str | None = None
    destinations: Annotated[list[Destination], Field(min_length=1, max_length=5)]
    parent_query_id: str | None = None
    control_field: str | None = None
    purpose_code: PurposeCode | None = None
    reason_code: ReasonCode | None = None
    case_number: Annotated[str, StringConstraints(max_length=40)] | None = None
    legal_predicate: LegalPredicateIn | None = None
    search: SearchIn
    image_requested: bool = False
    in_person_application_id: str | None = None


class ResponseIn(_Edge):
    schema_: Literal["dmvq.response.v1"] = Field(alias="schema")
    event_id: EventId
    ts: Rfc3339
    in_reply_to: str
    responding_state: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
    message_key: str | None = None
    outcome: Outcome
    policy_rule_id: str | None = None
    record_count: Annotated[int, Field(ge=0)] = 0
    fields_returned: list[FieldReturned] = Field(default_factory=list)
    photo_returned: bool = False
    face_candidates: Annotated[int, Field(ge=0)] | None = None
    record_flags: list[RecordFlag] = Field(default_factory=list)
    latency_ms: Annotated[int, Field(ge=0)] | None = None
