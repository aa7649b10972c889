#!/usr/bin/env bash
# A real Elasticsearch on loopback for tests and for people, from Maven Central's integ-test-zip.
#
#   scripts/es.sh fetch     download (mvn dependency:copy) and unpack into .cache/elasticsearch/
#   scripts/es.sh start     start a node on 127.0.0.1:$ES_PORT and wait until it is yellow or green
#   scripts/es.sh stop      stop that node and wait until it has exited
#   scripts/es.sh remove    stop it and delete its data, config and logs (the download stays)
#   scripts/es.sh status    exit 0 when the node answers /_cluster/health, 1 otherwise
#   scripts/es.sh url       print http://127.0.0.1:$ES_PORT
#
# Environment: ES_PORT (9200), ES_CACHE_DIR (.cache/elasticsearch, or /var/tmp/telemetry-elasticsearch when
# the work tree is in a folder other users cannot enter), ES_VERSION (8.19.21: the newest integ-test-zip Maven Central serves; it has
# no 9.x), ES_HEAP (512m), ES_JAVA_HOME (else a JDK under /usr/lib/jvm), ES_USER (telemetry-es),
# ES_START_TIMEOUT seconds (120).
#
# Why it looks like this: the integ-test-zip has no bundled JDK, refuses to run as root, and lacks the
# module that answers `GET /`, so we pick a JDK, run it as a user of its own, and probe /_cluster/health.
# Each port is its own node (config, data, logs and pid under node-<port>/), so a test suite can run
# one beside a person's `make es` and stop it without touching the other.
set -euo pipefail

repo="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
version="${ES_VERSION:-8.19.21}"
port="${ES_PORT:-9200}"
heap="${ES_HEAP:-512m}"
user="${ES_USER:-telemetry-es}"
timeout="${ES_START_TIMEOUT:-120}"

# The node runs as its own user, who must reach the distribution through every parent folder. A work
# tree under a private folder (e.g. /root) is not reachable, so the cache then lives in /var/tmp.
world_searchable() {
  local dir="$1"
  while [ "$dir" != "/" ]; do
    [ "$(( 0$(stat -c %a "$dir") & 1 ))" -eq 1 ] || return 1
    dir="$(dirname "$dir")"
  done
}
if [ -n "${ES_CACHE_DIR:-}" ]; then cache="$ES_CACHE_DIR"
elif world_searchable "$repo"; then cache="$repo/.cache/elasticsearch"
else cache="/var/tmp/telemetry-elasticsearch"; fi
home="$cache/elasticsearch-$version"
node="$cache/node-$port"
url="http://127.0.0.1:$port"

fail() { echo "es.sh: $*" >&2; exit 1; }

health() { # prints the cluster status (green/yellow/red) or nothing; never fails (set -e would end the script)
  { curl -s --max-time 2 "$url/_cluster/health" 2>/dev/null || true; } | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'
}

running_pid() { # the pid of this port's node if it is alive
  local pid
  [ -f "$node/pid" ] || return 1
  pid="$(cat "$node/pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

fetch() {
  [ -x "$home/bin/elasticsearch" ] && return 0
  command -v mvn >/dev/null || fail "Maven (mvn) is needed to fetch Elasticsearch: apt-get install maven"
  command -v unzip >/dev/null || command -v bsdtar >/dev/null || command -v python3 >/dev/null ||
    fail "unzip is needed to unpack Elasticsearch: apt-get install unzip"
  mkdir -p "$cache"
  echo "es.sh: fetching org.elasticsearch.distribution.integ-test-zip:elasticsearch:$version:zip from Maven Central" >&2
  mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="org.elasticsearch.distribution.integ-test-zip:elasticsearch:$version:zip" \
    -DoutputDirectory="$cache" -Dmdep.overWriteReleases=false >&2 ||
    fail "Maven could not fetch Elasticsearch $version (is Maven Central reachable?)"
  local zip="$cache/elasticsearch-$version.zip" unpack="$cache/.unpack-$$"
  rm -rf "$unpack"
  mkdir -p "$unpack"
  if command -v unzip >/dev/null; then unzip -q "$zip" -d "$unpack"
  elif command -v bsdtar >/dev/null; then bsdtar -xf "$zip" -C "$unpack"
  else python3 -m zipfile -e "$zip" "$unpack"; fi
  chmod +x "$unpack/elasticsearch-$version"/bin/* 2>/dev/null || true
  mv "$unpack/elasticsearch-$version" "$home"
  rm -rf "$unpack" "$zip"
}

java_home() { # the JDK to run this version on: ES_JAVA_HOME, else the oldest suitable one under /usr/lib/jvm
  if [ -n "${ES_JAVA_HOME:-}" ]; then echo "$ES_JAVA_HOME"; return; fi
  local needed=17 best="" best_major=999 dir major
  [ "${version%%.*}" -ge 9 ] && needed=21
  for dir in /usr/lib/jvm/*/; do
    dir="${dir%/}"
    [ -x "$dir/bin/java" ] && [ -f "$dir/release" ] && [ ! -L "$dir" ] || continue
    major="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$dir/release")"
    [ -n "$major" ] && [ "$major" -ge "$needed" ] && [ "$major" -lt "$best_major" ] && { best="$dir"; best_major="$major"; }
  done
  [ -n "$best" ] || fail "Elasticsearch $version needs Java $needed or newer; none found under /usr/lib/jvm (set ES_JAVA_HOME)"
  echo "$best"
}

