#!/usr/bin/env bash
# Stops exactly the peers start.sh recorded (.peers/run/*.pid), bridge first, then Kafka. Never by name:
# other Java programs on the machine are not ours. --quiet: silent when none ran.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

stopped=""
for peer in bridge kafka; do
  pid=$(stop_peer "$peer")
  [ -z "$pid" ] || stopped="$stopped $peer (pid $pid)"
done
rm -f "$PEERS_RUN/peers.env"
if [ -n "$stopped" ]; then echo "peers: stopped$stopped"; elif [ "${1:-}" != --quiet ]; then echo "peers: none running"; fi
