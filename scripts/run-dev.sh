#!/usr/bin/env bash
# Web + Celery worker on the embedded default (SQLite, local files, filesystem broker,
# demo provider) unless environment variables point elsewhere. Ctrl+C stops both.
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

# -B runs the beat scheduler (the stale-job reaper) inside this one worker.
$BIN/celery -A config worker -B --schedule "$ATELIER_DATA_DIR/celerybeat-schedule" \
  --loglevel INFO --concurrency "${ATELIER_WORKER_CONCURRENCY:-2}" --without-gossip --without-mingle &
worker=$!
trap 'kill "$worker" 2>/dev/null; wait "$worker" 2>/dev/null' EXIT INT TERM

$BIN/python manage.py runserver "${ATELIER_ADDR:-127.0.0.1:8000}"
