"""What the five DMV Query Watch dashboards show: one list of panel specs per dashboard (see build.py).

A spec: title, description, unit, targets [(PromQL, legend)], optional kind (timeseries, stat, bargauge),
w/h. Queries read zero-initialised series from stream/metrics.py or the recording rules in
deploy/prometheus/rules/dmvwatch-recording.yml; nothing relies on `or vector(0)`.
"""

from __future__ import annotations

from typing import Any

I = 'instance=~"$instance"'  # noqa: E741 - the worker filter, used in every selector
IMM = 'requester_class=~"ICE-ERO|HSI|CBP|USBP"'
RESTRICTED = 'destination=~"NY|IL|MA|MN|WA|OR|CO|NJ|CA"'  # domain brief 4.3
RI = "$__rate_interval"
CLS, ST = "{{requester_class}}", "{{state}}"  # legends


def ts(title: str, desc: str, unit: str, *targets: tuple[str, str], **kw: Any) -> dict[str, Any]:
    return {"title": title, "description": desc, "unit": unit, "targets": list(targets), **kw}


def stat(title: str, desc: str, unit: str, expr: str, **kw: Any) -> dict[str, Any]:
    return {"kind": "stat", "w": 6, "h": 4, **ts(title, desc, unit, (expr, ""), **kw)}


def bars(title: str, desc: str, unit: str, expr: str, legend: str, **kw: Any) -> dict[str, Any]:
    return {"kind": "bargauge", "h": 10, **ts(title, desc, unit, (expr, legend), **kw)}


def quantiles(metric: str, by: str = "") -> list[tuple[str, str]]:
    grp = f"le{', ' + by if by else ''}"
    return [
        (f"histogram_quantile({q}, sum by ({grp}) (rate({metric}_bucket{{{I}}}[{RI}])))", f"p{int(q * 100)}")
        for q in (0.5, 0.95, 0.99)
    ]


OPERATIONS = [
    stat("Logical queries per second", "Logical queries (a multi-state family counts once), all sources.",
         "reqps", f"sum(instance:dmvwatch_queries:rate1m{{{I}}})"),
    stat("Alerts raised, last hour", "Alerts the detectors raised in the trailing hour, all severities.",
         "short", f"sum(instance:dmvwatch_alerts:increase1h{{{I}}})"),
    stat("Answered despite policy, last 24 h", "Responses that returned data although the responding "
         "state's policy blocks the query (policy leaks).", "short",
         f'sum(increase(dmvwatch_responses_total{{result="leak", {I}}}[24h]))'),
    stat("Workers up", "dmvwatch exporters Prometheus can scrape.", "short",
         f'sum(up{{job="dmvwatch", {I}}})'),
    ts("Queries per second by source", "Logical query rate per input source (nlets, state switch, S2S, "
       "face).", "reqps", (f"sum by (source) (instance:dmvwatch_queries:rate1m{{{I}}})", "{{source}}")),
    ts("Queries per second by message key", "Logical query rate per Nlets message key.", "reqps",
       (f"sum by (message_key) (instance:dmvwatch_queries:rate1m{{{I}}})", "{{message_key}}")),
    ts("Alerts raised per hour by severity", "Alerts raised over the trailing hour, by severity (what "
       "on-call staff receive before silences and grouping).", "short",
       (f"sum by (severity) (instance:dmvwatch_alerts:increase1h{{{I}}})", "{{severity}}")),
    bars("Top detectors, last 24 h", "The ten detectors that raised the most alerts in 24 hours.", "short",
         f"topk(10, sum by (detector) (increase(dmvwatch_alerts_total{{{I}}}[24h])))", "{{detector}}"),
    ts("Pipeline throughput and dead letters", "Messages processed per second and messages "
       "dead-lettered per second.", "ops",
       (f"sum(instance:dmvwatch_events_processed:rate1m{{{I}}})", "processed"),
       (f"sum(instance:dmvwatch_dead_letters:rate5m{{{I}}})", "dead-lettered")),
    ts("Consumer lag by topic", "Total consumer lag over the partitions assigned to the selected "
       "workers (messages).", "short",
       (f"sum by (topic) (dmvwatch_consumer_lag_messages{{{I}}})", "{{topic}}"), w=18),
    stat("Redis up", "1 when every selected worker's last Redis operation succeeded (alerts are being "
         "stored), 0 when any failed.", "bool_yes_no", f"min(dmvwatch_redis_up{{{I}}})"),
]  # fmt: skip

