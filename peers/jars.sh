#!/usr/bin/env bash
# Resolves the peers' jars into .peers/jars/{kafka,bridge} (Maven's own cache makes later runs fast):
# Apache Kafka from Maven Central through peers/pom.xml; the Strimzi Kafka Bridge from Maven Central too
# when it is served there, else from PEERS_BRIDGE_HOME (default /opt/strimzi-kafka-bridge-1.1.0), an
# unpacked bridge release (its libs/ folder, as in the release archives the Strimzi project publishes).
# Kafka not resolved: a failure (exit 1). The bridge found nowhere: exit 3 (lib.sh), said plainly.
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
  home="${PEERS_BRIDGE_HOME:-/opt/strimzi-kafka-bridge-1.1.0}"
  compgen -G "$home/libs/io.strimzi.kafka-bridge-*.jar" >/dev/null || peers_bridge_unavailable "io.strimzi:kafka-bridge is not \
served by the Maven repository reached here (see $PEERS_DIR/mvn-bridge.log), and $home has no \
libs/io.strimzi.kafka-bridge-*.jar: unpack a Strimzi Kafka Bridge release there, or set PEERS_BRIDGE_HOME to one"
  rm -rf "${PEERS_JARS:?}/bridge"
  cp -r "$home/libs" "$PEERS_JARS/bridge"
  bridge_from="the unpacked release at $home, not Maven"
fi
bridge_jar=$(cd "$PEERS_JARS/bridge" && ls ./*kafka-bridge-*.jar | sed 's|^\./||')

printf 'kafka=%q\nbridge=%q\nbridge_from=%q\n' "$kafka_jar" "$bridge_jar" "$bridge_from" >"$PEERS_JARS/versions"
echo "peers: jars ready in $(($(date +%s) - started)) s: $kafka_jar (Maven Central), $bridge_jar ($bridge_from)"
