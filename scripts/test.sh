#!/usr/bin/env bash
# The test command: installs what the tests need, starts the Elasticsearch and the Kafka broker they use
# (unless ES_URL / KAFKA_URL point at them), runs the type checker and every bun test suite, and ends with `N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test || { echo "0 passed, 1 failed"; exit 1; }

started_es=false
if [ -z "${ES_URL:-}" ]; then
  scripts/es.sh start || { echo "0 passed, 1 failed"; exit 1; }
  started_es=true
  ES_URL="$(scripts/es.sh url)"
  export ES_URL
fi
stop_es() { if $started_es; then scripts/es.sh stop; started_es=false; fi; }
trap stop_es EXIT

# Kafka: the tests under tests/kafka/ use the broker named by KAFKA_URL (host:port); one is started unless given.
started_kafka=false
if [ -z "${KAFKA_URL:-}" ]; then
  scripts/kafka.sh start || { stop_es; echo "0 passed, 1 failed"; exit 1; }
  started_kafka=true
  KAFKA_URL="$(scripts/kafka.sh url)"
  export KAFKA_URL
fi
stop_kafka() { if $started_kafka; then scripts/kafka.sh stop; started_kafka=false; fi; }
trap 'stop_es; stop_kafka' EXIT

mkdir -p .cache
typecheck_failed=0
if ! node_modules/.bin/tsc --noEmit -p .; then
  echo "typecheck: failed (see above)" >&2
  typecheck_failed=1
fi

log=.cache/test-output.txt
node_modules/.bin/bun test --timeout 60000 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

passed=$(grep -E '^ *[0-9]+ pass$' "$log" | tail -1 | tr -dc '0-9')
failed=$(grep -E '^ *[0-9]+ fail$' "$log" | tail -1 | tr -dc '0-9')
passed=${passed:-0}
failed=$(( ${failed:-0} + typecheck_failed ))
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
stop_es
stop_kafka
trap - EXIT
echo "$passed passed, $failed failed"
[ "$status" -eq 0 ] && [ "$typecheck_failed" -eq 0 ]
