# Shared by jars.sh, start.sh and stop.sh (sourced, never run): where things live and how to fail.
# Everything a run makes lives under .peers/ (git-ignored): jars/, the run's fresh data dir run/, the PIDs.
PEERS_SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PEERS_ROOT="$(cd "$PEERS_SRC/.." && pwd)"
PEERS_DIR="$PEERS_ROOT/.peers"
PEERS_JARS="$PEERS_DIR/jars"
PEERS_RUN="$PEERS_DIR/run"

peers_fail() {
  echo "peers: $*" >&2
  exit 1
}

# The one thing this machine cannot get by itself: the bridge (Maven Central does not serve it). Exit 3, so
# that .ci/run can say plainly that the peer suite did not run, where every other failure fails the run.
PEERS_BRIDGE_UNAVAILABLE=3
peers_bridge_unavailable() {
  echo "peers: $*" >&2
  exit "$PEERS_BRIDGE_UNAVAILABLE"
}

# The major version of a `java` binary ("17", "21", "25"), from its own -version line.
java_major() {
  "$1" -version 2>&1 | sed -n 's/.* version "\([0-9]*\).*/\1/p' | head -n 1
}

# A JDK >= $1: PEERS_JAVA_HOME when set (and then it must be one), else the newest under /usr/lib/jvm.
find_java_home() {
  local need="$1" home major best="" best_major=0
  if [ -n "${PEERS_JAVA_HOME:-}" ]; then
    major="$(java_major "$PEERS_JAVA_HOME/bin/java")"
    [ -n "$major" ] && [ "$major" -ge "$need" ] ||
      peers_fail "PEERS_JAVA_HOME=$PEERS_JAVA_HOME is not a JDK >= $need (java -version says '${major:-nothing}')"
    echo "$PEERS_JAVA_HOME"
    return
  fi
  for home in /usr/lib/jvm/*; do
    [ -x "$home/bin/java" ] || continue
    major="$(java_major "$home/bin/java")"
    if [ -n "$major" ] && [ "$major" -gt "$best_major" ]; then
      best="$home"
      best_major="$major"
    fi
  done
  [ -n "$best" ] && [ "$best_major" -ge "$need" ] ||
    peers_fail "no JDK >= $need found (the newest under /usr/lib/jvm is ${best:-none}, Java ${best_major}); install one or set PEERS_JAVA_HOME"
  echo "$best"
}

# Stops one recorded peer (.peers/run/<peer>.pid) by its PID: TERM, then KILL after 10 s. Prints the PID
# it stopped, nothing when that peer was not running.
stop_peer() {
  local pid_file="$PEERS_RUN/$1.pid" pid
  [ -f "$pid_file" ] || return 0
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
    echo "$pid"
  fi
  rm -f "$pid_file"
}
