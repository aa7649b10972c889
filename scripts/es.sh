#!/usr/bin/env bash
# A real Elasticsearch (or OpenSearch) on loopback for tests and for people, from Maven Central's
# integ-test-zip.
#
#   scripts/es.sh fetch     download (mvn dependency:copy) and unpack into .cache/elasticsearch/
#   scripts/es.sh start     start a node on 127.0.0.1:$ES_PORT and wait until it is yellow or green
#   scripts/es.sh stop      stop that node and wait until it has exited
#   scripts/es.sh remove    stop it and delete its data, config and logs (the download stays)
#   scripts/es.sh status    exit 0 when the node answers /_cluster/health, 1 otherwise
#   scripts/es.sh url       print http://127.0.0.1:$ES_PORT
#
# Environment: ES_FLAVOUR (elasticsearch, or opensearch), ES_VERSION (elasticsearch: 8.19.21, the newest
# 8.x integ-test-zip on Maven Central; 9.2.0 is there too. opensearch: 2.19.6), ES_PORT (9200),
# ES_CACHE_DIR (.cache/elasticsearch, or /var/tmp/telemetry-elasticsearch when the work tree is in a
# folder other users cannot enter), ES_HEAP (512m), ES_JAVA_HOME (else the oldest JDK under /usr/lib/jvm
# that the version runs on: Java 21 for Elasticsearch 9, else 17), ES_USER (telemetry-es),
# ES_START_TIMEOUT seconds (120).
#
# Why it looks like this: the integ-test-zip has no bundled JDK, refuses to run as root, and lacks the
# module that answers `GET /`, so we pick a JDK, run it as a user of its own, and probe /_cluster/health.
# Each port and distribution is its own node (config, data, logs and pid under
# node-<port>-<flavour>-<version>/), so a test suite can run one beside a person's `make es` and stop it
# without touching the other, and data written by one distribution is never opened by another.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/server-pid.sh"

repo="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
flavour="${ES_FLAVOUR:-elasticsearch}"
case "$flavour" in
  elasticsearch) version="${ES_VERSION:-8.19.21}"; group=org.elasticsearch.distribution.integ-test-zip ;;
  opensearch) version="${ES_VERSION:-2.19.6}"; group=org.opensearch.distribution.integ-test-zip ;;
  *) echo "es.sh: ES_FLAVOUR must be elasticsearch or opensearch, not \"$flavour\"" >&2; exit 2 ;;
esac
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
home="$cache/$flavour-$version"
node="$cache/node-$port-$flavour-$version"
url="http://127.0.0.1:$port"
# The two distributions name their launcher, settings file and environment after themselves.
if [ "$flavour" = opensearch ]; then name=OpenSearch; env_prefix=OPENSEARCH; else name=Elasticsearch; env_prefix=ES; fi

fail() { echo "es.sh: $*" >&2; exit 1; }

health() { # prints the cluster status (green/yellow/red) or nothing; never fails (set -e would end the script)
  { curl -s --max-time 2 "$url/_cluster/health" 2>/dev/null || true; } | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'
}

