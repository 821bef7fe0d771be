#!/usr/bin/env bash
# Fuzzes the HTTP API from its own OpenAPI document with schemathesis (PyPI): starts Plinth on a
# free loopback port (embedded database in a fresh data directory, the admin key it bootstraps,
# an Ollama test double as LLM upstream), generates valid and invalid requests for every
# operation, and fails on any 5xx answer. Prints the number of requests the server answered.
# The fuzzer sends only its valid key (no generated security parameters), so the per-source
# failed-authentication limit never locks it out; key revocation is left out (it would revoke the
# fuzzer's own key; the authorization matrix test covers that route).
#
#   scripts/fuzz-api.sh                 # defaults: 150 examples per operation, seed 1
#   FUZZ_MAX_EXAMPLES=20 FUZZ_SEED=7 scripts/fuzz-api.sh
#
# Exit status: 0 when no request got a server error and at least FUZZ_MIN_REQUESTS were served.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCHEMATHESIS_VERSION="4.32.5"
VENV="${PLINTH_FUZZ_VENV:-$ROOT/.tools/fuzz-venv}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-150}"
SEED="${FUZZ_SEED:-1}"
MIN_REQUESTS="${FUZZ_MIN_REQUESTS:-10000}"
MAX_TIME="${FUZZ_MAX_TIME:-540}"
WORKERS="${FUZZ_WORKERS:-2}"

log() { printf '[fuzz-api] %s\n' "$*" >&2; }

if ! "$VENV/bin/python" -c "import schemathesis, sys; from importlib.metadata import version; sys.exit(version('schemathesis') != '$SCHEMATHESIS_VERSION')" 2>/dev/null; then
  log "installing schemathesis==$SCHEMATHESIS_VERSION into $VENV"
  mkdir -p "$(dirname "$VENV")"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/plinth-fuzz-XXXXXX")"
SERVER_PID=""
DOUBLE_PID=""
ST_PID=""
cleanup() {
  local status=$?
  set +e
  [ -n "$ST_PID" ] && kill "$ST_PID" 2>/dev/null && wait "$ST_PID" 2>/dev/null
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  [ -n "$DOUBLE_PID" ] && kill "$DOUBLE_PID" 2>/dev/null && wait "$DOUBLE_PID" 2>/dev/null
  if [ "$status" -ne 0 ] && [ -f "$WORK/server.log" ]; then
    log "server errors (last 20):"
    grep '"level":50' "$WORK/server.log" | tail -20 >&2
  fi
  if [ "${FUZZ_KEEP:-}" = "1" ]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT INT TERM

free_port() { "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

cd "$ROOT"
# An LLM upstream that answers, so gateway routes are exercised instead of answering 503.
node --import tsx -e "
  import('./test/helpers/llm-doubles.ts').then(async (m) => {
    const d = await m.startOllamaDouble({ models: ['llama3.2'] });
    process.stdout.write(d.url + '\n');
  });
" >"$WORK/double.url" 2>"$WORK/double.log" &
DOUBLE_PID=$!
for _ in $(seq 1 100); do [ -s "$WORK/double.url" ] && break; sleep 0.2; done
OLLAMA_URL="$(head -1 "$WORK/double.url")"
[ -n "$OLLAMA_URL" ] || { log "the LLM test double did not start"; exit 1; }

PORT="$(free_port)"
env -u DATABASE_URL PLINTH_DATA_DIR="$WORK/data" PLINTH_HOST=127.0.0.1 PLINTH_PORT="$PORT" \
  OLLAMA_URL="$OLLAMA_URL" EMBEDDINGS_PROVIDER=hashing LOG_LEVEL=info \
  node --import tsx src/cli/main.ts serve >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
BASE="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do
  curl -fsS "$BASE/livez" >/dev/null 2>&1 && [ -s "$WORK/data/admin.key" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { log "Plinth exited during start"; tail -20 "$WORK/server.log" >&2; exit 1; }
  sleep 0.5
done
KEY="$(tr -d '\n' <"$WORK/data/admin.key")"
log "Plinth on $BASE; running schemathesis ($MAX_EXAMPLES examples per operation, seed $SEED)"

set +e
"$VENV/bin/schemathesis" run "$BASE/openapi.json" \
  --header "Authorization: Bearer $KEY" \
  --checks not_a_server_error \
  --generation-with-security-parameters false \
  --exclude-path '/v1/keys/{id}' \
  --phases examples,coverage,fuzzing \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --workers "$WORKERS" \
  --max-time "$MAX_TIME" \
  --request-timeout 30 \
  --generation-database none \
  --suppress-health-check all \
  --no-shrink \
  --continue-on-failure \
  --no-color \
  --output-sanitize true >"$WORK/schemathesis.log" 2>&1 &
ST_PID=$!
wait "$ST_PID"
ST_STATUS=$?
ST_PID=""
set -e

kill -0 "$SERVER_PID" 2>/dev/null || { log "Plinth died during the run"; tail -40 "$WORK/server.log" >&2; exit 1; }
REQUESTS="$(grep -c '"msg":"request"' "$WORK/server.log" || true)"
SERVER_ERRORS="$(grep '"msg":"request"' "$WORK/server.log" | grep -c '"status":5[0-9][0-9]' || true)"
tail -25 "$WORK/schemathesis.log" >&2
echo "requests=$REQUESTS server_errors=$SERVER_ERRORS schemathesis_exit=$ST_STATUS"
if [ "$SERVER_ERRORS" -ne 0 ]; then
  log "5xx answers:"
  grep '"msg":"request"' "$WORK/server.log" | grep '"status":5[0-9][0-9]' | awk 'NR <= 20' >&2
  exit 1
fi
if [ "$ST_STATUS" -ne 0 ]; then log "schemathesis reported failures"; exit 1; fi
if [ "$REQUESTS" -lt "$MIN_REQUESTS" ]; then log "only $REQUESTS requests (want >= $MIN_REQUESTS)"; exit 1; fi
log "ok: $REQUESTS requests, no server error"
