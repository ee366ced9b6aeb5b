#!/usr/bin/env bash
# What `npm test` needs beyond npm packages (run by npm as `pretest`, and by .ci/run): the Debian
# packages that start a real Kafka broker (Java 17 and Maven fetch and run the Kafka jars), a real
# Redis (redis-server) and Prometheus (prometheus, promtool). Missing ones are installed when this
# runs as root with apt-get; otherwise one line names them and the test command stops.
# With KAFKA_BROKERS and REDIS_URL set, or a Docker engine for testcontainers, Kafka and Redis
# come from there; the Redis Cluster of the cluster tests from REDIS_CLUSTER_URL, else from
# redis-server and redis-cli here.
set -euo pipefail

missing=()
local_services=no
if [ -z "${KAFKA_BROKERS:-}${REDIS_URL:-}" ] && [ -z "${DOCKER_HOST:-}" ] && [ ! -S /var/run/docker.sock ]; then
  local_services=yes
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
fi
# redis-server for the single Redis of local services, and redis-server and redis-cli for the
# Redis Cluster of the cluster tests unless REDIS_CLUSTER_URL names one.
if [ "$local_services" = yes ] || [ -z "${REDIS_CLUSTER_URL:-}" ]; then
  command -v redis-server >/dev/null || missing+=(redis-server)
fi
if [ -z "${REDIS_CLUSTER_URL:-}" ]; then
  command -v redis-cli >/dev/null || missing+=(redis-tools)
fi
command -v promtool >/dev/null || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing for the test suite: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "the test suite needs the Debian packages: ${missing[*]} — run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