fetch() {
  [ -x "$home/bin/$flavour" ] && return 0
  command -v mvn >/dev/null || fail "Maven (mvn) is needed to fetch $name: apt-get install maven"
  command -v unzip >/dev/null || command -v bsdtar >/dev/null || command -v python3 >/dev/null ||
    fail "unzip is needed to unpack $name: apt-get install unzip"
  mkdir -p "$cache"
  echo "es.sh: fetching $group:$flavour:$version:zip from Maven Central" >&2
  mvn -q -B org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
    -Dartifact="$group:$flavour:$version:zip" \
    -DoutputDirectory="$cache" -Dmdep.overWriteReleases=false >&2 ||
    fail "Maven could not fetch $name $version (is Maven Central reachable?)"
  local zip="$cache/$flavour-$version.zip" unpack="$cache/.unpack-$$"
  rm -rf "$unpack"
  mkdir -p "$unpack"
  if command -v unzip >/dev/null; then unzip -q "$zip" -d "$unpack"
  elif command -v bsdtar >/dev/null; then bsdtar -xf "$zip" -C "$unpack"
  else python3 -m zipfile -e "$zip" "$unpack"; fi
  chmod +x "$unpack/$flavour-$version"/bin/* 2>/dev/null || true
  mv "$unpack/$flavour-$version" "$home"
  rm -rf "$unpack" "$zip"
}

java_home() { # the JDK to run this version on: ES_JAVA_HOME, else the oldest suitable one under /usr/lib/jvm
  if [ -n "${ES_JAVA_HOME:-}" ]; then echo "$ES_JAVA_HOME"; return; fi
  local needed=17 best="" best_major=999 dir major
  [ "$flavour" = elasticsearch ] && [ "${version%%.*}" -ge 9 ] && needed=21
  for dir in /usr/lib/jvm/*/; do
    dir="${dir%/}"
    [ -x "$dir/bin/java" ] && [ -f "$dir/release" ] && [ ! -L "$dir" ] || continue
    major="$(sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$dir/release")"
    [ -n "$major" ] && [ "$major" -ge "$needed" ] && [ "$major" -lt "$best_major" ] && { best="$dir"; best_major="$major"; }
  done
  [ -n "$best" ] || fail "$name $version needs Java $needed or newer; none found under /usr/lib/jvm (set ES_JAVA_HOME)"
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
  if [ ! -f "$node/config/jvm.options" ]; then
    cp -r "$home/config/." "$node/config/"
    # OpenSearch's defaults write the GC log, crash logs and heap dumps relative to the distribution's
    # folder, which the node's user cannot write: they go to the node's own folders instead.
    sed -i -E "s#([=:])logs/#\1$node/logs/#g; s#HeapDumpPath=data\$#HeapDumpPath=$node/data#" "$node/config/jvm.options"
  fi
  {
    echo "# Written by scripts/es.sh: a single loopback node without security, for tests and local use."
    echo "cluster.name: telemetry-$port"
    echo "node.name: telemetry-$port"
    echo "discovery.type: single-node"
    echo "network.host: 127.0.0.1"
    echo "http.port: $port"
    echo "path.data: $node/data"
    echo "path.logs: $node/logs"
    # Security is off on loopback. Elasticsearch's integ-test-zip carries x-pack-security; OpenSearch's has
    # no security plugin, and naming the setting of an absent plugin would stop it from starting.
    if [ "$flavour" = elasticsearch ]; then echo "xpack.security.enabled: false"
    elif [ -d "$home/plugins/opensearch-security" ]; then echo "plugins.security.disabled: true"; fi
    echo "# Tests fill disks of CI machines; do not turn indices read-only at 85-95 % disk use."
    echo "cluster.routing.allocation.disk.threshold_enabled: false"
    echo "action.destructive_requires_name: false"
  } >"$node/config/$flavour.yml"
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
  echo "es.sh: starting $name $version on $url (Java: $java)" >&2
  rm -f "$node/pid"
  runuser -u "$user" -- env "${env_prefix}_JAVA_HOME=$java" "${env_prefix}_PATH_CONF=$node/config" "${env_prefix}_TMPDIR=$node/tmp" \
    "$home/bin/$flavour" -d -p "$node/pid" >"$node/logs/stdout.log" 2>&1 ||
    fail "$name did not start: $(tail -n 20 "$node/logs/stdout.log")"
  local waited=0 status started=false
  while [ "$waited" -lt "$timeout" ]; do
    status="$(health)"
    if [ "$status" = green ] || [ "$status" = yellow ]; then
      echo "es.sh: $name $version is $status on $url" >&2
      return 0
    fi
    # Gave up only once the node had written its pid and then died: on a loaded machine the pid file
    # can take many seconds to appear, and leaving early would leave a node starting that nobody stops.
    if running_pid >/dev/null; then started=true; elif $started; then break; fi
    sleep 1
    waited=$((waited + 1))
  done
  echo "es.sh: $name on $url was not ready within ${timeout}s; last lines of its log:" >&2
  tail -n 30 "$node/logs/telemetry-$port.log" "$node/logs/stdout.log" 2>/dev/null >&2 || true
  stop >/dev/null 2>&1 || true
  exit 1
}

stop() {
  stop_server "es.sh: $name $version on $url"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  remove) stop; rm -rf "$node" ;;
  status) [ -n "$(health)" ] ;;
  url) echo "$url" ;;
  *) echo "usage: scripts/es.sh fetch|start|stop|remove|status|url   (ES_FLAVOUR, ES_VERSION, ES_PORT, ES_HEAP, ES_JAVA_HOME)" >&2; exit 2 ;;
esac