IMMIGRATION = [
    ts("Immigration-enforcement queries per second by component", "Logical queries by ICE-ERO, HSI, "
       "CBP, USBP and other agencies flagged as enforcing immigration law.", "reqps",
       (f"sum by (component) (instance:dmvwatch_immigration_queries:rate5m{{{I}}})", "{{component}}")),
    ts("Immigration-enforcement queries per second by message key", "Which Nlets transactions "
       "immigration-enforcement requesters use (RQ plate lookups dominate documented cases).", "reqps",
       (f"sum by (message_key) (instance:dmvwatch_immigration_queries:rate5m{{{I}}})", "{{message_key}}")),
    bars("Top destination states, last 24 h", "Query messages by immigration-enforcement requesters per "
         "destination (multi-state broadcasts under NL, their children under each state).", "short",
         f"topk(15, sum by (destination) (increase(dmvwatch_immigration_queries_by_destination_total"
         f"{{{I}}}[24h])))", "{{destination}}"),
    bars("States restricting immigration access, last 24 h", "Immigration-enforcement query messages to "
         "the states that restrict such access by statute or policy, by component and state.", "short",
         f"sum by (component, destination) (increase(dmvwatch_immigration_queries_by_destination_total"
         f"{{{RESTRICTED}, {I}}}[24h]))", "{{component}} to {{destination}}"),
    ts("Responses to immigration requesters by result", "Answered, blocked by the state's switch, "
       "answered despite policy (leak) and unanswered, per second.", "reqps",
       (f"sum by (result) (rate(dmvwatch_responses_by_requester_total{{{IMM}, {I}}}[{RI}]))", "{{result}}")),
    ts("Answered despite policy, per hour", "Responses to immigration-enforcement requesters that "
       "returned data although the responding state's policy blocks them.", "short",
       (f'sum by (requester_class) (increase(dmvwatch_responses_by_requester_total{{result="leak", {IMM}, '
        f"{I}}}[1h]))", "{{requester_class}}")),
    stat("Blocked share, last hour", "Share of responses to immigration-enforcement requesters that the "
         "states' switches blocked.", "percentunit",
         f'sum(increase(dmvwatch_responses_by_requester_total{{result="blocked", {IMM}, {I}}}[1h])) / '
         f"clamp_min(sum(increase(dmvwatch_responses_by_requester_total{{{IMM}, {I}}}[1h])), 1)", w=8),
    stat("Queries to AX (LESC), last 24 h", "Immigration-enforcement messages sent to ICE's Law "
         "Enforcement Support Center (IAQ to AX).", "short",
         f'sum(increase(dmvwatch_immigration_queries_by_destination_total{{destination="AX", {I}}}[24h]))',
         w=8),
    stat("Immigration share of queries, last hour", "Immigration-enforcement logical queries as a share "
         "of all logical queries.", "percentunit",
         f"sum(increase(dmvwatch_immigration_queries_total{{{I}}}[1h])) / "
         f"clamp_min(sum(increase(dmvwatch_queries_total{{{I}}}[1h])), 1)", w=8),
]  # fmt: skip

PHOTO_FACE = [
    ts("Photo requests per second by requester class", "Logical queries asking for a DL photo (IMQ/Y) or "
       "a corrections photo (CPQ), by federal component or agency category.", "reqps",
       (f"sum by (requester_class) (rate(dmvwatch_photo_requests_total{{{I}}}[{RI}]))", CLS)),
    ts("Face searches per second by requester class", "Logical face-recognition searches.", "reqps",
       (f"sum by (requester_class) (rate(dmvwatch_face_searches_total{{{I}}}[{RI}]))", CLS)),
    ts("Face candidates returned per second", "Candidate faces returned by face-match responses, by "
       "requester class ('unjoined' when the search was not seen).", "short",
       (f"sum by (requester_class) (rate(dmvwatch_face_candidates_total{{{I}}}[{RI}]))",
        "{{requester_class}}")),
    bars("Photo requests by destination, last 24 h", "Photo-request messages per destination state (top 15).",
         "short", f"topk(15, sum by (destination) (increase(dmvwatch_photo_requests_by_destination_total"
         f"{{{I}}}[24h])))", "{{destination}}", w=6),
    bars("Face searches by destination, last 24 h", "Face-search messages per destination state (top 15).",
         "short", f"topk(15, sum by (destination) (increase(dmvwatch_face_searches_by_destination_total"
         f"{{{I}}}[24h])))", "{{destination}}", w=6),
    stat("Photo share of queries, last hour", "Photo requests as a share of logical queries (about 10% "
         "expected; much higher from one class suggests harvesting).", "percentunit",
         f"sum(increase(dmvwatch_photo_requests_total{{{I}}}[1h])) / "
         f"clamp_min(sum(increase(dmvwatch_queries_total{{{I}}}[1h])), 1)", w=8),
    stat("Candidates per face search, last hour", "Face-match candidates returned per face search.",
         "short", f"sum(increase(dmvwatch_face_candidates_total{{{I}}}[1h])) / "
         f"clamp_min(sum(increase(dmvwatch_face_searches_total{{{I}}}[1h])), 1)", w=8),
    stat("Federal photo requests, last 24 h", "Photo requests by federal components.", "short",
         f'sum(increase(dmvwatch_photo_requests_total{{requester_class=~"ICE-ERO|HSI|CBP|USBP|FBI|DEA|USMS|'
         f'other_federal", {I}}}[24h]))', w=8),
]  # fmt: skip

