#!/usr/bin/env bash
# The README quick start, checked: start the built server with embedded defaults on a fresh
# data directory, wait for /readyz, call an authenticated endpoint with the admin key, and
# stop it with SIGTERM (it must exit 0).
set -euo pipefail
cd "$(dirname "$0")/.."

data_dir="$(mktemp -d)"
port="${PLINTH_SMOKE_PORT:-17070}"
log="$data_dir/serve.log"
PLINTH_DATA_DIR="$data_dir" PLINTH_PORT="$port" node dist/cli/main.js serve >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data_dir"' EXIT

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then echo "smoke: server exited early"; cat "$log"; exit 1; fi
  sleep 1
done
curl -fsS "http://127.0.0.1:$port/readyz" | grep -q '"status":"ok"'
test "$(stat -c %a "$data_dir/admin.key")" = 600
grep -q "admin.key" "$log"
if grep -q "$(cat "$data_dir/admin.key")" "$log"; then echo "smoke: the admin key was printed"; exit 1; fi
whoami="$(curl -fsS -H "Authorization: Bearer $(cat "$data_dir/admin.key")" "http://127.0.0.1:$port/v1/whoami")"
echo "$whoami" | grep -q '"tenant":"default"'
code="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/whoami")"
test "$code" = 401
kill -TERM "$pid"
wait "$pid"
echo "smoke: ok (readyz green, admin key works, unauthenticated 401, clean SIGTERM exit)"
