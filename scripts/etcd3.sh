#!/bin/bash
# etcd3.sh - a 3-member etcd 3.4 cluster on loopback for tests (Debian packages
# etcd-server, etcd-client), after /work/shared/etcd/etcd3.sh.
#   etcd3.sh start          start n1..n3 (new cluster, or restart on existing data); wait until healthy
#   etcd3.sh stop           SIGTERM every member by its PID file, SIGKILL after 2 s
#   etcd3.sh clean          stop, then delete data dirs and logs
#   etcd3.sh start1 N | stop1 N | kill1 N    one member (kill1 = kill -9, for failure tests)
#   etcd3.sh wait1 N        wait until member N answers /health with "true"
#   etcd3.sh endpoints      print the client URLs as a comma list
#   etcd3.sh status         etcdctl endpoint status + health
#   etcd3.sh freebase [N]   print a random port base B such that B+1..B+N (default 30)
#                           are bound by no TCP socket on this machine, below the
#                           ephemeral range (tests export it as E3_PORT_BASE and use
#                           B+21.. for their own servers)
# Env (deliberately not ETCD_*: etcd reads every ETCD_* variable as a flag and
# exits when one conflicts with a command-line flag; all are unset here):
#   E3_BASE        data and logs (default ${TMPDIR:-/tmp}/ltdrs-etcd3)
#   E3_PORT_BASE   client ports +1..+3, peer ports +11..+13 (default 23790; tests
#                  pick a random free one with `freebase`)
#   E3_PROGRESS    watch progress-notify interval (default 1s; the ledger's
#                  watch liveness timeout must be a few times longer)
#   E3_LOG_LEVEL   default warn
#   E3_EXTRA       extra etcd flags
# Members are stopped by PID only.  Installs etcd-server with apt-get if
# `etcd` is missing.
set -u
for v in $(compgen -e | grep '^ETCD_' || true); do unset "$v"; done
BASE=${E3_BASE:-${TMPDIR:-/tmp}/ltdrs-etcd3}
PB=${E3_PORT_BASE:-23790}
CP=(0 $((PB + 1)) $((PB + 2)) $((PB + 3)))
PP=(0 $((PB + 11)) $((PB + 12)) $((PB + 13)))
CLUSTER="n1=http://127.0.0.1:${PP[1]},n2=http://127.0.0.1:${PP[2]},n3=http://127.0.0.1:${PP[3]}"
ENDPOINTS="http://127.0.0.1:${CP[1]},http://127.0.0.1:${CP[2]},http://127.0.0.1:${CP[3]}"
EXTRA=${E3_EXTRA:-}

need_etcd() {
  command -v etcd >/dev/null 2>&1 && return 0
  echo "etcd3: installing etcd-server etcd-client" >&2
  local sudo=
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    etcd-server etcd-client >/dev/null
  command -v etcd >/dev/null 2>&1
}

start1() {
  local i=$1
  mkdir -p "$BASE/n$i"
  if [ -f "$BASE/n$i.pid" ] && kill -0 "$(cat "$BASE/n$i.pid")" 2>/dev/null; then return 0; fi
  # --initial-cluster* only matter while the data dir is empty: a restart uses the same command.
  # shellcheck disable=SC2086
  setsid etcd --name "n$i" --data-dir "$BASE/n$i/data" \
    --listen-client-urls "http://127.0.0.1:${CP[$i]}" --advertise-client-urls "http://127.0.0.1:${CP[$i]}" \
    --listen-peer-urls "http://127.0.0.1:${PP[$i]}" --initial-advertise-peer-urls "http://127.0.0.1:${PP[$i]}" \
    --initial-cluster "$CLUSTER" --initial-cluster-token ltdrs-test --initial-cluster-state new \
    --experimental-watch-progress-notify-interval "${E3_PROGRESS:-1s}" \
    --logger zap --log-outputs stderr --log-level "${E3_LOG_LEVEL:-warn}" $EXTRA \
    </dev/null >>"$BASE/n$i.log" 2>&1 &
  echo $! >"$BASE/n$i.pid"
}