S = f'state=~"$state", {I}'
POLICY = [
    ts("Policy rule hits per second by state", "Responses on which a state's switch applied a policy "
       "rule.", "reqps", (f"sum by (state) (rate(dmvwatch_policy_rule_hits_total{{{S}}}[{RI}]))", ST)),
    ts("Answered despite policy per hour by state", "Responses that returned data although the state's "
       "policy blocks the query (policy leaks).", "short",
       (f'sum by (state) (increase(dmvwatch_responses_total{{result="leak", {S}}}[1h]))', "{{state}}")),
    bars("Blocked responses by state, last 24 h", "BLOCKED_BY_POLICY responses per responding state "
         "(top 15).", "short",
         f'topk(15, sum by (state) (increase(dmvwatch_responses_total{{result="blocked", {S}}}[24h])))',
         "{{state}}"),
    ts("Response results per second", "Answered, leak, blocked and unanswered responses of the selected "
       "states.", "reqps", (f"sum by (result) (rate(dmvwatch_responses_total{{{S}}}[{RI}]))", "{{result}}")),
    ts("Policy alerts per hour by detector", "Alerts of the policy detectors: violations of state rules, "
       "leaks and retries after a block.", "short",
       (f'sum by (detector) (increase(dmvwatch_alerts_total{{detector=~"policy_violation|policy_leak|'
        f'blocked_retry|agency_substitution", {I}}}[1h]))', "{{detector}}")),
    ts("Blocked responses per second by requester class", "Who keeps getting blocked (retries after a "
       "block show here first).", "reqps",
       (f'sum by (requester_class) (rate(dmvwatch_responses_by_requester_total{{result="blocked", {I}}}'
        f"[{RI}]))", "{{requester_class}}")),
    stat("Leaks, last 24 h", "Responses answered despite policy in the selected states.", "short",
         f'sum(increase(dmvwatch_responses_total{{result="leak", {S}}}[24h]))'),
    stat("Blocked, last 24 h", "Responses blocked by policy in the selected states.", "short",
         f'sum(increase(dmvwatch_responses_total{{result="blocked", {S}}}[24h]))'),
    stat("Blocked-retry alerts, last 24 h", "Alerts of the blocked_retry detector.", "short",
         f'sum(increase(dmvwatch_alerts_total{{detector="blocked_retry", {I}}}[24h]))'),
    stat("Rule hits, last 24 h", "Responses on which the selected states' switches applied a rule.",
         "short", f"sum(increase(dmvwatch_policy_rule_hits_total{{{S}}}[24h]))"),
]  # fmt: skip

