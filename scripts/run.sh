#!/usr/bin/env bash
# `make run` (after migrate): demo data on first run, then the web server, a task worker per queue and the
# recovery sweep together, each restarted if it dies, until Ctrl-C. Re-running keeps the data and starts in seconds.
#   PORT (default 8000), WEB_THREADS (default 4)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PORT=${PORT:-8000}
CREDENTIALS=${VAR_DIR:-var}/demo-credentials.json
BASE=http://127.0.0.1:$PORT

# One Django start-up for all the preparation (each `manage.py` call costs seconds): demo data on an empty
# database, the dashboard's demo connections and logins when that command exists, static files.
logins=$($PY - "$CREDENTIALS" <<'PYTHON'
import io, os, sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
import django
django.setup()
from django.core.management import call_command, get_commands

credentials = Path(sys.argv[1])
call_command("seed_demo", "--if-empty", "--credentials", str(credentials), stdout=sys.stderr)
if "setup_demo_dashboard" not in get_commands():
    print("Dashboard demo logins are not set up (no setup_demo_dashboard command).")
elif not credentials.exists():
    print(f"No {credentials} (this database was not seeded by make run): add users with manage.py grant.")
else:
    out = io.StringIO()
    call_command("setup_demo_dashboard", "--credentials", str(credentials), stdout=out)
    print(out.getvalue().rstrip())
call_command("collectstatic", "--no-input", verbosity=0)
PYTHON
)

# Each child gets its own process group (job control), so one signal to the group stops a process and
# everything it forked (gunicorn's workers); Ctrl-C in the terminal reaches this script, which stops them.
set -m
pids=()
start() {
    "$@" </dev/null &
    pids+=("$!")
}
stopping=0
stop() {
    [ "$stopping" = 1 ] && return
    stopping=1
    trap - INT TERM
    echo
    echo "Stopping (web server, task workers, recovery sweep)…"
    for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    # Give them 10 s to finish in-flight requests and tasks, then make sure.
    for _ in $(seq 50); do
        alive=0
        for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.2
    done
    for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# Each process is kept running: one that dies (a crash, a dropped database connection it could not
# survive, a kill -9) is started again after a pause, so refunds and webhooks keep moving.
keep_running() {
    local name=$1; shift
    while :; do
        "$@" && code=0 || code=$?
        echo "$name exited (code $code); starting it again in 2 s." >&2
        sleep 2
    done
}
start keep_running "web server" .venv/bin/gunicorn config.wsgi --bind "127.0.0.1:$PORT" --workers 1 \
    --threads "${WEB_THREADS:-4}" --worker-class gthread --access-logfile - --graceful-timeout 5 --timeout 120
# One worker per queue: a burst of webhook deliveries never holds a refund back.
start keep_running "refund worker" $PY manage.py db_worker --queue-name refunds,default
# Webhooks: the batch sender (orders/webhooks/sender.py) instead of a task worker on the webhooks queue.
start keep_running "webhook worker" $PY manage.py webhook_worker
# Queues again the deliveries and refunds whose task was lost (orders/management/commands/recovery_sweep.py).
start keep_running "recovery sweep" $PY manage.py recovery_sweep --loop
# Resumes the dashboard's bulk jobs whose worker died (dashboard/management/commands/bulk_jobs_sweep.py).
start keep_running "bulk job sweep" $PY manage.py bulk_jobs_sweep --loop

# Wait until the server answers (or died), then show where everything is.
for _ in $(seq 100); do
    curl -s -o /dev/null "$BASE/api/v1/orders/statuses" && break  # any answer (401) means it is up
    sleep 0.2
done

keys=$($PY - "$CREDENTIALS" <<'PYTHON'
import json, sys
try:
    stores = json.load(open(sys.argv[1]))["stores"]
except (OSError, ValueError, KeyError):
    stores = []
for s in stores:
    print(f"  {s['name']:<20} {s['apiKey']}   ({s['currency']}, {s['timezone']})")
if not stores:
    print(f"  none in {sys.argv[1]}: create one with `manage.py createstore NAME`")
PYTHON
)
cat <<BANNER

================================================================================
 Vesuvio Orders is running (Ctrl-C stops everything)
   Dashboard  $BASE/
   API        $BASE/api/v1/
   API docs   $BASE/api/v1/docs
 Demo API keys (X-API-Key header):
$keys
 $(echo "$logins" | sed '2,$s/^/ /')
 Try:  curl -H "X-API-Key: <key>" $BASE/api/v1/orders
================================================================================

BANNER

# Until Ctrl-C (or TERM): the supervisors above never return on their own.
wait "${pids[@]}" || true
