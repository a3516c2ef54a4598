# DMV Query Watch: developer and CI entry points. `make help` lists them.
# The local stack (Kafka, Redis, Prometheus, Alertmanager) runs as plain processes: deploy/local/stack.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON_SYS ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
STACK      := deploy/local/stack
DEMO       := deploy/local/demo

# Ports of the local stack (the stack script reads the same variables).
export KAFKA_PORT        ?= 9092
export REDIS_PORT        ?= 6379
export PROMETHEUS_PORT   ?= 9090
export ALERTMANAGER_PORT ?= 9093
METRICS_PORT             ?= 9464

# What the integration tests, the monitor and the simulator connect to.
SERVICE_ENV := KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:$(KAFKA_PORT) \
	REDIS_URL=redis://127.0.0.1:$(REDIS_PORT)/0 \
	PROMETHEUS_URL=http://127.0.0.1:$(PROMETHEUS_PORT) \
	ALERTMANAGER_URL=http://127.0.0.1:$(ALERTMANAGER_PORT) \
	DMVWATCH_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:$(KAFKA_PORT) \
	DMVWATCH_REDIS__URL=redis://127.0.0.1:$(REDIS_PORT)/0 \
	DMVWATCH_METRICS__PORT=$(METRICS_PORT)

PYTEST_ARGS ?= tests/unit tests/integration

.PHONY: help venv lint up down status topics test demo demo-stop bench eval eval-week eval-spike clean distclean

help:
	@echo "make venv     create .venv and install the package with dev extras"
	@echo "make lint     ruff check, ruff format --check, mypy stream"
	@echo "make up       start Kafka, Redis, Prometheus, Alertmanager on 127.0.0.1 (idempotent)"
	@echo "make down     stop what 'make up' started (and the demo processes)"
	@echo "make status   show each service"
	@echo "make topics   create dmvq.events (6 partitions) and dmvq.events.dlq"
	@echo "make test     up + unit and integration tests + promtool checks + down (KEEP_STACK=1 keeps it)"
	@echo "make demo     up + topics + monitor and simulator in the background"
	@echo "make bench    benchmarks (python -m bench)"
	@echo "make eval     detection quality evaluation: eval-week then eval-spike (~25 min)"
	@echo "make eval-week   every scenario over a national week at 2% volume (3 seeds, ~2 min)"
	@echo "make eval-spike  agency_spike after 5 days of history at 30% volume (3 seeds, ~22 min)"
	@echo "make clean    down + remove stack data, logs and caches (keeps .venv and the jar cache)"

# Reinstalled when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV) || { echo "make: '$(PYTHON_SYS) -m venv' failed: install python3-venv (apt-get install -y python3-venv)"; exit 1; }
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy stream

up: venv
	@$(STACK) up

down:
	@$(DEMO) stop
	@$(STACK) down

status:
	@$(STACK) status
	@$(DEMO) status

topics: up
	@$(STACK) topics

# Lint first (fast, no services). Then one shell: the EXIT trap stops the stack whatever happens
# (test failure, promtool failure, Ctrl-C), and the first failing step's exit code is kept.
# Exit code 5 (no tests collected) fails.
test: venv lint
	@trap 'exit 130' INT TERM; \
	if [ -z "$(KEEP_STACK)" ]; then trap '$(DEMO) stop >/dev/null; $(STACK) down' EXIT; fi; \
	$(STACK) up || exit $$?; \
	rc=0; \
	env $(SERVICE_ENV) $(VENV)/bin/pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "make test: pytest collected no tests (exit 5): failing"; fi; \
	promtool check config deploy/prometheus/prometheus.yml || { [ $$rc -ne 0 ] || rc=1; }; \
	rules=$$(ls deploy/prometheus/rules/*.yml 2>/dev/null); \
	if [ -n "$$rules" ]; then promtool check rules $$rules || { [ $$rc -ne 0 ] || rc=1; }; fi; \
	rtests=$$(ls deploy/prometheus/tests/*.yml 2>/dev/null); \
	if [ -n "$$rtests" ]; then promtool test rules $$rtests || { [ $$rc -ne 0 ] || rc=1; }; fi; \
	if [ $$rc -ne 0 ]; then echo "make test: FAILED (exit $$rc)"; else echo "make test: passed"; fi; \
	exit $$rc

# The demo replays a compressed simulated day (60x: one simulated hour a minute) that ends about now,
# with the headline scenarios of deploy/scenarios/demo.yaml, a few clear-text identifiers (they are
# pseudonymized on arrival), malformed lines (dead letters) and redeliveries. Alerts go to Redis and to
# the local Alertmanager.
DEMO_REGISTRY := deploy/local/.run/registry.jsonl
DEMO_START     = $(shell date -u -d '-1 day' +%Y-%m-%dT%H:00:00Z)
DEMO_SIM_ARGS  = simulate --to-kafka --speedup 60 --scale 0.2 --duration 1d --start $(DEMO_START) \
	--scenarios deploy/scenarios/demo.yaml --clear-text-share 0.05 --malformed-share 0.001 \
	--duplicate-share 0.002 --quiet

demo: topics
	@mkdir -p deploy/local/.run
	@$(VENV)/bin/dmvwatch simulate --registry-out $(DEMO_REGISTRY) --duration 1m --scale 0.001 \
		--out deploy/local/.run/registry-probe.jsonl --quiet
	@env $(SERVICE_ENV) DMVWATCH_RUNTIME__REGISTRY_PATH=$(DEMO_REGISTRY) \
		DMVWATCH_ALERTS__ALERTMANAGER_URL=http://127.0.0.1:$(ALERTMANAGER_PORT) \
		DEMO_SIM_ARGS="$(DEMO_SIM_ARGS)" $(DEMO) start
	@echo
	@echo "Demo running (stop with 'make down'):"
	@echo "  metrics      http://127.0.0.1:$(METRICS_PORT)/metrics"
	@echo "  Prometheus   http://127.0.0.1:$(PROMETHEUS_PORT)  (try: sum by (detector) (dmvwatch_alerts_total))"
	@echo "  Alertmanager http://127.0.0.1:$(ALERTMANAGER_PORT)  (alerts arrive within minutes)"
	@echo "  alerts       $(VENV)/bin/dmvwatch alerts tail      $(VENV)/bin/dmvwatch alerts list"
	@echo "  logs         deploy/local/.run/worker.log, deploy/local/.run/simulator.log"

demo-stop:
	@$(DEMO) stop

bench: venv
	$(PY) -m bench

# Two phases, both written to docs/detection-quality.md: every scenario over a national week at 2%
# volume (~2 min), then agency_spike's scenarios after five days of history at 30% volume (~22 min:
# its scenarios multiply the ORI's own scaled baseline, invisible at 2%).
eval: eval-week eval-spike

eval-week: venv
	$(PY) -m stream.evaluation

eval-spike: venv
	$(PY) -m stream.evaluation --scale 0.3 --days 7 --scenarios deploy/scenarios/eval-spike.yaml --block spike

clean: down
	rm -rf deploy/local/.data deploy/local/.run .pytest_cache .mypy_cache .ruff_cache
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV) deploy/local/.cache
