#!/usr/bin/env bash
# A real single-node Kafka broker (KRaft: broker and controller in one process) on loopback, from Maven
# Central's jars, for tests and for people.
#
#   scripts/kafka.sh fetch     download the broker's jars (mvn dependency:copy-dependencies) into .cache/kafka/
#   scripts/kafka.sh start     format a log folder once and start a broker on 127.0.0.1:$KAFKA_PORT, wait until it listens
#   scripts/kafka.sh stop      stop that broker and wait until it has exited
#   scripts/kafka.sh remove    stop it and delete its data and logs (the jars stay)
#   scripts/kafka.sh status    exit 0 when something accepts connections on the port, 1 otherwise
#   scripts/kafka.sh url       print 127.0.0.1:$KAFKA_PORT (what --kafka takes)
#
# Environment: KAFKA_PORT (9092; the controller listens on KAFKA_PORT+1 unless KAFKA_CONTROLLER_PORT is set),
# KAFKA_VERSION (4.4.0), KAFKA_HEAP (512m), KAFKA_CACHE_DIR (.cache/kafka), KAFKA_START_TIMEOUT seconds (90).
#
# Why it looks like this: there is no Kafka package in Debian and no Docker here; the broker's jars from
# Maven Central (org.apache.kafka:kafka_2.13 and what it depends on) run on the machine's Java 17.
# Each port is its own broker (node-<port>/ holds its config, data, log and pid), so a test suite can run
# one beside a person's `make kafka` and stop it without touching the other.
set -euo pipefail
. "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lib/server-pid.sh"

repo="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
version="${KAFKA_VERSION:-4.4.0}"
port="${KAFKA_PORT:-9092}"
controller_port="${KAFKA_CONTROLLER_PORT:-$((port + 1))}"
heap="${KAFKA_HEAP:-512m}"
timeout="${KAFKA_START_TIMEOUT:-90}"
cache="${KAFKA_CACHE_DIR:-$repo/.cache/kafka}"
libs="$cache/kafka-$version/libs"
node="$cache/node-$port"

fail() { echo "kafka.sh: $*" >&2; exit 1; }

listening() { # true when something accepts TCP connections on the broker's port
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
}

fetch() {
  [ -f "$libs/.complete" ] && return 0
  command -v mvn >/dev/null || fail "Maven (mvn) is needed to fetch Kafka: apt-get install maven"
  mkdir -p "$cache/kafka-$version"
  local pom="$cache/kafka-$version/pom.xml"
  cat >"$pom" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.telemetry</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$version</version></dependency>
  </dependencies>
</project>
POM
  echo "kafka.sh: fetching org.apache.kafka:kafka_2.13:$version and its runtime dependencies from Maven Central" >&2
  rm -rf "$libs"
  mvn -q -B -f "$pom" org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2 ||
    fail "Maven could not fetch Kafka $version (is Maven Central reachable?)"
  touch "$libs/.complete"
}

java_bin() { # Kafka 4 brokers need Java 17 or newer
  local java="${KAFKA_JAVA:-java}"
  command -v "$java" >/dev/null || fail "Java 17 or newer is needed to run Kafka (apt-get install openjdk-17-jre-headless)"
  echo "$java"
}

write_config() {
  mkdir -p "$node/data"
  cat >"$node/server.properties" <<PROPS
# Written by scripts/kafka.sh: one loopback process that is broker and KRaft controller, for tests and local use.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$node/data
num.partitions=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# Our stages create their topics (telemetry kafka-topics) and are told when one is missing.
auto.create.topics.enable=false
PROPS
}

start() {
  if listening; then
    running_pid >/dev/null || echo "kafka.sh: something already listens on 127.0.0.1:$port; using it" >&2
    return 0
  fi
  fetch
  local java
  java="$(java_bin)"
  write_config
  if [ ! -f "$node/data/meta.properties" ]; then
    "$java" -cp "$libs/*" kafka.tools.StorageTool format -t "$("$java" -cp "$libs/*" kafka.tools.StorageTool random-uuid)" \
      -c "$node/server.properties" >"$node/format.log" 2>&1 ||
      fail "could not format $node/data: $(tail -n 5 "$node/format.log")"
  fi
  echo "kafka.sh: starting Kafka $version on 127.0.0.1:$port (controller :$controller_port)" >&2
  rm -f "$node/pid"
  nohup "$java" -Xms"$heap" -Xmx"$heap" -XX:+UseG1GC -cp "$libs/*" kafka.Kafka "$node/server.properties" \
    >"$node/broker.log" 2>&1 </dev/null &
  echo $! >"$node/pid"
  local waited=0
  while [ "$waited" -lt "$((timeout * 2))" ]; do
    if listening; then
      echo "kafka.sh: Kafka listens on 127.0.0.1:$port" >&2
      return 0
    fi
    running_pid >/dev/null || break
    sleep 0.5
    waited=$((waited + 1))
  done
  echo "kafka.sh: Kafka on 127.0.0.1:$port was not listening within ${timeout}s; last lines of its log:" >&2
  tail -n 30 "$node/broker.log" >&2 2>/dev/null || true
  stop >/dev/null 2>&1 || true
  exit 1
}

stop() {
  stop_server "kafka.sh: Kafka on 127.0.0.1:$port"
}

case "${1:-}" in
  fetch) fetch ;;
  start) start ;;
  stop) stop ;;
  remove) stop; rm -rf "$node" ;;
  status) listening ;;
  url) echo "127.0.0.1:$port" ;;
  *) echo "usage: scripts/kafka.sh fetch|start|stop|remove|status|url   (KAFKA_PORT, KAFKA_VERSION, KAFKA_HEAP)" >&2; exit 2 ;;
esac
