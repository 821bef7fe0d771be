#!/bin/sh
# First start only (empty data directory): roles and databases for Plinth and MLflow.
#   plinth      owns database plinth (not a superuser, as in production);
#   plinth_app  the NOLOGIN role tenant-scoped transactions switch to (SET LOCAL ROLE);
#   vector      the pgvector extension, created here because plinth may not create it;
#   mlflow      owns database mlflow.
# Remote connections must use TLS (hostssl) with SCRAM passwords.
set -eu
plinth_pw=$(cat /run/secrets/plinth-db-password)
mlflow_pw=$(cat /run/secrets/mlflow-db-password)
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
  -v plinth_pw="$plinth_pw" -v mlflow_pw="$mlflow_pw" <<'SQL'
CREATE ROLE plinth LOGIN PASSWORD :'plinth_pw';
CREATE DATABASE plinth OWNER plinth;
CREATE ROLE plinth_app NOLOGIN NOINHERIT;
GRANT plinth_app TO plinth;
CREATE ROLE mlflow LOGIN PASSWORD :'mlflow_pw';
CREATE DATABASE mlflow OWNER mlflow;
\connect plinth
CREATE EXTENSION IF NOT EXISTS vector;
SQL
cat > "$PGDATA/pg_hba.conf" <<'HBA'
# TYPE    DATABASE  USER  ADDRESS       METHOD
local     all       all                 trust
host      all       all   127.0.0.1/32  scram-sha-256
hostssl   all       all   0.0.0.0/0     scram-sha-256
hostssl   all       all   ::/0          scram-sha-256
HBA
