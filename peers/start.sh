#!/usr/bin/env bash
# Starts the real peers of the peer suite, on loopback only: an Apache Kafka broker (one KRaft node, broker
# and controller, fresh data dir and cluster id each run) and the Strimzi Kafka Bridge in front of it. Waits
# for both (Kafka by its port, the bridge by GET /ready), creates the topics, records the PIDs that
# stop.sh stops, and writes .peers/run/peers.env (URLs, ports, versions) for the suite. Every wait is
# bounded and every failure says what failed, with the end of that peer's log.
#
#   bash peers/start.sh [--restart kafka|bridge]
#
# --restart stops and starts one peer of a running pair again, on the same ports and data (the chaos case).
# Settings (environment): PEERS_KAFKA_PORT (19092), PEERS_CONTROLLER_PORT (19093), PEERS_BRIDGE_PORT
# (18080), PEERS_MANAGEMENT_PORT (18081), PEERS_CONSUMER_TIMEOUT_SECONDS (8: the bridge deletes a consumer
# instance idle that long), PEERS_TOPICS ("demo:3 orders:3", name:partitions), PEERS_JAVA_HOME (a JDK >= 21
# for both; the newest under /usr/lib/jvm otherwise), PEERS_BRIDGE_HOME (see jars.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

KAFKA_PORT=${PEERS_KAFKA_PORT:-19092}
CONTROLLER_PORT=${PEERS_CONTROLLER_PORT:-19093}
BRIDGE_PORT=${PEERS_BRIDGE_PORT:-18080}
MANAGEMENT_PORT=${PEERS_MANAGEMENT_PORT:-18081}
CONSUMER_TIMEOUT_SECONDS=${PEERS_CONSUMER_TIMEOUT_SECONDS:-8}
TOPICS=${PEERS_TOPICS:-demo:3 orders:3}
WAIT_SECONDS=90

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [ -f "$PEERS_RUN/$1.pid" ] && kill -0 "$(cat "$PEERS_RUN/$1.pid")" 2>/dev/null; }
log_tail() { echo "--- last lines of $PEERS_RUN/$1.log:" >&2; tail -n 30 "$PEERS_RUN/$1.log" >&2 || true; }

# Waits until `check` passes, failing at once if the peer's process died (its log says why).
wait_for() { # peer, what, check...
  local peer="$1" what="$2" deadline=$(($(date +%s) + WAIT_SECONDS))
  shift 2
  until "$@"; do
    pid_alive "$peer" || {
      log_tail "$peer"
      peers_fail "$peer exited before $what"
    }
    [ "$(date +%s)" -lt "$deadline" ] || {
      log_tail "$peer"
      peers_fail "$peer: no $what within ${WAIT_SECONDS} s"
    }
    sleep 0.5
  done
}

bridge_ready() { curl -fs -o /dev/null -m 2 "http://127.0.0.1:$MANAGEMENT_PORT/ready"; }

# Detached (setsid) so the peer outlives the shell that started it; its PID is the java process itself.
launch() { # peer, java binary, args...
  local peer="$1" java="$2"
  shift 2
  setsid "$java" "$@" >>"$PEERS_RUN/$peer.log" 2>&1 </dev/null &
  echo $! >"$PEERS_RUN/$peer.pid"
}

start_kafka() {
  launch kafka "$JAVA" -Xmx512m -Xms256m "-Dlog4j2.configurationFile=file:$PEERS_SRC/log4j2.properties" \
    -cp "$PEERS_JARS/kafka/*" kafka.Kafka "$PEERS_RUN/kafka.properties"
  wait_for kafka "its port $KAFKA_PORT" port_open "$KAFKA_PORT"
}

start_bridge() {
  launch bridge "$JAVA" -Xmx512m "-Dlog4j2.configurationFile=file:$PEERS_SRC/log4j2.properties" \
    "-Dvertx.cacheDirBase=$PEERS_RUN/vertx-cache" -cp "$PEERS_JARS/bridge/*" \
    io.strimzi.kafka.bridge.Application --config-file "$PEERS_RUN/bridge.properties"
  wait_for bridge "GET /ready on port $MANAGEMENT_PORT" bridge_ready
}

fill() { # template, output
  sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" \
    -e "s|@BRIDGE_PORT@|$BRIDGE_PORT|g" -e "s|@MANAGEMENT_PORT@|$MANAGEMENT_PORT|g" \
    -e "s|@CONSUMER_TIMEOUT_SECONDS@|$CONSUMER_TIMEOUT_SECONDS|g" -e "s|@DATA_DIR@|$PEERS_RUN|g" "$1" >"$2"
}