ensure_user() {
  id -u "$user" >/dev/null 2>&1 && return 0
  [ "$(id -u)" -eq 0 ] || fail "user $user does not exist and only root can create it"
  useradd --system --no-create-home --shell /usr/sbin/nologin "$user"
}

write_config() {
  mkdir -p "$node/config" "$node/data" "$node/logs" "$node/tmp"
  # Copy the distribution's defaults (JVM options, log4j) once, then our settings on top.
  [ -f "$node/config/jvm.options" ] || cp -r "$home/config/." "$node/config/"
  cat >"$node/config/elasticsearch.yml" <<YAML
# Written by scripts/es.sh: a single loopback node without security, for tests and local use.
cluster.name: telemetry-$port
node.name: telemetry-$port
discovery.type: single-node
network.host: 127.0.0.1
http.port: $port
path.data: $node/data
path.logs: $node/logs
xpack.security.enabled: false
# Tests fill disks of CI machines; do not turn indices read-only at 85-95 % disk use.
cluster.routing.allocation.disk.threshold_enabled: false
action.destructive_requires_name: false
YAML
  mkdir -p "$node/config/jvm.options.d"
  printf -- '-Xms%s\n-Xmx%s\n' "$heap" "$heap" >"$node/config/jvm.options.d/heap.options"
  chown -R "$user" "$node"
}

start() {
  if [ -n "$(health)" ]; then
    running_pid >/dev/null || echo "es.sh: something already answers on $url; using it" >&2
    return 0
  fi
  fetch
  ensure_user
  runuser -u "$user" -- test -r "$home/lib" ||
    fail "user $user cannot read $home (a parent folder is not searchable by others); set ES_CACHE_DIR"
  write_config
  local java
  java="$(java_home)"
  echo "es.sh: starting Elasticsearch $version on $url (Java: $java)" >&2
  rm -f "$node/pid"
  runuser -u "$user" -- env ES_JAVA_HOME="$java" ES_PATH_CONF="$node/config" ES_TMPDIR="$node/tmp" \
    "$home/bin/elasticsearch" -d -p "$node/pid" >"$node/logs/stdout.log" 2>&1 ||
    fail "Elasticsearch did not start: $(tail -n 20 "$node/logs/stdout.log")"
  local waited=0 status
  while [ "$waited" -lt "$timeout" ]; do
    status="$(health)"
    if [ "$status" = green ] || [ "$status" = yellow ]; then
      echo "es.sh: Elasticsearch is $status on $url" >&2
      return 0
    fi
    if [ "$waited" -gt 5 ] && ! running_pid >/dev/null; then break; fi
    sleep 1
    waited=$((waited + 1))
  done
  echo "es.sh: Elasticsearch on $url was not ready within ${timeout}s; last lines of its log:" >&2
  tail -n 30 "$node/logs/telemetry-$port.log" "$node/logs/stdout.log" 2>/dev/null >&2 || true
  stop >/dev/null 2>&1 || true
  exit 1
}

stop() {
  local pid waited=0
  pid="$(running_pid)" || { echo "es.sh: no Elasticsearch of ours on port $port" >&2; return 0; }
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    [ "$waited" -ge 60 ] && { echo "es.sh: Elasticsearch did not stop in 30s; killing it" >&2; kill -KILL "$pid"; }
    sleep 0.5
    waited=$((waited + 1))
  done
  rm -f "$node/pid"
  echo "es.sh: Elasticsearch on $url stopped" >&2
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  remove) stop; rm -rf "$node" ;;
  status) [ -n "$(health)" ] ;;
  url) echo "$url" ;;
  *) echo "usage: scripts/es.sh fetch|start|stop|remove|status|url   (ES_PORT, ES_VERSION, ES_HEAP, ES_JAVA_HOME)" >&2; exit 2 ;;
esac
