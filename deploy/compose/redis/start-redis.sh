#!/bin/sh
# Starts Redis with TLS only. The password is written from its secret file into an include
# file (never on a command line); the key is copied so the redis user can read it.
set -eu
install -d -o redis -g redis -m 0700 /run/redis
install -o redis -g redis -m 0600 /run/secrets/redis.key /run/redis/server.key
printf 'requirepass "%s"\n' "$(cat /run/secrets/redis-password)" > /run/redis/auth.conf
chown redis:redis /run/redis/auth.conf
chmod 0600 /run/redis/auth.conf
exec docker-entrypoint.sh redis-server /etc/plinth/redis.conf
