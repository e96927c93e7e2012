#!/usr/bin/env bash
# Scale-out that runs, on this machine: 2 gunicorn processes (ports 8101, 8102), 2 `manage.py rqworker`s,
# `manage.py recovery_sweep --loop`, against a fresh PostgreSQL database and one Redis database, with a
# local webhook receiver (bench/receiver.py). bench/scale_out.py then pushes status changes through both
# APIs, waits for the drain and writes bench/results/scale_out.md. The README's "Scaling out" is this.
#
#   bash bench/scale_out.sh
#   CHANGES (2000)  CLIENTS (8)  DB (scaleout)  PG (postgres://postgres@127.0.0.1:5432)
#   REDIS (redis://127.0.0.1:6379/8)  WEB_PORTS ("8101 8102")  RECEIVER_PORT (9911)  KEEP_LOGS (0)
#
# The database is dropped and created, and dropped again at the end; the Redis database is emptied
# (FLUSHDB of that database only) before and after. Logs: a temporary directory (printed; kept on failure
# or with KEEP_LOGS=1).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$PWD/.venv/bin/python
GUNICORN=$PWD/.venv/bin/gunicorn
CHANGES=${CHANGES:-2000}
CLIENTS=${CLIENTS:-8}
DB=${DB:-scaleout}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
REDIS=${REDIS:-redis://127.0.0.1:6379/8}
WEB_PORTS=${WEB_PORTS:-"8101 8102"}
RECEIVER_PORT=${RECEIVER_PORT:-9911}
LOGS=$(mktemp -d /tmp/scale_out.XXXXXX)

secret() { "$PY" -c 'import secrets; print(secrets.token_urlsafe(48))'; }

# The settings every process gets (the README's "Scaling out" lists the same). Production mode, with
# three local exceptions: plain HTTP on loopback (SECURE_SSL_REDIRECT=false), a webhook receiver on
# loopback (WEBHOOKS_ALLOW_LOOPBACK=1), and no rate limits (one key sends everything).
export DJANGO_SETTINGS_MODULE=config.settings
export DJANGO_ENV=production
export SECRET_KEY=$(secret) API_KEY_HASH_SECRET=$(secret) FIELD_ENCRYPTION_KEYS=$(secret)
export ALLOWED_HOSTS=127.0.0.1,localhost
export DATABASE_URL=$PG/$DB
export DB_CONN_MAX_AGE=60
export REDIS_URL=$REDIS
export TASKS_BACKEND=rq
export STATIC_ROOT=$LOGS/static
export SECURE_SSL_REDIRECT=false
export WEBHOOKS_ALLOW_LOOPBACK=1
export RATE_LIMIT_ENABLED=false
export LOG_LEVEL=WARNING
export PYTHONUNBUFFERED=1

psql_admin() { psql "$PG/postgres" -v ON_ERROR_STOP=1 -qAtc "$1"; }
redis_db() { "$PY" -c 'import sys, redis; print(redis.Redis.from_url(sys.argv[1]).execute_command(*sys.argv[2:]))' "$REDIS" "$@"; }

pids=()
start() { # name command…: in its own process group, output to $LOGS/name.log
    local name=$1
    shift
    setsid "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
    pids+=("$!")
    echo "started $name (pid $!): $*"
}
status=1
cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for _ in $(seq 50); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.2
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    psql_admin "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" || true
    redis_db FLUSHDB >/dev/null || true
    if [ "$status" = 0 ] && [ "${KEEP_LOGS:-0}" != 1 ]; then rm -rf "$LOGS"; else echo "logs kept in $LOGS"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "database $DB: drop, create, migrate; Redis $REDIS: FLUSHDB; logs in $LOGS"
psql_admin "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)"
psql_admin "CREATE DATABASE \"$DB\""
redis_db FLUSHDB >/dev/null
mkdir -p "$STATIC_ROOT"
# Deployment checks: only W008 (no SSL redirect, on purpose here) is reported; any error stops the run.
check=$("$PY" manage.py check --deploy --fail-level ERROR 2>&1) || { echo "$check"; exit 1; }
"$PY" manage.py migrate --no-input -v 0
store=$("$PY" manage.py createstore "Scale out" --json | tail -n 1)
api_key=$("$PY" -c 'import json, sys; print(json.loads(sys.argv[1])["apiKey"])' "$store")

start receiver "$PY" bench/receiver.py --port "$RECEIVER_PORT"
apis=()
for port in $WEB_PORTS; do
    start "web-$port" "$GUNICORN" config.wsgi -k gthread --workers 1 --threads 8 --bind "127.0.0.1:$port" \
        --graceful-timeout 10
    apis+=(--api "http://127.0.0.1:$port")
done
for n in 1 2; do
    start "rqworker-$n" "$PY" manage.py rqworker refunds webhooks default --name "scale-out-$n-$$"
done
start recovery_sweep "$PY" manage.py recovery_sweep --loop

for port in $WEB_PORTS; do
    for _ in $(seq 150); do
        curl -s -o /dev/null "http://127.0.0.1:$port/api/v1/orders/statuses" && break
        sleep 0.2
    done
done

setup="2 × \`gunicorn config.wsgi -k gthread --workers 1 --threads 8\`, 2 × \`manage.py rqworker refunds webhooks default\`, \`manage.py recovery_sweep --loop\`; DJANGO_ENV=production, TASKS_BACKEND=rq, REDIS_URL=$REDIS, PostgreSQL database $DB, DB_CONN_MAX_AGE=60, RATE_LIMIT_ENABLED=false"
if "$PY" bench/scale_out.py "${apis[@]}" --api-key "$api_key" --receiver "http://127.0.0.1:$RECEIVER_PORT" \
    --database-url "$DATABASE_URL" --changes "$CHANGES" --clients "$CLIENTS" --setup "$setup"; then
    status=0
fi
exit $status