PIPELINE = [
    ts("Consumer lag per partition", "High watermark minus position, per assigned partition.", "short",
       (f"sum by (topic, partition) (dmvwatch_consumer_lag_messages{{{I}}})", "{{topic}}/{{partition}}")),
    ts("Seconds since last progress per partition", "Wall time since each partition last moved; high "
       "together with lag above zero means a stalled partition.", "s",
       (f"time() - max by (topic, partition) (dmvwatch_partition_last_progress_timestamp_seconds{{{I}}})",
        "{{topic}}/{{partition}}")),
    ts("Throughput per worker", "Messages processed per second by each worker.", "ops",
       (f"sum by (instance) (instance:dmvwatch_events_processed:rate1m{{{I}}})", "{{instance}}")),
    ts("Batch duration percentiles", "Wall time to process one consumed batch.", "s",
       *quantiles("dmvwatch_batch_duration_seconds")),
    ts("Response latency percentiles", "Query-to-response latency reported by the switches.", "s",
       *quantiles("dmvwatch_response_latency_seconds")),
    ts("Event-to-alert latency percentiles", "Wall time from the event that completed a finding to the "
       "written alert.", "s", *quantiles("dmvwatch_event_to_alert_seconds")),
    ts("Checkpoint duration percentiles", "Wall time of one checkpoint (state snapshot with offsets).",
       "s", *quantiles("dmvwatch_checkpoint_duration_seconds")),
    ts("Redis write latency and health", "p95 of one alert-store write; Redis up (1) or down (0).", "s",
       quantiles("dmvwatch_redis_write_duration_seconds")[1], (f"min(dmvwatch_redis_up{{{I}}})", "redis up")),
    ts("Dead letters per second by reason", "Messages sent to the dead-letter topic.", "ops",
       (f"sum by (reason) (instance:dmvwatch_dead_letters:rate5m{{{I}}})", "{{reason}}")),
    stat("Dead-letter share, 5 min", "Share of consumed messages sent to the dead-letter topic (alert "
         "above 1%).", "percentunit", f"max(instance:dmvwatch_dead_letter_ratio:rate5m{{{I}}})", w=12, h=8),
    ts("Duplicates, late and unmapped events per second", "Redeliveries dropped by dedup, events behind "
       "the watermark, and events outside the contract's enums.", "ops",
       (f"sum(rate(dmvwatch_duplicates_total{{{I}}}[{RI}]))", "duplicates"),
       (f"sum by (kind) (rate(dmvwatch_late_events_total{{{I}}}[{RI}]))", "late {{kind}}"),
       (f"sum(rate(dmvwatch_unmapped_events_total{{{I}}}[{RI}]))", "unmapped")),
    ts("Watermark delay", "Wall clock minus the event-time watermark (replays of old data show large "
       "values).", "s", (f"time() - max by (instance) (dmvwatch_watermark_timestamp_seconds{{{I}}})",
                         "{{instance}}")),
    ts("Detector state size", "Live keys held by each detector.", "short",
       (f"sum by (detector) (dmvwatch_detector_state_keys{{{I}}})", "{{detector}}")),
    ts("Alert stage decisions per second", "Decisions of the alert stages (dedup, silences, inhibition, "
       "grouping).", "ops",
       (f"sum by (stage, decision) (rate(dmvwatch_alert_stage_decisions_total{{{I}}}[{RI}]))",
        "{{stage}} {{decision}}")),
    ts("Worker CPU", "CPU seconds per second of each worker process (1.0 = one core).", "percentunit",
       (f'rate(process_cpu_seconds_total{{job="dmvwatch", {I}}}[{RI}])', "{{instance}}"), w=6),
    ts("Worker memory", "Resident memory of each worker process.", "bytes",
       (f'process_resident_memory_bytes{{job="dmvwatch", {I}}}', "{{instance}}"), w=6),
]  # fmt: skip

DASHBOARDS: list[dict[str, Any]] = [
    {"file": "operations-overview", "uid": "dmvwatch-operations", "title": "DMV Query Watch / Operations",
     "description": "Traffic, alerts by severity, top detectors and pipeline health at a glance.",
     "panels": OPERATIONS},
    {"file": "immigration-access", "uid": "dmvwatch-immigration",
     "title": "DMV Query Watch / Immigration-enforcement access",
     "description": "Queries by immigration-enforcement requesters by component, destination state and "
     "message key; blocked versus answered; answered despite policy.", "panels": IMMIGRATION},
    {"file": "photo-face", "uid": "dmvwatch-photo-face", "title": "DMV Query Watch / Photo and face-match",
     "description": "Photo requests, face searches and candidates returned, by requester class and state.",
     "panels": PHOTO_FACE},
    {"file": "policy-compliance", "uid": "dmvwatch-policy",
     "title": "DMV Query Watch / Policy compliance by state",
     "description": "Policy rule hits, leaks (answered despite policy) and blocked retries per state.",
     "panels": POLICY, "variables": [("state", "State", "label_values(dmvwatch_responses_total, state)")]},
    {"file": "pipeline-health", "uid": "dmvwatch-pipeline", "title": "DMV Query Watch / Pipeline health",
     "description": "Consumer lag, throughput, latency percentiles, dead letters and checkpoint times.",
     "panels": PIPELINE},
]  # fmt: skip
