#!/usr/bin/env bash
# The suite runs against real PostgreSQL and Redis on 127.0.0.1. Start them if this
# machine has them installed but stopped; otherwise say how to get them.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432; then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "Starting PostgreSQL..."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  fi
fi
if ! up 6379; then
  if command -v redis-server >/dev/null; then
    echo "Starting Redis..."
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
      --dir /var/lib/redis --logfile /var/log/redis/ci.log
  fi
fi
for _ in $(seq 1 30); do up 5432 && up 6379 && exit 0; sleep 0.5; done
up 5432 || echo "PostgreSQL is not running on 127.0.0.1:5432 (trust auth, user postgres). Install it, or run: docker compose up -d postgres" >&2
up 6379 || echo "Redis is not running on 127.0.0.1:6379. Install redis-server, or run: docker compose up -d redis" >&2
exit 1
