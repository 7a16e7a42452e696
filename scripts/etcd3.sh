#!/bin/bash
# etcd3.sh - a 3-member etcd 3.4 cluster on loopback for tests (Debian packages
# etcd-server, etcd-client), after /work/shared/etcd/etcd3.sh.
#   etcd3.sh start          start n1..n3 (new cluster, or restart on existing data); wait until healthy
#   etcd3.sh stop           SIGTERM each member by its PID file, SIGKILL after 5 s
#   etcd3.sh clean          stop, then delete data dirs and logs
#   etcd3.sh start1 N | stop1 N | kill1 N    one member (kill1 = kill -9, for failure tests)
#   etcd3.sh wait1 N        wait until member N answers /health with "true"
#   etcd3.sh endpoints      print the client URLs as a comma list
#   etcd3.sh status         etcdctl endpoint status + health
# Env (deliberately not ETCD_*: etcd reads every ETCD_* variable as a flag and
# exits when one conflicts with a command-line flag; all are unset here):
#   E3_BASE        data and logs (default ${TMPDIR:-/tmp}/ltdrs-etcd3)
#   E3_PORT_BASE   client ports +1..+3, peer ports +11..+13 (default 23790)
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

kill1() {
  local i=$1 p
  [ -f "$BASE/n$i.pid" ] || return 0
  p=$(cat "$BASE/n$i.pid")
  kill -9 "$p" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  rm -f "$BASE/n$i.pid"
}

healthy1() {
  curl -fsS -m 2 "http://127.0.0.1:${CP[$1]}/health" 2>/dev/null | grep -q '"health":"true"'
}

wait1() {
  for _ in $(seq 150); do healthy1 "$1" && return 0; sleep 0.2; done
  echo "etcd3: member n$1 not healthy after 30 s; log $BASE/n$1.log" >&2
  return 1
}

case "${1:-}" in
start)
  need_etcd || { echo "etcd3: etcd not available" >&2; exit 1; }
  for i in 1 2 3; do start1 $i; done
  for i in 1 2 3; do wait1 $i || exit 1; done ;;
stop) for i in 1 2 3; do stop1 $i; done ;;
clean)
  for i in 1 2 3; do stop1 $i; done
  rm -rf "$BASE"/n1 "$BASE"/n2 "$BASE"/n3 "$BASE"/n?.log ;;
start1) start1 "$2" ;;
stop1) stop1 "$2" ;;
kill1) kill1 "$2" ;;
wait1) wait1 "$2" ;;
endpoints) echo "$ENDPOINTS" ;;
status)
  etcdctl --endpoints="$ENDPOINTS" endpoint status -w table
  etcdctl --endpoints="$ENDPOINTS" endpoint health ;;
*) echo "usage: $0 start|stop|clean|start1 N|stop1 N|kill1 N|wait1 N|endpoints|status" >&2; exit 2 ;;
esac
