#!/usr/bin/env bash
# Installs what the project needs on a fresh machine. Idempotent: each part is skipped when present.
#   scripts/install-deps.sh            npm packages only (enough to run the pipeline)
#   scripts/install-deps.sh --test     also the system packages and Elasticsearch the test suite uses
#   scripts/install-deps.sh --bench    also the benchmark tools
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=false
want_bench=false
for arg in "$@"; do
  case "$arg" in
    --test) want_test=true ;;
    --bench) want_test=true; want_bench=true ;;
    *) echo "install-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

# npm packages, Bun among them (pinned in package.json and package-lock.json).
if [ ! -x node_modules/.bin/bun ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install-deps: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

$want_test || exit 0

# Debian packages: Java logging libraries for the logback client test, Chromium for the browser tracker,
# openssl for TLS test certificates, curl for the Elasticsearch baseline; for the Kafka tests, kcat (an
# independent Kafka client) and thrift-compiler (Apache's Thrift, to check our CollectorPayload codec).
packages=(liblogback-java liblogstash-logback-encoder-java libdisruptor-java chromium openssl curl procps kcat thrift-compiler)
$want_bench && packages+=(rsyslog wrk)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: please install these Debian packages (needs root): ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Elasticsearch and the Kafka broker from Maven Central (downloaded once into .cache/).
scripts/es.sh fetch
scripts/kafka.sh fetch
