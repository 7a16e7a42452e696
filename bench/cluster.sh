#!/usr/bin/env bash
# bench/cluster.sh - the cluster benchmark (issue 6): 3 etcd members
# (scripts/etcd3.sh) and 3 `ltdrs serve --etcd` nodes (synced commits,
# default settings) on this one machine, build/bench/loadgen as the client.
#
#   1. commit mode, closed loop: one loadgen per node (its own workload, so
#      no duplicates), BENCH_CLUSTER_CONC connections in all, N transactions
#      in all -> committed tx/s (sum of 202s / slowest client's time) and the
#      commit latency p50 / p99 (the worst client's; each client measures
#      from send to 202, which needs the etcd quorum and the receiving node's
#      synced block)
#   2. commit mode, open loop at half of that rate (latency from the
#      scheduled send time: no coordinated omission) -> p50 / p99
#   3. catch-up: node 3 stopped, BENCH_CATCHUP_N transactions committed
#      through nodes 1 and 2 (async mode), node 3 restarted -> seconds from
#      its start to the same height as the others, and tx/s
# Goals (issue 6): >= 5,000 committed tx/s, commit p99 < 100 ms, catch-up
# >= 20,000 tx/s.
#
# Environment: BENCH_CLUSTER_N (default 30000), BENCH_CLUSTER_CONC (default
# 96), BENCH_CATCHUP_N (default 100000), BENCH_E3_PORT_BASE (default: a
# random free base from scripts/etcd3.sh freebase; the nodes listen on +21..+23),
# BENCH_E3_BASE (etcd data; default under the temp dir, i.e. on disk),
# BENCH_CATCHUP_FLAGS (extra `serve` flags for the node that catches up, e.g.
# --no-sync to see what the per-block fsync costs); BENCH_CATCHUP_PERF=FILE
# records the catching-up node with `perf record -g` into FILE.
# Workloads are cached in /tmp/ltdrs-wl-*.bin by loadgen (seeds 11-13, 21-22).
# Prints a summary and `BENCH cluster_*=` lines; writes build/bench/cluster.txt.
# Everything started here is stopped by process id at exit.
#
# The machine is shared and has 2 cores for 3 etcd members, 3 nodes (each
# validating every transaction of the cluster) and the clients: read the
# figures as a lower bound, and compare ranges across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/build/ltdrs
LG=$ROOT/build/bench/loadgen
OUT=$ROOT/build/bench
mkdir -p "$OUT"
for f in "$BIN" "$LG"; do
    [ -x "$f" ] || { echo "cluster.sh: $f is missing (make all build/bench/loadgen)" >&2; exit 2; }
done
N=${BENCH_CLUSTER_N:-30000}
CONC=${BENCH_CLUSTER_CONC:-96}
CN=${BENCH_CATCHUP_N:-100000}
for v in $(compgen -e | grep '^ETCD_' || true); do unset "$v"; done
export E3_PORT_BASE=${BENCH_E3_PORT_BASE:-$(bash "$ROOT/scripts/etcd3.sh" freebase 30)}
TMP=$(mktemp -d /tmp/ltdrs-cbench.XXXXXX)
export E3_BASE=${BENCH_E3_BASE:-$TMP/etcd}
E3="bash $ROOT/scripts/etcd3.sh"
declare -a PID PORT
cleanup() {
    for i in 1 2 3; do
        if [ -n "${PID[$i]:-}" ] && kill -0 "${PID[$i]}" 2>/dev/null; then
            kill -TERM "${PID[$i]}" 2>/dev/null || true
            wait "${PID[$i]}" 2>/dev/null || true
        fi
    done
    $E3 stop >/dev/null 2>&1 || true
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
log() { printf '%s\n' "$*" >&2; }
val() { sed -n "s/^BENCH $2=//p" "$1" | tail -n 1; }
start_node() { # start_node I [FLAGS...]
    local i=$1
    shift
    "$BIN" serve --data "$TMP/d$i" --listen "127.0.0.1:${PORT[$i]}" --etcd "$E" --node-id "n$i" "$@" \
        >>"$TMP/n$i.log" 2>&1 &
    PID[$i]=$!
    for _ in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/${PORT[$i]}") 2>/dev/null && return 0
        kill -0 "${PID[$i]}" 2>/dev/null || { cat "$TMP/n$i.log" >&2; exit 2; }
        sleep 0.05
    done
    exit 2
}
height() { curl -s "http://127.0.0.1:${PORT[$1]}/ltdrs/api/v1/ledger/head" |
    sed -n 's/.*"height":\([0-9]*\),"n_tx".*/\1/p'; }
HZ=$(getconf CLK_TCK)
ticks() { # ticks PID...: user+system CPU ticks of these processes
    local t=0 p v
    for p in "$@"; do
        v=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)
        t=$((t + v))
    done
    echo "$t"
}
etcd_pids() { cat "$E3_BASE"/n?.pid 2>/dev/null | tr '\n' ' '; }
us_per() { awk -v t="$1" -v hz="$HZ" -v n="$2" 'BEGIN { printf "%.0f", (n > 0 ? 1e6 * t / hz / n : 0) }'; }
stop_node() {
    kill -TERM "${PID[$1]}" 2>/dev/null || true
    wait "${PID[$1]}" 2>/dev/null || true
    PID[$1]=
}

