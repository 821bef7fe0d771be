#!/bin/sh
# Starts PostgreSQL with TLS. The key arrives as a Compose secret (a bind mount with the host
# file's owner and mode); PostgreSQL insists on a key owned by its user and not readable by
# others, so copy it into place first, then hand over to the image's entrypoint.
set -eu
install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/tls
install -o postgres -g postgres -m 0600 /run/secrets/postgres.key /var/lib/postgresql/tls/server.key
install -o postgres -g postgres -m 0644 /run/secrets/postgres.crt /var/lib/postgresql/tls/server.crt
exec docker-entrypoint.sh postgres \
  -c ssl=on \
  -c ssl_cert_file=/var/lib/postgresql/tls/server.crt \
  -c ssl_key_file=/var/lib/postgresql/tls/server.key \
  -c ssl_ca_file=/run/secrets/ca.crt \
  -c ssl_min_protocol_version=TLSv1.2 \
  -c password_encryption=scram-sha-256 \
  -c shared_preload_libraries=pg_stat_statements
