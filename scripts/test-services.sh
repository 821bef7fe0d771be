#!/usr/bin/env bash
# Runs the integration suites against real servers (PostgreSQL 16 + pgvector from PyPI
# `pgserver`), plus the service-only tests and the fault tests. Starts the services, and stops
# them afterwards.
# Never skips: if a service cannot start, this fails.
set -euo pipefail
cd "$(dirname "$0")/.."

started=0
cleanup() { if [ "$started" = 1 ] && [ "${PLINTH_TEST_KEEP_SERVICES:-0}" != 1 ]; then bash scripts/services.sh stop || true; fi; }
trap cleanup EXIT

env_lines="$(bash scripts/services.sh start)"
started=1
eval "$env_lines"
: "${PLINTH_TEST_PG_URL:?services did not start: PLINTH_TEST_PG_URL is unset}"
export PLINTH_TEST_PG_URL PLINTH_TEST_PG_ADMIN_URL PLINTH_TEST_PG_BIN PLINTH_TEST_PG_TLS_PORT PLINTH_TEST_PG_TLS_CA PLINTH_TEST_EMBED_MODEL_DIR PLINTH_TEST_MLFLOW_URL PLINTH_TEST_S3_URL PLINTH_TEST_PYTHON

node --import tsx --test --test-reporter=spec test/integration/*.test.ts test/services/*.test.ts

# Fault tests: each file starts its own PostgreSQL, Redis and Plinth processes and breaks them;
# one file at a time so that their timings are not disturbed by each other.
npm run --silent test:faults