START=$(date +%s)
log "== etcd: 3 members on 127.0.0.1:$((E3_PORT_BASE + 1))-$((E3_PORT_BASE + 3))"
$E3 start
E=$($E3 endpoints)
"$BIN" init --data "$TMP/d1" >/dev/null
for i in 2 3; do "$BIN" init --data "$TMP/d$i" --genesis "$TMP/d1/genesis.json" >/dev/null; done
for i in 1 2 3; do PORT[$i]=$((E3_PORT_BASE + 20 + i)); start_node "$i"; done
SERVE_CMD="$BIN serve --data DIR --listen ... --etcd $E --node-id nI (x3)"

# workloads, one per client (cached by loadgen)
PER=$((N / 3))
for s in 11 12 13; do
    "$LG" --mode gen --n "$PER" --seed "$s" --workload-file "/tmp/ltdrs-wl-cl-n$PER-s$s.bin" >/dev/null
done

# --------------------------------------------------- 1. closed loop
log "== 1. commit mode, $N transactions, $CONC connections over 3 nodes"
run_clients() { # run_clients TAG EXTRA...: one loadgen per node, in parallel
    local tag=$1
    shift
    local pids=() i
    for i in 1 2 3; do
        "$LG" --url "http://127.0.0.1:${PORT[$i]}" --n "$PER" --conc $((CONC / 3)) --mode commit \
            --seed $((10 + i)) --workload-file "/tmp/ltdrs-wl-cl-n$PER-s$((10 + i)).bin" \
            --tag "$tag" "$@" >"$OUT/cluster_$tag$i.txt" 2>"$OUT/cluster_$tag$i.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
}
N0=$(ticks "${PID[1]}" "${PID[2]}" "${PID[3]}")
E0=$(ticks $(etcd_pids))
run_clients max
N1=$(ticks "${PID[1]}" "${PID[2]}" "${PID[3]}")
E1=$(ticks $(etcd_pids))
OK=0 ERR=0 SECS=0 P50=0 P99=0
for i in 1 2 3; do
    f=$OUT/cluster_max$i.txt
    OK=$((OK + $(val "$f" max_ok)))
    ERR=$((ERR + $(val "$f" max_errors)))
    SECS=$(awk -v a="$SECS" -v b="$(val "$f" max_seconds)" 'BEGIN { r = (b + 0 > a + 0) ? b : a; print r }')
    P50=$(awk -v a="$P50" -v b="$(val "$f" max_p50_ms)" 'BEGIN { r = (b + 0 > a + 0) ? b : a; print r }')
    P99=$(awk -v a="$P99" -v b="$(val "$f" max_p99_ms)" 'BEGIN { r = (b + 0 > a + 0) ? b : a; print r }')
