#!/usr/bin/env bash
# `make up`: the whole pipeline on one box, stages joined by named FIFOs the way the old appliance was.
#
#   trackers ─HTTP $COLLECT_PORT─▶ collect ─raw.fifo─▶ enrich ─good.fifo─▶ sink-good
#                                                       └─pii.fifo─▶ sink --index pii (PII enrichment's events)
#   apps ─TCP $LOGS_PORT─▶ logs-listen ─logs.fifo─▶ sink --index logs-%Y.%m.%d
#   every stage's bad rows ─bad.fifo─▶ sink-bad
#
# Stores in SQLite ($DB, default data/telemetry.db) unless ES_URL names an Elasticsearch. ENRICHMENTS names a
# directory of Snowplow enrichment configs (default: the Snowplow Mini set). Everything listens on loopback
# unless COLLECT_HOST / LOGS_HOST say otherwise (0.0.0.0: other machines); Iglu, which takes writes, always.
# Ctrl-C or `make down` stops the sources first and lets every stage downstream drain on EOF,
# so nothing accepted is lost on the way out.
set -euo pipefail
cd "$(dirname "$0")/.."

COLLECT_HOST="${COLLECT_HOST:-127.0.0.1}"
LOGS_HOST="${LOGS_HOST:-127.0.0.1}"
COLLECT_PORT="${COLLECT_PORT:-8000}"
LOGS_PORT="${LOGS_PORT:-9600}"
IGLU_PORT="${IGLU_PORT:-8081}"
DASHBOARD_PORT="${DASHBOARD_PORT:-5601}"
DATA="${DATA:-data}"
DB="${DB:-$DATA/telemetry.db}"
RUN="$DATA/run"
telemetry=bin/telemetry

mkdir -p "$RUN"
if [ -n "${ES_URL:-}" ]; then store=(--es "$ES_URL"); where="Elasticsearch at $ES_URL"; else store=(--db "$DB"); where="SQLite $DB"; fi

for fifo in raw good bad logs pii; do
  rm -f "$RUN/$fifo.fifo"
  mkfifo "$RUN/$fifo.fifo"
done
# Holding bad.fifo open for writing ourselves keeps sink-bad from seeing EOF whenever one stage
# that reported bad rows exits; it gets EOF only when we close it at the very end.
exec 3<>"$RUN/bad.fifo"
# The same for pii.fifo: enrich opens it only when the PII enrichment first emits, maybe never.
exec 4<>"$RUN/pii.fifo"

pids=()
# start NAME STDIN STDOUT COMMAND…: each stage in its own session, so a terminal's Ctrl-C reaches only this
# script, which then stops the stages in order. The redirections happen in the child, since opening a FIFO
# blocks until its other end is opened; fds 3 and 4 are closed there so only this script holds bad.fifo and
# pii.fifo open.
start() {
  local name="$1" input="$2" output="$3"
  shift 3
  (exec setsid "$@" <"$input" >"$output" 2>>"$DATA/$name.log" 3>&- 4>&-) &
  pids+=("$!")
  echo "$!" >"$RUN/$name.pid"
}

start sink-bad "$RUN/bad.fifo" /dev/null "$telemetry" sink-bad "${store[@]}" --bad "$DATA/sink-bad.failed.ndjson"
start sink-good "$RUN/good.fifo" /dev/null "$telemetry" sink-good "${store[@]}" --bad "$RUN/bad.fifo"
start sink-logs "$RUN/logs.fifo" /dev/null "$telemetry" sink --index 'logs-%Y.%m.%d' "${store[@]}" --bad "$RUN/bad.fifo"
start sink-pii "$RUN/pii.fifo" /dev/null "$telemetry" sink --index pii --mapping good "${store[@]}" --bad "$RUN/bad.fifo"
enrichments=()
if [ -n "${ENRICHMENTS:-}" ]; then enrichments=(--enrichments "$ENRICHMENTS"); fi
start enrich "$RUN/raw.fifo" "$RUN/good.fifo" "$telemetry" enrich "${enrichments[@]}" --iglu "http://127.0.0.1:$IGLU_PORT/api" --pii "$RUN/pii.fifo" --bad "$RUN/bad.fifo"
start collect /dev/null "$RUN/raw.fifo" "$telemetry" collect --host "$COLLECT_HOST" --port "$COLLECT_PORT" --bad "$RUN/bad.fifo"
collect_pid=$!
start logs-listen /dev/null "$RUN/logs.fifo" "$telemetry" logs-listen --host "$LOGS_HOST" --port "$LOGS_PORT" --bad "$RUN/bad.fifo"
logs_pid=$!
start iglu /dev/null /dev/null "$telemetry" iglu serve --host 127.0.0.1 --port "$IGLU_PORT" --dir schemas
iglu_pid=$!
start dashboard /dev/null /dev/null "$telemetry" dashboard --port "$DASHBOARD_PORT" "${store[@]}"
dashboard_pid=$!
echo "$$" >"$RUN/up.pid"

stop() {
  trap - INT TERM
  echo "telemetry up: stopping sources, draining the pipeline…" >&2
  kill -TERM "$collect_pid" "$logs_pid" "$iglu_pid" "$dashboard_pid" 2>/dev/null || true
  # enrich, sink-good and sink-logs end on EOF once their sources are gone.
  for name in collect logs-listen iglu dashboard enrich sink-good sink-logs; do
    wait "$(cat "$RUN/$name.pid")" 2>/dev/null || true
  done
  exec 4>&- # enrich is gone, and with it the last writer of pii.fifo: sink-pii drains and ends
  wait "$(cat "$RUN/sink-pii.pid")" 2>/dev/null || true
  exec 3>&- # last writer of bad.fifo gone: sink-bad drains and ends
  wait "$(cat "$RUN/sink-bad.pid")" 2>/dev/null || true
  rm -f "$RUN"/*.pid "$RUN"/*.fifo
  echo "telemetry up: stopped" >&2
  exit 0
}
trap stop INT TERM

reach=""
if [ "$COLLECT_HOST" = 127.0.0.1 ] || [ "$LOGS_HOST" = 127.0.0.1 ]; then
  reach=" (127.0.0.1: this machine only; COLLECT_HOST=0.0.0.0 and LOGS_HOST=0.0.0.0 make up lets other machines in)"
fi
cat >&2 <<MSG
telemetry up: collector on http://$COLLECT_HOST:$COLLECT_PORT, logs on tcp://$LOGS_HOST:$LOGS_PORT, Iglu on http://127.0.0.1:$IGLU_PORT$reach
telemetry up: dashboard on http://127.0.0.1:$DASHBOARD_PORT
telemetry up: storing into $where; stage logs in $DATA/*.log; Ctrl-C or \`make down\` to stop
MSG
# If any stage dies on its own, stop the rest in order rather than leave a half pipeline.
wait -n "${pids[@]}" || true
echo "telemetry up: a stage exited; see $DATA/*.log" >&2
stop
