#!/usr/bin/env bash
# Web + the two Celery worker stages on the embedded default (SQLite, local files, filesystem
# broker, demo provider) unless environment variables point elsewhere. Ctrl+C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
export DJANGO_DEBUG="${DJANGO_DEBUG:-1}"
export ATELIER_DATA_DIR="${ATELIER_DATA_DIR:-$PWD/var}"
mkdir -p "$ATELIER_DATA_DIR/broker/processed" "$ATELIER_DATA_DIR/media"
BIN=.venv/bin

$BIN/python manage.py migrate --noinput
if [ "${ATELIER_DEMO_USER:-1}" = "1" ]; then
  $BIN/python manage.py ensure_demo_user
fi

# The two stages docker-compose.yml runs, smaller. The I/O stage (provider calls, polls,
# downloads) under gevent; on SQLite a write blocks every greenlet of the process while it
# waits for the lock, so its concurrency stays small (README, "Sizing the workers"). The
# CPU stage (decode, thumbnail, store) in one prefork process, with the beat scheduler (the
# stale-job reaper) inside it: Celery refuses -B on a gevent worker.
QUEUE="${CELERY_TASK_DEFAULT_QUEUE:-atelier}"
DATABASE_CONN_MAX_AGE=0 $BIN/celery -A config worker -n "io@%h" -Q "$QUEUE" -P gevent \
  -c "${ATELIER_IO_CONCURRENCY:-8}" --loglevel INFO --without-gossip --without-mingle &
worker_io=$!
$BIN/celery -A config worker -n "cpu@%h" -Q "$QUEUE.cpu" \
  --concurrency "${ATELIER_CPU_CONCURRENCY:-1}" -B \
  --schedule "$ATELIER_DATA_DIR/celerybeat-schedule" \
  --loglevel INFO --without-gossip --without-mingle &
worker_cpu=$!
trap 'kill "$worker_io" "$worker_cpu" 2>/dev/null; wait "$worker_io" "$worker_cpu" 2>/dev/null' \
  EXIT INT TERM

$BIN/python manage.py runserver "${ATELIER_ADDR:-127.0.0.1:8000}"