done
TPS=$(awk -v o="$OK" -v s="$SECS" 'BEGIN { printf "%.0f", (s > 0 ? o / s : 0) }')
H=$(height 1)
BLOCKS_TX=$(awk -v o="$OK" -v h="$H" 'BEGIN { printf "%.1f", (h > 0 ? o / h : 0) }')
NODE_US=$(us_per $((N1 - N0)) "$OK")
ETCD_US=$(us_per $((E1 - E0)) "$OK")
log "committed $OK in $SECS s: $TPS tx/s; p50 $P50 ms, p99 $P99 ms; $ERR errors; $BLOCKS_TX tx/block"
log "CPU per committed tx: $NODE_US us in the 3 nodes, $ETCD_US us in the 3 etcd members"

# --------------------------------------------------- 2. open loop at half rate
RATE=$(awk -v t="$TPS" 'BEGIN { r = int(t / 2 / 3); if (r < 20) r = 20; print r }')
log "== 2. commit mode, open loop at 3 x $RATE tx/s"
run_half() {
    local pids=() i
    for i in 1 2 3; do
        "$LG" --url "http://127.0.0.1:${PORT[$i]}" --n $((RATE * 20 < PER ? RATE * 20 : PER)) \
            --conc 256 --mode commit --rate "$RATE" --seed $((30 + i)) \
            --workload-file "/tmp/ltdrs-wl-cl-half-r$RATE-s$((30 + i)).bin" --tag half \
            >"$OUT/cluster_half$i.txt" 2>"$OUT/cluster_half$i.err" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || true; done
}
run_half
HP50=0 HP99=0 HERR=0
for i in 1 2 3; do
    f=$OUT/cluster_half$i.txt
    HERR=$((HERR + $(val "$f" half_errors)))
    HP50=$(awk -v a="$HP50" -v b="$(val "$f" half_p50_ms)" 'BEGIN { r = (b + 0 > a + 0) ? b : a; print r }')
    HP99=$(awk -v a="$HP99" -v b="$(val "$f" half_p99_ms)" 'BEGIN { r = (b + 0 > a + 0) ? b : a; print r }')
done
log "open loop: p50 $HP50 ms, p99 $HP99 ms, $HERR errors"

# --------------------------------------------------- 3. catch-up
log "== 3. catch-up: node 3 down while $CN transactions commit through nodes 1 and 2"
stop_node 3
HALF=$((CN / 2))
pids=()
for i in 1 2; do
    "$LG" --mode gen --n "$HALF" --seed $((20 + i)) \
        --workload-file "/tmp/ltdrs-wl-cl-n$HALF-s$((20 + i)).bin" >/dev/null
done
for i in 1 2; do
    "$LG" --url "http://127.0.0.1:${PORT[$i]}" --n "$HALF" --conc 48 --mode async \
        --seed $((20 + i)) --workload-file "/tmp/ltdrs-wl-cl-n$HALF-s$((20 + i)).bin" \
        --tag behind >"$OUT/cluster_behind$i.txt" 2>"$OUT/cluster_behind$i.err" &
    pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
BOK=$(( $(val "$OUT/cluster_behind1.txt" behind_ok) + $(val "$OUT/cluster_behind2.txt" behind_ok) ))
for _ in $(seq 1 600); do [ "$(height 1)" = "$(height 2)" ] && break; sleep 0.5; done
TARGET=$(height 1)
BEHIND_FROM=$(sqlite3 "$TMP/d3/ledger.db" "SELECT MAX(height) FROM block" 2>/dev/null || echo "?")
T0=$(date +%s.%N)
# shellcheck disable=SC2086
start_node 3 ${BENCH_CATCHUP_FLAGS:-}
C0=$(ticks "${PID[3]}")
PERF_PID=
if [ -n "${BENCH_CATCHUP_PERF:-}" ]; then
    perf record -F 999 -g -p "${PID[3]}" -o "$BENCH_CATCHUP_PERF" >/dev/null 2>&1 &
    PERF_PID=$!
fi
for _ in $(seq 1 6000); do
    h=$(height 3)
    [ -n "$h" ] && [ "$h" -ge "$TARGET" ] && break
    sleep 0.1
done
T1=$(date +%s.%N)
C1=$(ticks "${PID[3]}")
if [ -n "$PERF_PID" ]; then
    kill -INT "$PERF_PID" 2>/dev/null
    wait "$PERF_PID" 2>/dev/null || true
