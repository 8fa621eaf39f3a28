#!/usr/bin/env bash
# Resolves the peers' jars into .peers/jars/{kafka,bridge} (Maven's own cache makes later runs fast):
# Apache Kafka from Maven Central through peers/pom.xml; the Strimzi Kafka Bridge from Maven Central too
# when it is served there, else from PEERS_BRIDGE_HOME, an unpacked bridge release (its libs/ folder,
# as in the release archives the Strimzi project publishes). Neither found: a loud failure, never a skip.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

command -v mvn >/dev/null || peers_fail "Maven (mvn) is not installed: it resolves the peers' jars from Maven Central"

resolve() { # profile, folder
  rm -rf "${PEERS_JARS:?}/$2"
  mvn -q -B -f "$PEERS_SRC/pom.xml" "-P$1" dependency:copy-dependencies \
    "-DoutputDirectory=$PEERS_JARS/$2" -DincludeScope=runtime >"$PEERS_DIR/mvn-$1.log" 2>&1
}

mkdir -p "$PEERS_JARS"
started=$(date +%s)
resolve kafka kafka ||
  peers_fail "Maven could not resolve org.apache.kafka:kafka_2.13 (is Maven Central reachable?): see $PEERS_DIR/mvn-kafka.log"
kafka_jar=$(cd "$PEERS_JARS/kafka" && ls kafka_2.13-*.jar)

if resolve bridge bridge; then
  bridge_from="Maven Central"
else
  [ -n "${PEERS_BRIDGE_HOME:-}" ] || peers_fail "io.strimzi:kafka-bridge is not served by the Maven repository \
reached here (see $PEERS_DIR/mvn-bridge.log), and PEERS_BRIDGE_HOME is not set: point it to an unpacked \
Strimzi Kafka Bridge release (the folder with libs/)"
  compgen -G "$PEERS_BRIDGE_HOME/libs/io.strimzi.kafka-bridge-*.jar" >/dev/null ||
    peers_fail "PEERS_BRIDGE_HOME=$PEERS_BRIDGE_HOME has no libs/io.strimzi.kafka-bridge-*.jar"
  rm -rf "${PEERS_JARS:?}/bridge"
  cp -r "$PEERS_BRIDGE_HOME/libs" "$PEERS_JARS/bridge"
  bridge_from="PEERS_BRIDGE_HOME=$PEERS_BRIDGE_HOME"
fi
bridge_jar=$(cd "$PEERS_JARS/bridge" && ls ./*kafka-bridge-*.jar | sed 's|^\./||')

printf 'kafka=%s\nbridge=%s\nbridge_from=%s\n' "$kafka_jar" "$bridge_jar" "$bridge_from" >"$PEERS_JARS/versions"
echo "peers: jars ready in $(($(date +%s) - started)) s: $kafka_jar (Maven Central), $bridge_jar ($bridge_from)"