stop1() {
  local i=$1 p
  [ -f "$BASE/n$i.pid" ] || return 0
  p=$(cat "$BASE/n$i.pid")
  if kill -0 "$p" 2>/dev/null; then
    kill "$p"
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p"
  fi
  rm -f "$BASE/n$i.pid"
}

# stopall: SIGTERM to every member at once, SIGKILL to those still there after
# 2 s.  A stopping leader tries for up to ~10 s to hand its leadership to a
# follower that is stopping too; etcd fsyncs every commit, so the kill loses
# nothing that was acknowledged.
stopall() {
  local i p pids=()
  for i in 1 2 3; do
    [ -f "$BASE/n$i.pid" ] || continue
    p=$(cat "$BASE/n$i.pid")
    kill "$p" 2>/dev/null && pids+=("$p")
    rm -f "$BASE/n$i.pid"
  done
  for _ in $(seq 20); do
    local alive=
    for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && return 0
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
  return 0
}

kill1() {
  local i=$1 p
  [ -f "$BASE/n$i.pid" ] || return 0
  p=$(cat "$BASE/n$i.pid")
  kill -9 "$p" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  rm -f "$BASE/n$i.pid"
}

# Every local TCP port in use (any state: listening, connected, TIME_WAIT), from
# /proc so that no extra tool is needed on a fresh machine.
used_ports() {
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
    awk 'NR > 0 && $2 ~ /:/ { split($2, a, ":"); print a[2] }' |
    while read -r h; do [ -n "$h" ] && echo $((16#$h)); done | sort -un
}

# freebase N: a random base B (a multiple of 10) with B+1..B+N unused, between
# 10000 and the start of the ephemeral range, so that outgoing connections
# (which take ephemeral ports) cannot grab these ports later either.
freebase() {
  local n=${1:-30} lo=10000 hi b used
  hi=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
  hi=$((hi - n - 1))
  [ "$hi" -gt $((lo + 10 * n)) ] || hi=$((lo + 10 * n + 20000))
  used=$(used_ports | tr '\n' ' ')
  for _ in $(seq 200); do
    b=$(((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)) / 10 * 10))
    local p clash=
    for p in $used; do
      if [ "$p" -gt "$b" ] && [ "$p" -le $((b + n)) ]; then clash=1; break; fi
    done
    [ -z "$clash" ] && { echo "$b"; return 0; }
  done
  echo "etcd3: no free port range of $n found" >&2
  return 1
}

healthy1() {
  curl -fsS -m 2 "http://127.0.0.1:${CP[$1]}/health" 2>/dev/null | grep -q '"health":"true"'
}

# wait1 N: until member N is healthy (60 s at most: a busy 2-core machine can
# take tens of seconds to elect a leader); fails at once if its process is gone.
wait1() {
  local p
  for _ in $(seq 300); do
    healthy1 "$1" && return 0
    p=$(cat "$BASE/n$1.pid" 2>/dev/null)
    if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then
      echo "etcd3: member n$1 exited; log $BASE/n$1.log:" >&2
      tail -n 5 "$BASE/n$1.log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "etcd3: member n$1 not healthy after 60 s; log $BASE/n$1.log" >&2
  return 1
}

case "${1:-}" in
start)
  need_etcd || { echo "etcd3: etcd not available" >&2; exit 1; }
  for i in 1 2 3; do start1 $i; done
  for i in 1 2 3; do wait1 $i || exit 1; done ;;
stop) stopall ;;
clean)
  stopall
  rm -rf "$BASE"/n1 "$BASE"/n2 "$BASE"/n3 "$BASE"/n?.log ;;
start1) start1 "$2" ;;
stop1) stop1 "$2" ;;
kill1) kill1 "$2" ;;
wait1) wait1 "$2" ;;
endpoints) echo "$ENDPOINTS" ;;
freebase) freebase "${2:-30}" ;;
status)
  etcdctl --endpoints="$ENDPOINTS" endpoint status -w table
  etcdctl --endpoints="$ENDPOINTS" endpoint health ;;
*) echo "usage: $0 start|stop|clean|start1 N|stop1 N|kill1 N|wait1 N|endpoints|status|freebase [N]" >&2; exit 2 ;;
esac