fi
CATCH_US=$(us_per $((C1 - C0)) "$BOK")
CSEC=$(awk -v a="$T0" -v b="$T1" 'BEGIN { printf "%.2f", b - a }')
CTPS=$(awk -v n="$BOK" -v s="$CSEC" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
SAME=no
[ "$(curl -s "http://127.0.0.1:${PORT[3]}/ltdrs/api/v1/ledger/head" | sed -n 's/.*"hash":"\([0-9a-f]*\)","height".*/\1/p')" = \
  "$(curl -s "http://127.0.0.1:${PORT[1]}/ltdrs/api/v1/ledger/head" | sed -n 's/.*"hash":"\([0-9a-f]*\)","height".*/\1/p')" ] && SAME=yes
log "node 3: $BOK transactions (blocks $BEHIND_FROM..$TARGET) in $CSEC s from start: $CTPS tx/s; same head: $SAME"

verdict() { # verdict VALUE OP LIMIT -> MET / MISSED
    awk -v a="$1" -v b="$3" -v op="$2" 'BEGIN {
        if (op == ">=") ok = (a + 0 >= b + 0); else ok = (a + 0 < b + 0)
        if (ok) print "MET"; else print "MISSED" }'
}
{
    echo "LTDRS cluster benchmark - $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(( $(date +%s) - START )) s"
    echo "(3 etcd members + 3 nodes + clients on this machine; shared and noisy: compare ranges)"
    echo
    printf '%-62s %-22s %-12s %s\n' figure value goal status
    printf '%-62s %-22s %-12s %s\n' "committed tx/s, commit mode, $CONC conns over 3 nodes" "$TPS" ">= 5000" "$(verdict "$TPS" ">=" 5000)"
    printf '%-62s %-22s %-12s %s\n' "  commit latency p50 / p99 at that rate (ms, worst client)" "$P50 / $P99" "p99 < 100" "$(verdict "$P99" "<" 100)"
    printf '%-62s %-22s %-12s %s\n' "  errors / transactions per block" "$ERR / $BLOCKS_TX" "" ""
    printf '%-62s %-22s %-12s %s\n' "  CPU per committed tx: 3 nodes / 3 etcd members (us)" "$NODE_US / $ETCD_US" "" ""
    printf '%-62s %-22s %-12s %s\n' "commit latency, open loop at $((RATE * 3)) tx/s, p50 / p99 (ms)" "$HP50 / $HP99" "p99 < 100" "$(verdict "$HP99" "<" 100)"
    printf '%-62s %-22s %-12s %s\n' "catch-up of a node $BOK tx behind (tx/s, from its start)" "$CTPS ($CSEC s)" ">= 20000" "$(verdict "$CTPS" ">=" 20000)"
    printf '%-62s %-22s %-12s %s\n' "  node 3 CPU per transaction caught up (us)" "$CATCH_US" "" ""
    printf '%-62s %-22s %-12s %s\n' "  same head hash afterwards" "$SAME" "yes" "$([ $SAME = yes ] && echo MET || echo MISSED)"
    echo
    echo "commands: $SERVE_CMD; $LG --url http://NODE_I --n $PER --conc $((CONC / 3)) --mode commit --seed 1I (x3)"
    echo "BENCH cluster_committed_per_s=$TPS"
    echo "BENCH cluster_p50_ms=$P50"
    echo "BENCH cluster_p99_ms=$P99"
    echo "BENCH cluster_errors=$ERR"
    echo "BENCH cluster_open_p50_ms=$HP50"
    echo "BENCH cluster_open_p99_ms=$HP99"
    echo "BENCH cluster_catchup_tx=$BOK"
    echo "BENCH cluster_catchup_seconds=$CSEC"
    echo "BENCH cluster_catchup_per_s=$CTPS"
    echo "BENCH cluster_node_cpu_us_per_tx=$NODE_US"
    echo "BENCH cluster_etcd_cpu_us_per_tx=$ETCD_US"
    echo "BENCH cluster_catchup_cpu_us_per_tx=$CATCH_US"
} | tee "$OUT/cluster.txt"
