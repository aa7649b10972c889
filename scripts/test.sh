#!/usr/bin/env bash
# The test command: installs what the tests need, starts the Elasticsearch and the Kafka broker they use
# (unless ES_URL / KAFKA_URL point at them), runs the type checker and every bun test suite, then the
# suites that talk to Elasticsearch again on each other engine (ES_FLAVOURS), checks that the run left
# no process and no file behind, and ends with `N passed, N failed` summed over every run.
#
# ES_FLAVOURS: the other engines, as flavour:version words ("elasticsearch:9.2.0 opensearch:2.19.6";
# empty for none). Each gets a node of its own on ES_PORT+1, ES_PORT+2…, stopped before the next starts.
set -uo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

scripts/install-deps.sh --test || { echo "0 passed, 1 failed"; exit 1; }

# --- what the run leaves behind: looked at before and after -----------------------------------------
# Processes that run this checkout's code or a node under its cache, or run in one of its folders, and
# files git does not track: an ignored file counts too (./telemetry-bad.ndjson is ignored but has no
# business in the repository), except under node_modules/ and .cache/, which the run itself fills.
our_processes() {
  local me=$BASHPID candidates pid dir cwd
  candidates="$(
    ps -eo pid=,args= | awk -v repo="$repo/" 'index($0, repo) { print $1 }'
    for dir in /proc/[0-9]*; do
      cwd="$(readlink "$dir/cwd" 2>/dev/null)" || continue
      if [ "$cwd" = "$repo" ] || [ "${cwd#"$repo"/}" != "$cwd" ]; then echo "${dir#/proc/}"; fi
    done
  )"
  # Those still there once the listing's own helpers (ps, awk, readlink) have ended; never this script.
  for pid in $candidates; do
    [ -e "/proc/$pid" ] && [ "$pid" != "$$" ] && [ "$pid" != "$me" ] && echo "$pid"
  done | sort -u
}
stray_files() {
  { git status --porcelain --untracked-files=all; git status --porcelain --ignored | grep '^!!'; } |
    grep -v -E '^!! (node_modules|\.cache)/' | sort
}
processes_before="$(our_processes)"
files_before="$(stray_files)"

# --- servers ------------------------------------------------------------------------------------------
started_es=false
if [ -z "${ES_URL:-}" ]; then
  scripts/es.sh start || { echo "0 passed, 1 failed"; exit 1; }
  started_es=true
  ES_URL="$(scripts/es.sh url)"
  export ES_URL
fi
stop_es() { if $started_es; then scripts/es.sh stop; started_es=false; fi; }

# Kafka: the tests under tests/kafka/ use the broker named by KAFKA_URL (host:port); one is started unless given.
started_kafka=false
if [ -z "${KAFKA_URL:-}" ]; then
  scripts/kafka.sh start || { stop_es; echo "0 passed, 1 failed"; exit 1; }
  started_kafka=true
  KAFKA_URL="$(scripts/kafka.sh url)"
  export KAFKA_URL
fi
stop_kafka() { if $started_kafka; then scripts/kafka.sh stop; started_kafka=false; fi; }

# The node of the flavour run under way (ES_FLAVOUR, ES_VERSION and ES_PORT say which), if any.
flavour_node=""
stop_flavour_node() { if [ -n "$flavour_node" ]; then env $flavour_node scripts/es.sh stop; flavour_node=""; fi; }

stop_all() { stop_flavour_node; stop_es; stop_kafka; }
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- runs ---------------------------------------------------------------------------------------------
mkdir -p .cache
passed=0
failed=0
# Runs bun test with the given arguments, logging to .cache/test-output[-LABEL].txt, and adds its counts.
run_suites() {
  local label="$1"; shift
  local log=".cache/test-output${label:+-$label}.txt" status run_passed run_failed
  node_modules/.bin/bun test --timeout 60000 "$@" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  run_passed=$(grep -E '^ *[0-9]+ pass$' "$log" | tail -1 | tr -dc '0-9')
  run_failed=$(grep -E '^ *[0-9]+ fail$' "$log" | tail -1 | tr -dc '0-9')
  run_failed=${run_failed:-0}
  [ "$status" -ne 0 ] && [ "$run_failed" -eq 0 ] && run_failed=1
  passed=$((passed + ${run_passed:-0}))
  failed=$((failed + run_failed))
}

if ! node_modules/.bin/tsc --noEmit -p .; then
  echo "typecheck: failed (see above)" >&2
  failed=$((failed + 1))
fi

run_suites "" "$@"

# The suites that talk to Elasticsearch (those reading ES_URL), again on each other engine, without the
# tests that restart a node (ES_ENGINE_TESTS_ONLY: they test the sink's retries, not the engine). The
# supervision fault suite (tests/supervise/faults-elasticsearch) tests the supervisor, not the engine: 8.19 only.
ES_SUITES=(tests/sink/elasticsearch.test.ts tests/dashboard/search.test.ts tests/dashboard/micro.test.ts)
if [ "$#" -eq 0 ]; then suites=("${ES_SUITES[@]}")
else
  suites=()
  for arg in "$@"; do for suite in "${ES_SUITES[@]}"; do [[ "$suite" == *"$arg"* ]] && suites+=("$suite"); done; done
fi
port="${ES_PORT:-9200}"
for flavour_version in ${ES_FLAVOURS-elasticsearch:9.2.0 opensearch:2.19.6}; do
  [ "${#suites[@]}" -gt 0 ] || break
  port=$((port + 1))
  flavour_node="ES_FLAVOUR=${flavour_version%%:*} ES_VERSION=${flavour_version#*:} ES_PORT=$port"
  if ! env $flavour_node scripts/es.sh start; then
    echo "test: $flavour_version did not start; its suites count as one failure" >&2
    failed=$((failed + 1))
    stop_flavour_node
    continue
  fi
  started=$SECONDS
  ES_FLAVOUR="${flavour_version%%:*}" ES_VERSION="${flavour_version#*:}" ES_URL="http://127.0.0.1:$port" ES_ENGINE_TESTS_ONLY=1 \
    run_suites "${flavour_version/:/-}" "${suites[@]}"
  echo "test: the Elasticsearch suites on $flavour_version took $((SECONDS - started)) s" >&2
  stop_flavour_node
done

stop_all
trap - EXIT

# --- what was left behind -----------------------------------------------------------------------------
processes_after="$(our_processes)"
left_processes="$(comm -13 <(echo "$processes_before") <(echo "$processes_after"))"
if [ -n "$left_processes" ]; then
  echo "test: the run left these processes running:" >&2
  # shellcheck disable=SC2086
  ps -o pid=,args= -p $(echo $left_processes | tr ' ' ',') >&2 || true
  failed=$((failed + 1))
fi
files_after="$(stray_files)"
left_files="$(comm -13 <(echo "$files_before") <(echo "$files_after"))"
if [ -n "$left_files" ]; then
  echo "test: the run left these files in the repository (git status):" >&2
  echo "$left_files" >&2
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