create_topic() { # name, partitions
  local status
  status=$(curl -sS -o "$PEERS_RUN/topic-answer.json" -w '%{http_code}' -m 15 -X POST \
    -H 'Content-Type: application/vnd.kafka.json.v2+json' \
    -d "{\"topic_name\":\"$1\",\"partitions_count\":$2,\"replication_factor\":1}" \
    "http://127.0.0.1:$BRIDGE_PORT/admin/topics") || status="no answer"
  [ "$status" = 201 ] || peers_fail "POST /admin/topics $1: $status $(cat "$PEERS_RUN/topic-answer.json" 2>/dev/null)"
}

command -v curl >/dev/null || peers_fail "curl is needed to wait for the bridge and create topics"
# One JDK for both: the bridge needs Java >= 21, and Kafka 4.1 runs on 17 and later.
JAVA="$(find_java_home 21)/bin/java"

if [ "${1:-}" = "--restart" ]; then
  [ "${2:-}" = kafka ] || [ "${2:-}" = bridge ] || peers_fail "usage: start.sh --restart kafka|bridge"
  [ -f "$PEERS_RUN/peers.env" ] || peers_fail "no running pair to restart a peer of (bash peers/start.sh first)"
  stop_peer "$2" >/dev/null
  "start_$2"
  echo "peers: $2 restarted (pid $(cat "$PEERS_RUN/$2.pid"))"
  exit 0
fi

bash "$PEERS_SRC/stop.sh" --quiet
bash "$PEERS_SRC/jars.sh" || exit $?
source "$PEERS_JARS/versions"
for port in "$KAFKA_PORT" "$CONTROLLER_PORT" "$BRIDGE_PORT" "$MANAGEMENT_PORT"; do
  port_open "$port" && peers_fail "port $port on 127.0.0.1 is taken by another program: set PEERS_*_PORT"
done

started=$(date +%s)
rm -rf "$PEERS_RUN"
mkdir -p "$PEERS_RUN"
fill "$PEERS_SRC/kafka.properties" "$PEERS_RUN/kafka.properties"
fill "$PEERS_SRC/bridge.properties" "$PEERS_RUN/bridge.properties"
cluster_id=$("$JAVA" -cp "$PEERS_JARS/kafka/*" kafka.tools.StorageTool random-uuid 2>>"$PEERS_RUN/kafka.log")
"$JAVA" "-Dlog4j2.configurationFile=file:$PEERS_SRC/log4j2.properties" -cp "$PEERS_JARS/kafka/*" \
  kafka.tools.StorageTool format --cluster-id "$cluster_id" --config "$PEERS_RUN/kafka.properties" \
  >>"$PEERS_RUN/kafka.log" 2>&1 || {
  log_tail kafka
  peers_fail "kafka.tools.StorageTool format failed"
}

start_kafka
start_bridge
for topic in $TOPICS; do create_topic "${topic%%:*}" "${topic##*:}"; done

cat >"$PEERS_RUN/peers.env" <<EOF
PEERS_BRIDGE_URL=http://127.0.0.1:$BRIDGE_PORT
PEERS_MANAGEMENT_URL=http://127.0.0.1:$MANAGEMENT_PORT
PEERS_KAFKA_BOOTSTRAP=127.0.0.1:$KAFKA_PORT
PEERS_CONSUMER_TIMEOUT_SECONDS=$CONSUMER_TIMEOUT_SECONDS
PEERS_KAFKA_VERSION=$(basename "$kafka" .jar | sed "s/^kafka_2.13-//")
PEERS_BRIDGE_VERSION=$(basename "$bridge" .jar | sed 's/.*kafka-bridge-//')
PEERS_BRIDGE_FROM="$bridge_from"
EOF
cat <<EOF
peers: started in $(($(date +%s) - started)) s
  Apache Kafka   ${kafka%.jar} on 127.0.0.1:$KAFKA_PORT (KRaft controller :$CONTROLLER_PORT, cluster $cluster_id, pid $(cat "$PEERS_RUN/kafka.pid"))
  Strimzi bridge ${bridge%.jar} on http://127.0.0.1:$BRIDGE_PORT (management :$MANAGEMENT_PORT, pid $(cat "$PEERS_RUN/bridge.pid"), from $bridge_from)
  Java           $JAVA: $("$JAVA" -version 2>&1 | head -n 1)
  topics         $TOPICS
  data and logs  $PEERS_RUN; stop with: bash peers/stop.sh
EOF
