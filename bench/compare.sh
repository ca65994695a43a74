#!/usr/bin/env bash
# Starling vs Mosquitto under the same load, one broker loaded at a time, each freshly started on loopback.
#
# Every scenario runs REPS times with the broker pinned to core 0 and the load generator to core 1, and
# UNPINNED_REPS times unpinned; the order of the brokers alternates from one repetition to the next. For every
# run: start the broker on a free loopback port with an equivalent config, run the load (starling_bench, or
# bench/scale_helper.py for the scenarios starling_bench has no mode for), read the broker's RSS, peak RSS
# (VmHWM) and CPU time from /proc and its own drop counter from $SYS, stop it by PID. Prints a summary and one
# table per scenario and mode (medians, Starling/Mosquitto ratios, every run's value of the main metric) and
# writes the same markdown to --out. See docs/benchmarks.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    cat <<EOF
Usage: bench/compare.sh [--out FILE] [--help]

Runs the same scenarios against Starling and Mosquitto, one broker at a time, each freshly started on loopback;
pinned (broker on core 0, load on core 1) REPS times and unpinned UNPINNED_REPS times, brokers alternating.
Prints medians and Starling/Mosquitto ratios per scenario, with the broker's CPU time and memory.

  --out FILE   markdown report (default: build/bench/compare.md)

Scenarios (SCENARIOS, in this order by default):
  fanin0 fanin1 fanout0 pairs1   saturated: FANIN_PUBS publishers -> 1 subscriber on bench/#, 1 publisher ->
                    FANOUT_SUBS subscribers, PAIRS publisher/subscriber pairs; QoS digit;
                    closed loop: each publisher keeps at most OUTSTANDING messages sent and not yet received
                    (by every subscriber), so queues stay bounded and msg/s is what the broker sustains
                    (OUTSTANDING= empty: open flood, WINDOW bytes queued per publisher)
  fanin0@20000 pairs1@20000 fanout0@200   the same at a fixed offered rate (total msg/s; fanout: publishes/s,
                    each delivered to FANOUT_SUBS): latency p50/p99/p999 without queueing
  conn              connection storm: CONNS clients connect at once (connections/s, CONNECT->CONNACK latency)
                    and hold; RSS per idle connection = (RSS while held - RSS before) / connected
  large64k large1m  large payloads (largeN, largeNk, largeNm): LARGE_STREAMS publisher/subscriber pairs, closed
                    loop (each publisher keeps at most LARGE_WINDOW bytes not yet received), MB/s
  maxconn           as many idle connections as the open-file limit allows: MAXCONN connections from as many
                    helper processes as their own limit needs; connections reached and RSS per connection
  subs              SUBS distinct subscriptions (a third exact, a third with +, a third with #) on SUB_CONNS
                    connections: subscribe time, memory per subscription, publish-to-receive round trip and
                    matching throughput with SUB_BASELINE subscriptions and with all of them
  retained          RETAINED retained messages: time to store, memory per message, time until a new '#'
                    subscriber has them all, wildcard and exact-topic subscribe times, retained update round trip

Environment (defaults in brackets):
  SCENARIOS         [fanin0 fanin1 fanout0 pairs1 fanin0@20000 pairs1@20000 fanout0@200 conn large64k large1m
                    maxconn subs retained]
  ONCE              scenarios run once per broker only (first pinned repetition) [maxconn subs retained]
  MODES             pinned and/or unpinned [pinned unpinned]; PIN=1 means MODES=pinned, PIN=0 MODES=unpinned
  REPS              pinned repetitions per scenario and broker [3]
  UNPINNED_REPS     unpinned repetitions [1]
  BROKERS           [starling mosquitto]
  SCALE             multiplies every message-scenario duration, e.g. 0.4 for a smoke run [1]
  DURATION          seconds per message scenario and large scenario, before SCALE [6]
  CONN_DURATION     seconds the conn scenario holds its connections, before SCALE [20]
  WARMUP            seconds not measured at the start of each run [1]
  FANIN_PUBS [8]  FANOUT_SUBS [100]  PAIRS [100]  CONNS [10000]  PAYLOAD bytes [64]
  RATE              offered msg/s for message scenarios without @RATE; empty = flood []
  WINDOW            flood: bytes queued per publisher (starling_bench --window) [1048576]
  OUTSTANDING       saturated runs: messages per publisher sent and not yet received (--outstanding) [1000]
  BENCH_THREADS     starling_bench --threads [2]
  PINNED_STARLING_THREADS    Starling worker_threads when pinned [1]
  UNPINNED_STARLING_THREADS  Starling worker_threads when unpinned, 0 = one per core [0]
                    (STARLING_THREADS sets both)
  LARGE_STREAMS [4]  LARGE_WINDOW bytes per stream [4194304]  LARGE_QOS [0]
  MAXCONN           connections to try [the hard open-file limit, $(ulimit -Hn)]
  MAXCONN_HOLD      seconds from the start of connecting to the end of the hold [30]
  SUBS [1000000]  SUB_CONNS [100]  SUB_BATCH filters per SUBSCRIBE [500]  SUB_BASELINE [1000]
  SUB_PROBES round trips [500]  SUB_FLOOD publishes [100000]
  RETAINED [1000000]  RETAINED_PAYLOAD bytes [64]  RETAINED_PROBES [500]
  HELPER_TIMEOUT    seconds a helper phase may take [600]
  MAX_INFLIGHT      max_inflight_messages for both brokers, 0 = unlimited [0]
  MAX_QUEUED        max_queued_messages for both brokers, 0 = unlimited [0]
  PROTOCOL          mqttv311 or mqttv5 (starling_bench scenarios) [mqttv311]
  STOP_GRACE        seconds a broker gets to exit after SIGTERM before SIGKILL [5]
  SETTLE            pause between runs, seconds [1]
  BIN_DIR           where starling and starling_bench are [build/release/bin]
  STARLING_BIN, BENCH_BIN, MOSQUITTO_BIN, PYTHON   override single binaries

The script raises its soft open-file limit to the hard limit; brokers and load generators inherit it.
EOF
}

# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
parse_out_args "$REPO/build/bench/compare.md" "$@"

SCALE=${SCALE:-1}
DURATION=${DURATION:-6}
CONN_DURATION=${CONN_DURATION:-20}
WARMUP=${WARMUP:-1}
SCENARIOS=${SCENARIOS:-fanin0 fanin1 fanout0 pairs1 fanin0@20000 pairs1@20000 fanout0@200 conn large64k large1m maxconn subs retained}
ONCE=${ONCE-maxconn subs retained}
if [[ -n ${PIN:-} ]]; then
    [[ $PIN == 1 ]] && MODES=${MODES:-pinned} || MODES=${MODES:-unpinned}
fi
MODES=${MODES:-pinned unpinned}
REPS=${REPS:-3}
UNPINNED_REPS=${UNPINNED_REPS:-1}
BROKERS=${BROKERS:-starling mosquitto}
FANIN_PUBS=${FANIN_PUBS:-8}
FANOUT_SUBS=${FANOUT_SUBS:-100}
PAIRS=${PAIRS:-100}
CONNS=${CONNS:-10000}
PAYLOAD=${PAYLOAD:-64}
RATE=${RATE:-}
# starling_bench's flood mode keeps up to --window bytes encoded per publisher while its previous write is in
# flight. This used to be 16 KiB: encodePublish reserved the exact size of each PUBLISH, so filling 1 MiB cost
# O(window^2) memmove and the load generator was the bottleneck. The codec now grows buffers geometrically
# (protocol::reserveMore), so the bench's 1 MiB default is cheap, and it measures better: fanin0, 3 s, 2-core
# VM, one run each, 16 KiB / 1 MiB: Starling 0.65 / 1.75 M msg/s received (publishers sent 1.8 / 2.5 M msg/s:
# with 16 KiB they wrote in small batches and competed with the broker for CPU), Mosquitto 189k / 188k;
# fanout0 within noise (Starling 3.3 / 3.0 M deliveries/s, Mosquitto 145k / 129k). QoS 1/2 floods are bounded
# by the bench's 1000 messages in flight per publisher, not by the window.
WINDOW=${WINDOW-1048576}
OUTSTANDING=${OUTSTANDING-1000}
BENCH_THREADS=${BENCH_THREADS:-2}
PINNED_STARLING_THREADS=${PINNED_STARLING_THREADS:-${STARLING_THREADS:-1}}
UNPINNED_STARLING_THREADS=${UNPINNED_STARLING_THREADS:-${STARLING_THREADS:-0}}
LARGE_STREAMS=${LARGE_STREAMS:-4}
LARGE_WINDOW=${LARGE_WINDOW:-4194304}
LARGE_QOS=${LARGE_QOS:-0}
MAXCONN_HOLD=${MAXCONN_HOLD:-30}
SUBS=${SUBS:-1000000}
SUB_CONNS=${SUB_CONNS:-100}
SUB_BATCH=${SUB_BATCH:-500}
SUB_BASELINE=${SUB_BASELINE:-1000}
SUB_PROBES=${SUB_PROBES:-500}
SUB_FLOOD=${SUB_FLOOD:-100000}
RETAINED=${RETAINED:-1000000}
RETAINED_PAYLOAD=${RETAINED_PAYLOAD:-64}
RETAINED_PROBES=${RETAINED_PROBES:-500}
HELPER_TIMEOUT=${HELPER_TIMEOUT:-600}
MAX_INFLIGHT=${MAX_INFLIGHT:-0}
MAX_QUEUED=${MAX_QUEUED:-0}
PROTOCOL=${PROTOCOL:-mqttv311}
STOP_GRACE=${STOP_GRACE:-5}
SETTLE=${SETTLE:-1}
BIN_DIR=${BIN_DIR:-$REPO/build/release/bin}
STARLING_BIN=${STARLING_BIN:-$BIN_DIR/starling}
BENCH_BIN=${BENCH_BIN:-$BIN_DIR/starling_bench}
MOSQUITTO_BIN=${MOSQUITTO_BIN:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
PYTHON=${PYTHON:-$(command -v python3 || echo python3)}

die() { echo "compare.sh: $*" >&2; exit 1; }
for b in "$STARLING_BIN" "$BENCH_BIN" "$MOSQUITTO_BIN"; do [[ -x $b ]] || die "not executable: $b"; done
command -v ss >/dev/null || die "needs ss (iproute2)"
if [[ " $MODES " == *" pinned "* ]] && ! command -v taskset >/dev/null; then die "needs taskset (util-linux)"; fi
awk -v s="$SCALE" 'BEGIN { exit !(s > 0) }' || die "SCALE must be > 0"
for v in REPS UNPINNED_REPS CONNS LARGE_STREAMS LARGE_WINDOW MAXCONN_HOLD SUBS SUB_CONNS SUB_BATCH SUB_BASELINE \
    SUB_PROBES SUB_FLOOD RETAINED RETAINED_PAYLOAD RETAINED_PROBES HELPER_TIMEOUT; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number"
done
for m in $MODES; do [[ $m == pinned || $m == unpinned ]] || die "unknown mode '$m' (pinned, unpinned)"; done
for b in $BROKERS; do [[ $b == starling || $b == mosquitto ]] || die "unknown broker '$b'"; done

# Open files: the soft limit goes up to the hard limit; brokers, starling_bench and the helpers inherit it.
if [[ $(ulimit -Hn) == unlimited ]]; then
    ulimit -n 1048576 2>/dev/null || true
else
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fi
NOFILE=$(ulimit -n)
[[ $NOFILE == unlimited ]] && NOFILE=1048576
MAXCONN=${MAXCONN:-$NOFILE}
[[ $MAXCONN =~ ^[0-9]+$ ]] || die "MAXCONN must be a number"
if ((CONNS + 256 > NOFILE)); then
    echo "warning: open-file limit is $NOFILE, CONNS=$CONNS will not all connect" >&2
fi

# Durations after SCALE (starling_bench publishes for exactly --duration seconds, fractions included, and
# divides by the measured window). The measured window is duration - warmup: keep at least a second of it.
scaled() {
    awk -v d="$1" -v s="$SCALE" -v w="$WARMUP" 'BEGIN { x = d * s; if (x < w + 1) x = w + 1; printf "%g", x }'
}
MSG_SECS=$(scaled "$DURATION")
CONN_SECS=$(scaled "$CONN_DURATION")

# Work directory: configs, broker logs, bench output. Binaries and helpers are copied so that a rebuild or an
# edit during the run cannot swap them between runs.
WORK=$(dirname "$OUT")/compare-logs
mkdir -p "$WORK"
rm -f "$WORK"/*.conf "$WORK"/*.log "$WORK"/*.json "$WORK"/*.err "$WORK"/*.sys
STARLING_MTIME=$(date -u -r "$STARLING_BIN" +'%Y-%m-%d %H:%M')
cp "$STARLING_BIN" "$WORK/starling.bin"
cp "$BENCH_BIN" "$WORK/starling_bench.bin"
cp "$REPO/bench/scale_helper.py" "$REPO/bench/mqtt_wire.py" "$WORK/"
STARLING=$WORK/starling.bin
BENCH=$WORK/starling_bench.bin
HELPER=$WORK/scale_helper.py
MOSQUITTO=$MOSQUITTO_BIN

# ---------------------------------------------------------------------------------------------------------
# Process handling: every process we start is tracked by PID and stopped by PID.

BROKER_PID=""
LOAD_PIDS=()
cleanup() {
    # shellcheck disable=SC2086  # an empty PID vanishes
    stop_pids "${LOAD_PIDS[@]}" $BROKER_PID
    LOAD_PIDS=()
    BROKER_PID=""
}
trap 'cleanup; rm -f "$STARLING" "$BENCH"' EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# free_port, wait_listen, cpu_secs, status_kb

MODE=""
STARLING_THREADS_NOW=0
BROKER_PIN=()
LOAD_PIN=()
set_mode() {
    MODE=$1
    if [[ $MODE == pinned ]]; then
        STARLING_THREADS_NOW=$PINNED_STARLING_THREADS
        BROKER_PIN=(taskset -c 0)
        LOAD_PIN=(taskset -c 1)
    else
        STARLING_THREADS_NOW=$UNPINNED_STARLING_THREADS
        BROKER_PIN=()
        LOAD_PIN=()
    fi
}

write_config() {  # broker port file
    local broker=$1 port=$2 file=$3
    {
        echo "# generated by bench/compare.sh"
        echo "listener $port 127.0.0.1"
        echo "allow_anonymous true"
        echo "max_inflight_messages $MAX_INFLIGHT"
        echo "max_queued_messages $MAX_QUEUED"
        echo "max_queued_bytes 0"
        echo "max_connections -1"
        echo "sys_interval 1"
        echo "log_dest stderr"
        echo "log_type error"
        echo "log_type warning"
        if [[ $broker == starling ]]; then
            # No persistence directive: off by default (bench/persistence.sh measures it). TCP_NODELAY is always on.
            echo "worker_threads $STARLING_THREADS_NOW"
            echo "output_limit 0 0 0"  # never drop QoS 0 for slow consumers (Mosquitto has no such limit)
        else
            echo "persistence false"
            echo "set_tcp_nodelay true"
            echo "connection_messages false"
            if [[ $EUID -eq 0 ]]; then echo "user root"; fi  # else it drops privileges to 'mosquitto'
        fi
    } >"$file"
}

# ---------------------------------------------------------------------------------------------------------
# Results: R["mode|broker|id|rep|field"]; RUNS["mode|broker|id"] = the repetitions that ran.

declare -A R RUNS
ANOMALIES=()
note() {  # key rep text   (key = mode|broker|id)
    local k=$1 rep=$2
    R[$k|$rep|notes]+="${R[$k|$rep|notes]:+; }$3"
    IFS='|' read -r _m _b _i <<<"$k"
    ANOMALIES+=("$_i / $_b / $_m run $rep: $3")
}

info() {  # key rep text: a note in the table, not an anomaly
    R[$1|$2|notes]+="${R[$1|$2|notes]:+; }$3"
}

jget() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"; }

scenario_kind() {
    case $1 in
        conn | maxconn | subs | retained) echo "$1" ;;
        large*) echo large ;;
        *) echo msg ;;
    esac
}

large_size() {  # large64k -> 65536
    [[ $1 =~ ^large([0-9]+)([kKmM]?)$ ]] || die "bad large scenario '$1' (large<bytes>, large<N>k, large<N>m)"
    local n=${BASH_REMATCH[1]}
    case ${BASH_REMATCH[2]} in k | K) n=$((n * 1024)) ;; m | M) n=$((n * 1048576)) ;; esac
    echo "$n"
}

scenario_args() {  # message scenario id -> "kind qos count seconds rate" (rate 0 = flood)
    local id=$1 kind qos rate
    [[ $id =~ ^(fanin|fanout|pairs)([012])(@([0-9]+))?$ ]] ||
        die "unknown scenario '$id' (see --help)"
    kind=${BASH_REMATCH[1]}
    qos=${BASH_REMATCH[2]}
    rate=${BASH_REMATCH[4]:-${RATE:-0}}
    case $kind in
        fanin) echo "fanin $qos $FANIN_PUBS $MSG_SECS $rate" ;;
        fanout) echo "fanout $qos $FANOUT_SUBS $MSG_SECS $rate" ;;
        pairs) echo "pairs $qos $PAIRS $MSG_SECS $rate" ;;
    esac
}

validate() {
    case $(scenario_kind "$1") in
        msg) scenario_args "$1" >/dev/null ;;
        large) large_size "$1" >/dev/null ;;
    esac
}

human_bytes() { awk -v b="$1" 'BEGIN { if (b >= 1048576 && b % 1048576 == 0) printf "%d MiB", b / 1048576;
    else if (b >= 1024 && b % 1024 == 0) printf "%d KiB", b / 1024; else printf "%d B", b }'; }

scenario_title() {  # id
    local id=$1 kind qos n secs rate load
    case $(scenario_kind "$id") in
        conn) echo "conn: $CONNS clients connect at once and hold for ${CONN_SECS}s" ;;
        maxconn) echo "maxconn: up to $MAXCONN idle connections (open-file limit $NOFILE per process), held ${MAXCONN_HOLD}s from the start" ;;
        subs) echo "subs: $SUBS distinct subscriptions (exact, +, #) on $SUB_CONNS connections, $SUB_BATCH filters per SUBSCRIBE" ;;
        retained) echo "retained: $RETAINED retained messages of $RETAINED_PAYLOAD B on distinct topics" ;;
        large) echo "large $(human_bytes "$(large_size "$id")"): $LARGE_STREAMS publisher/subscriber pairs, QoS $LARGE_QOS, closed loop, $(human_bytes "$LARGE_WINDOW") window per pair, ${MSG_SECS}s" ;;
        msg)
            read -r kind qos n secs rate <<<"$(scenario_args "$id")"
            if ((rate > 0)); then
                load="$rate msg/s offered"
                [[ $kind == fanout ]] && load+=" (x$n deliveries)"
            else
                load="flood"
            fi
            case $kind in
                fanin) echo "fanin QoS $qos: $n publishers -> 1 subscriber on bench/#, ${PAYLOAD} B, $load, ${secs}s" ;;
                fanout) echo "fanout QoS $qos: 1 publisher -> $n subscribers on bench/#, ${PAYLOAD} B, $load, ${secs}s" ;;
                pairs) echo "pairs QoS $qos: $n publisher/subscriber pairs on bench/i, ${PAYLOAD} B, $load, ${secs}s" ;;
            esac
            ;;
    esac
}

# ---------------------------------------------------------------------------------------------------------
# One run

PORT=""
LOG=""
start_broker() {  # key rep broker id
    local k=$1 rep=$2 broker=$3 id=$4 conf
    PORT=$(free_port)
    conf=$WORK/$id.$MODE.$rep.$broker.conf
    LOG=$WORK/$id.$MODE.$rep.$broker.log
    write_config "$broker" "$PORT" "$conf"
    if [[ $broker == starling ]]; then
        "${BROKER_PIN[@]}" "$STARLING" -c "$conf" >"$LOG" 2>&1 &
    else
        "${BROKER_PIN[@]}" "$MOSQUITTO" -c "$conf" >"$LOG" 2>&1 &
    fi
    BROKER_PID=$!
    if ! wait_listen "$PORT" "$BROKER_PID"; then
        note "$k" "$rep" "broker did not start (see $LOG)"
        cleanup
        return 1
    fi
    R[$k|$rep|rss0]=$(status_kb "$BROKER_PID" VmRSS)
    echo "[$(date +%T)] $id, $MODE run $rep, $broker (port $PORT, pid $BROKER_PID): $(scenario_title "$id")" >&2
}

# Broker still alive? Then its peak memory and CPU time, optionally its $SYS counters; then stop it by PID.
finish_broker() {  # key rep [sys]
    local k=$1 rep=$2 sys=${3:-}
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
        local brc=0
        wait "$BROKER_PID" || brc=$?
        note "$k" "$rep" "BROKER DIED during the run (exit status $brc, see $LOG)"
        BROKER_PID=""
        return
    fi
    R[$k|$rep|hwm]=$(status_kb "$BROKER_PID" VmHWM)
    R[$k|$rep|cpu]=$(cpu_secs "$BROKER_PID")
    if [[ -n $sys ]] && command -v mosquitto_sub >/dev/null; then
        # Retained $SYS values, published every second by both brokers.
        # shellcheck disable=SC2016
        timeout 5 mosquitto_sub -h 127.0.0.1 -p "$PORT" -i "compare-sys-$$" -v -C 2 -W 4 \
            -t '$SYS/broker/publish/messages/dropped' -t '$SYS/broker/store/messages/count' \
            >"$sys" 2>/dev/null || true
        R[$k|$rep|dropped]=$(awk '$1 ~ /dropped$/ { print $2 }' "$sys")
        R[$k|$rep|held]=$(awk '$1 ~ /count$/ { print $2 }' "$sys")
    fi
    # Stop by PID; a broker that ignores SIGTERM is an anomaly, not a reason to hang here.
    local t0=$SECONDS brc=0 c0 c1
    c0=$(cpu_secs "$BROKER_PID")
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    while kill -0 "$BROKER_PID" 2>/dev/null && ((SECONDS - t0 < STOP_GRACE)); do sleep 0.1; done
    if kill -0 "$BROKER_PID" 2>/dev/null; then
        c1=$(cpu_secs "$BROKER_PID")
        note "$k" "$rep" "did not exit within ${STOP_GRACE}s of SIGTERM, killed ($(awk -v a="$c0" -v b="$c1" 'BEGIN {
            if (b - a > 0.5) printf "busy: %.1f s CPU during the grace period", b - a; else print "idle: no CPU used while waiting" }'))"
        kill -KILL "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    else
        wait "$BROKER_PID" || brc=$?
        ((brc == 0)) || note "$k" "$rep" "exit status $brc after SIGTERM"
    fi
    BROKER_PID=""
}

# Waits for LOAD_PIDS; meanwhile samples the broker's VmRSS every 0.25 s and keeps the last sample taken before
# epoch second $1 (the RSS while the connections are held). Sets HOLD_RSS and LOAD_RC (first non-zero exit).
wait_load_sampling() {
    local until=$1 p alive rss
    HOLD_RSS=""
    while :; do
        alive=0
        for p in "${LOAD_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        ((alive)) || break
        if awk -v n="$EPOCHREALTIME" -v u="$until" 'BEGIN { exit !(n < u) }'; then
            rss=$(status_kb "$BROKER_PID" VmRSS)
            [[ -n $rss ]] && HOLD_RSS=$rss
        fi
        sleep 0.25
    done
    LOAD_RC=0
    for p in "${LOAD_PIDS[@]}"; do
        local rc=0
        wait "$p" || rc=$?
        ((LOAD_RC != 0)) || LOAD_RC=$rc
    done
    LOAD_PIDS=()
}

per_conn_kib() {  # hold-rss rss0 connected
    awk -v h="${1:-}" -v z="${2:-}" -v n="${3:-}" 'BEGIN { if (h == "" || z == "" || n + 0 == 0) print ""; else printf "%.2f", (h - z) / n }'
}

# Files of one run: $WORK/<id>.<mode>.<rep>.<broker>.*
run_base() {  # key rep
    local b=${1#*|}
    echo "$WORK/${1##*|}.$MODE.$2.${b%%|*}"
}

run_msg() {  # key rep id
    local k=$1 rep=$2 id=$3 kind qos count secs rate json err rc=0 line
    read -r kind qos count secs rate <<<"$(scenario_args "$id")"
    json=$(run_base "$k" "$rep").json
    err=${json%.json}.err
    local args=("$kind" -h 127.0.0.1 -p "$PORT" -q "$qos" -s "$PAYLOAD" -n "$count" --duration "$secs"
        --warmup "$WARMUP" --threads "$BENCH_THREADS" -V "$PROTOCOL")
    if ((rate > 0)); then
        args+=(--rate "$rate")
    else
        [[ -n $WINDOW ]] && args+=(--window "$WINDOW")
        [[ -n $OUTSTANDING ]] && args+=(--outstanding "$OUTSTANDING")
    fi
    # The bench stops itself after secs + up to 3 s of drain; the timeout is a safety net only.
    timeout -k 5 "$(awk -v s="$secs" 'BEGIN { printf "%d", s + 30 }')" "${LOAD_PIN[@]}" "$BENCH" "${args[@]}" >"$json" 2>"$err" &
    LOAD_PIDS=($!)
    wait_load_sampling 0
    rc=$LOAD_RC
    finish_broker "$k" "$rep" "${json%.json}.sys"

    line=$(grep -m1 '^{"scenario"' "$json" || true)
    if [[ $rc -ne 0 || -z $line ]]; then
        note "$k" "$rep" "starling_bench failed (exit $rc): $(tail -n 2 "$err" | tr '\n' ' ')"
        return 0
    fi
    local f
    # Summary fields (starling_bench --help); null (QoS 0 lost_acked / unacked) reads as empty.
    for f in connected sent received window_secs window_received rate drained lost lost_acked unacked rejected \
        duplicates out_of_order p50 p99 p999 max; do
        R[$k|$rep|$f]=$(jget "$line" "$f")
    done
    # No latency sample when nothing sent after the warmup arrived (the bench then prints 0).
    if [[ ${R[$k|$rep|max]:-0} == 0 ]]; then
        for f in p50 p99 p999 max; do R[$k|$rep|$f]=""; done
    fi
    # Cross-check of `rate`: mean of the per-second receive rates (line t covers second t-1..t) of the
    # whole seconds after the warmup.
    R[$k|$rep|steady]=$(awk -v w="$WARMUP" '
        match($0, /^\[ *[0-9]+s\]/) { t = substr($0, 2, RLENGTH - 3) + 0
            if (t - 1 >= w && match($0, /rate=[0-9]+/)) { sum += substr($0, RSTART + 5, RLENGTH - 5); n++ } }
        END { if (n) printf "%.0f", sum / n }' "$err")
    R[$k|$rep|cpu_per_msg]=$(awk -v c="${R[$k|$rep|cpu]:-}" -v m="${R[$k|$rep|received]:-}" \
        'BEGIN { if (c == "" || m == "" || m + 0 == 0) print ""; else printf "%.3f", c * 1e6 / m }')

    # Sanity of the counts.
    local conn_expect=$count
    case $kind in fanin | fanout) conn_expect=$((count + 1)) ;; pairs) conn_expect=$((count * 2)) ;; esac
    local connected=${R[$k|$rep|connected]:-0} lost_acked=${R[$k|$rep|lost_acked]:-0}
    ((connected >= conn_expect)) || note "$k" "$rep" "only $connected of $conn_expect clients connected"
    ((${R[$k|$rep|received]:-0} > 0)) || note "$k" "$rep" "no message received"
    if ((rate > 0)); then
        # A fixed-rate run says something about latency only at the intended load.
        local want=$rate
        [[ $kind == fanout ]] && want=$((rate * count))
        if awk -v r="${R[$k|$rep|rate]:-0}" -v w="$want" 'BEGIN { exit !(r < 0.95 * w) }'; then
            note "$k" "$rep" "delivered ${R[$k|$rep|rate]:-0} msg/s of the $want offered (sent ${R[$k|$rep|sent]:-?}): the latency is not at the intended load"
        fi
    fi
    if ((qos > 0 && lost_acked > 0)); then
        note "$k" "$rep" "QoS $qos: $lost_acked messages acknowledged by the broker but not received by the end of the bench's 3 s drain: dropped, or still queued in the broker (\$SYS: dropped ${R[$k|$rep|dropped]:-?}, store count ${R[$k|$rep|held]:-?}; '?' = no answer)"
    fi
    ((${R[$k|$rep|rejected]:-0} == 0)) || note "$k" "$rep" "${R[$k|$rep|rejected]} publishes refused by the broker (v5 reason code >= 0x80)"
    ((${R[$k|$rep|duplicates]:-0} == 0)) || note "$k" "$rep" "${R[$k|$rep|duplicates]} duplicates (no reconnects happened)"
    ((${R[$k|$rep|out_of_order]:-0} == 0)) || note "$k" "$rep" "${R[$k|$rep|out_of_order]} out of order"
    local dropped=${R[$k|$rep|dropped]:-0}
    if [[ $dropped =~ ^[0-9]+$ ]] && ((dropped > 0)); then
        note "$k" "$rep" "broker reports $dropped dropped messages (\$SYS)"
    fi
    return 0
}

run_conn() {  # key rep id
    local k=$1 rep=$2 id=$3 json err line t0
    json=$(run_base "$k" "$rep").json
    err=${json%.json}.err
    t0=$EPOCHREALTIME
    timeout -k 5 "$(awk -v s="$CONN_SECS" 'BEGIN { printf "%d", s + 30 }')" "${LOAD_PIN[@]}" "$BENCH" conn \
        -h 127.0.0.1 -p "$PORT" -n "$CONNS" --duration "$CONN_SECS" --warmup "$WARMUP" --threads "$BENCH_THREADS" \
        -V "$PROTOCOL" >"$json" 2>"$err" &
    LOAD_PIDS=($!)
    # RSS while held: the last sample more than half a second before the bench disconnects.
    wait_load_sampling "$(awk -v t="$t0" -v s="$CONN_SECS" 'BEGIN { printf "%.3f", t + s - 0.5 }')"
    local rc=$LOAD_RC
    R[$k|$rep|hold_rss]=$HOLD_RSS
    finish_broker "$k" "$rep"
    line=$(grep -m1 '^{"scenario"' "$json" || true)
    if [[ $rc -ne 0 || -z $line ]]; then
        note "$k" "$rep" "starling_bench failed (exit $rc): $(tail -n 2 "$err" | tr '\n' ' ')"
        return 0
    fi
    local f
    for f in connected connect_p50_us connect_p99_us connect_max_us connect_secs connects_per_sec; do
        R[$k|$rep|$f]=$(jget "$line" "$f")
    done
    R[$k|$rep|kib_per_conn]=$(per_conn_kib "$HOLD_RSS" "${R[$k|$rep|rss0]:-}" "${R[$k|$rep|connected]:-}")
    ((${R[$k|$rep|connected]:-0} >= CONNS)) || note "$k" "$rep" "only ${R[$k|$rep|connected]:-0} of $CONNS clients connected within ${CONN_SECS}s"
    if awk -v c="${R[$k|$rep|connect_secs]:-0}" -v s="$CONN_SECS" 'BEGIN { exit !(c > s - 1) }'; then
        note "$k" "$rep" "connecting took ${R[$k|$rep|connect_secs]}s of the ${CONN_SECS}s hold: the RSS sample may not be idle"
    fi
    return 0
}

run_maxconn() {  # key rep id
    local k=$1 rep=$2 id=$3 base per nprocs i n left until
    base=$(run_base "$k" "$rep")
    per=$((NOFILE - 256))
    ((per > 0)) || { note "$k" "$rep" "open-file limit $NOFILE too low"; finish_broker "$k" "$rep"; return 0; }
    nprocs=$(((MAXCONN + per - 1) / per))
    until=$(awk -v t="$EPOCHREALTIME" -v h="$MAXCONN_HOLD" 'BEGIN { printf "%.3f", t + h }')
    left=$MAXCONN
    LOAD_PIDS=()
    for ((i = 0; i < nprocs; i++)); do
        n=$(((left + nprocs - i - 1) / (nprocs - i)))
        left=$((left - n))
        timeout -k 5 $((MAXCONN_HOLD + 60)) "${LOAD_PIN[@]}" "$PYTHON" "$HELPER" conns --port "$PORT" --count "$n" \
            --prefix "idle$i" --until "$until" --connect-timeout "$((MAXCONN_HOLD > 4 ? MAXCONN_HOLD - 3 : 1))" \
            >"$base.$i.json" 2>"$base.$i.err" &
        LOAD_PIDS+=($!)
    done
    wait_load_sampling "$(awk -v u="$until" 'BEGIN { printf "%.3f", u - 1 }')"
    local rc=$LOAD_RC
    R[$k|$rep|hold_rss]=$HOLD_RSS
    R[$k|$rep|procs]=$nprocs
    finish_broker "$k" "$rep"
    local conn=0 secs=0 pending=0 closed=0 line failed=""
    for ((i = 0; i < nprocs; i++)); do
        line=$(grep -m1 '^{' "$base.$i.json" || true)
        if [[ -z $line || $line == *'"error"'* ]]; then
            note "$k" "$rep" "helper $i failed (exit $rc): ${line:-$(tail -n 2 "$base.$i.err" | tr '\n' ' ')}"
            continue
        fi
        conn=$((conn + $(jget "$line" connected)))
        pending=$((pending + $(jget "$line" pending_at_deadline)))
        closed=$((closed + $(jget "$line" closed_while_held)))
        secs=$(awk -v a="$secs" -v b="$(jget "$line" connect_secs)" 'BEGIN { print (b > a) ? b : a }')
        [[ $line == *'"failed":{}'* ]] || failed+="${failed:+; }helper $i: $(sed -n 's/.*"failed":{\([^}]*\)}.*/\1/p' <<<"$line")"
    done
    R[$k|$rep|connected]=$conn
    R[$k|$rep|connect_secs]=$secs
    R[$k|$rep|pending]=$pending
    R[$k|$rep|closed]=$closed
    R[$k|$rep|kib_per_conn]=$(per_conn_kib "$HOLD_RSS" "${R[$k|$rep|rss0]:-}" "$conn")
    # Falling short of MAXCONN is the expected outcome at the open-file limit: information, not an anomaly.
    ((conn >= MAXCONN)) || info "$k" "$rep" "$conn of $MAXCONN connected ($pending still waiting for a CONNACK at the deadline${failed:+; failures: $failed})"
    ((closed == 0)) || note "$k" "$rep" "$closed idle connections closed by the broker while held"
    return 0
}

run_helper() {  # key rep id fields... -- helper args...   (one JSON line; fields copied into R)
    local k=$1 rep=$2 id=$3 base line rc
    shift 3
    local fields=()
    while (($#)) && [[ $1 != -- ]]; do fields+=("$1"); shift; done
    shift
    base=$(run_base "$k" "$rep")
    timeout -k 5 "$HELPER_TIMEOUT" "${LOAD_PIN[@]}" "$PYTHON" "$HELPER" "$@" --port "$PORT" --pid "$BROKER_PID" \
        --timeout "$HELPER_TIMEOUT" >"$base.json" 2>"$base.err" &
    LOAD_PIDS=($!)
    wait_load_sampling 0
    rc=$LOAD_RC
    finish_broker "$k" "$rep"
    line=$(grep -m1 '^{' "$base.json" || true)
    if [[ $rc -ne 0 || -z $line || $line == *'"error"'* ]]; then
        note "$k" "$rep" "helper failed (exit $rc): ${line:-$(tail -n 2 "$base.err" | tr '\n' ' ')}"
        [[ -n $line ]] || return 0
    fi
    local f
    for f in "${fields[@]}"; do R[$k|$rep|$f]=$(jget "$line" "$f"); done
    HELPER_LINE=$line
}

run_large() {  # key rep id
    local k=$1 rep=$2 id=$3
    HELPER_LINE=""
    run_helper "$k" "$rep" "$id" mb_per_sec msg_per_sec sent received lost out_of_order p50_us p99_us max_us \
        broker_cpu_secs broker_cpu_ms_per_mb -- large --size "$(large_size "$id")" --streams "$LARGE_STREAMS" \
        --window-bytes "$LARGE_WINDOW" --qos "$LARGE_QOS" --duration "$MSG_SECS" --warmup "$WARMUP"
    [[ -n $HELPER_LINE ]] || return 0
    ((${R[$k|$rep|lost]:-0} == 0)) || note "$k" "$rep" "${R[$k|$rep|lost]} messages sent and not received by the end of the 3 s drain"
    ((${R[$k|$rep|out_of_order]:-0} == 0)) || note "$k" "$rep" "${R[$k|$rep|out_of_order]} out of order"
    return 0
}

run_subs() {
    local k=$1 rep=$2 id=$3
    HELPER_LINE=""
    run_helper "$k" "$rep" "$id" subscribe_secs subscribed subscribe_per_sec refused subscribe_cpu_secs \
        rss_before_kb rss_after_kb bytes_per_sub baseline_subs probe_small_p50_us probe_small_p99_us \
        probe_full_p50_us probe_full_p99_us probe_full_max_us flood_small_per_sec flood_small_delivered \
        flood_full_per_sec flood_full_delivered flood_full_secs -- \
        subs --count "$SUBS" --conns "$SUB_CONNS" --batch "$SUB_BATCH" --baseline "$SUB_BASELINE" \
        --probes "$SUB_PROBES" --flood "$SUB_FLOOD"
    [[ -n $HELPER_LINE ]] || return 0
    ((${R[$k|$rep|refused]:-0} == 0)) || note "$k" "$rep" "${R[$k|$rep|refused]} subscriptions refused (SUBACK 0x80)"
    local f
    for f in flood_small_delivered flood_full_delivered; do
        ((${R[$k|$rep|$f]:-0} >= SUB_FLOOD)) || note "$k" "$rep" "$f: ${R[$k|$rep|$f]:-0} of $SUB_FLOOD QoS 0 publishes delivered"
    done
    return 0
}

run_retained() {
    local k=$1 rep=$2 id=$3
    HELPER_LINE=""
    run_helper "$k" "$rep" "$id" store_secs store_per_sec store_cpu_secs rss_before_kb rss_after_kb \
        bytes_per_retained all_received all_secs all_per_sec all_cpu_secs plus_last_expected plus_last_received \
        plus_last_ms plus_mid_expected plus_mid_received plus_mid_ms sub_exact_p50_us sub_exact_p99_us \
        update_p50_us update_p99_us -- \
        retained --count "$RETAINED" --payload "$RETAINED_PAYLOAD" --probes "$RETAINED_PROBES"
    [[ -n $HELPER_LINE ]] || return 0
    ((${R[$k|$rep|all_received]:-0} >= RETAINED)) || note "$k" "$rep" "'#' subscriber got ${R[$k|$rep|all_received]:-0} of $RETAINED retained messages"
    local w
    for w in plus_last plus_mid; do
        ((${R[$k|$rep|${w}_received]:-0} >= ${R[$k|$rep|${w}_expected]:-0})) ||
            note "$k" "$rep" "$w: ${R[$k|$rep|${w}_received]:-0} of ${R[$k|$rep|${w}_expected]} retained messages"
    done
    return 0
}

run_one() {  # broker id rep
    local broker=$1 id=$2 rep=$3 k
    k="$MODE|$broker|$id"
    RUNS[$k]+="${RUNS[$k]:+ }$rep"
    start_broker "$k" "$rep" "$broker" "$id" || return 0
    case $(scenario_kind "$id") in
        msg) run_msg "$k" "$rep" "$id" ;;
        conn) run_conn "$k" "$rep" "$id" ;;
        maxconn) run_maxconn "$k" "$rep" "$id" ;;
        large) run_large "$k" "$rep" "$id" ;;
        subs) run_subs "$k" "$rep" "$id" ;;
        retained) run_retained "$k" "$rep" "$id" ;;
    esac
}

# ---------------------------------------------------------------------------------------------------------
# Medians and formatting

med() {  # mode broker id field -> median over the runs (empty if none)
    local k="$1|$2|$3" rep v vals=()
    for rep in ${RUNS[$k]:-}; do
        v=${R[$k|$rep|$4]:-}
        [[ -n $v ]] && vals+=("$v")
    done
    ((${#vals[@]})) || { echo ""; return; }
    printf '%s\n' "${vals[@]}" | sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
runs_list() {  # mode broker id field formatter -> "a, b, c"
    local k="$1|$2|$3" rep v out=""
    for rep in ${RUNS[$k]:-}; do
        v=${R[$k|$rep|$4]:-}
        out+="${out:+, }$("$5" "$v")"
    done
    echo "${out:--}"
}

num() {  # thousands separators, empty -> "-"
    [[ -z ${1:-} ]] && { echo "-"; return; }
    awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); n = length(s); o = "";
        for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n && substr(s, i, 1) != "-") o = o "," } print o }'
}
dec() { [[ -z ${1:-} ]] && { echo "-"; return; }; awk -v x="$1" 'BEGIN { if (x >= 100) printf "%.0f", x; else if (x >= 10) printf "%.1f", x; else printf "%.2f", x }'; }
mib() { [[ -z ${1:-} ]] && { echo "-"; return; }; awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
secs() { [[ -z ${1:-} ]] && { echo "-"; return; }; awk -v s="$1" 'BEGIN { if (s >= 10) printf "%.1f s", s; else printf "%.3f s", s }'; }
ms() { [[ -z ${1:-} ]] && { echo "-"; return; }; awk -v s="$1" 'BEGIN { printf "%.2f ms", s }'; }
latency() {  # us -> human
    [[ -z ${1:-} ]] && { echo "-"; return; }
    awk -v u="$1" 'BEGIN { if (u >= 1e6) printf "%.2f s", u / 1e6; else if (u >= 1e3) printf "%.1f ms", u / 1e3; else printf "%d us", u }'
}
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
plain() { echo "${1:--}"; }

# table row: label field formatter [noratio]
row() {
    local s m
    s=$(med "$MODE" starling "$ID" "$2")
    m=$(med "$MODE" mosquitto "$ID" "$2")
    local r=""
    [[ -n ${4:-} ]] || r=$(ratio "$s" "$m")
    echo "| $1 | $("$3" "$s") | $("$3" "$m") | $r |"
}
row_runs() {  # label field formatter: every run's value
    echo "| $1, every run | $(runs_list "$MODE" starling "$ID" "$2" "$3") | $(runs_list "$MODE" mosquitto "$ID" "$2" "$3") | |"
}
row_text() { echo "| $1 | $2 | $3 | |"; }

notes_of() {  # broker -> notes of every run
    local k="$MODE|$1|$ID" rep out=""
    for rep in ${RUNS[$k]:-}; do
        [[ -n ${R[$k|$rep|notes]:-} ]] && out+="${out:+ }run $rep: ${R[$k|$rep|notes]}."
    done
    [[ -n ${RUNS[$k]:-} ]] || out="not run"
    echo "${out:-ok}"
}

table() {  # mode id
    MODE=$1
    ID=$2
    local kind n_s n_m
    kind=$(scenario_kind "$ID")
    n_s=$(wc -w <<<"${RUNS[$MODE|starling|$ID]:-}")
    n_m=$(wc -w <<<"${RUNS[$MODE|mosquitto|$ID]:-}")
    [[ $n_s -gt 0 || $n_m -gt 0 ]] || return 0
    echo
    echo "### $(scenario_title "$ID"), $MODE"
    echo
    echo "| median of $n_s / $n_m runs | starling | mosquitto | starling/mosquitto |"
    echo "|---|---:|---:|---:|"
    case $kind in
        msg)
            row "msg/s received while publishing" rate num
            row_runs "msg/s received while publishing" rate num
            row "msg/s, mean of per-second lines" steady num
            row "received after publishing stopped (3 s drain)" drained num noratio
            local q
            for q in p50 p99 p999 max; do row "latency $q" "$q" latency; done
            row "sent" sent num
            row "received" received num
            row "lost (sent, not received by the end of the drain)" lost num noratio
            row "duplicates" duplicates num noratio
            row "out of order" out_of_order num noratio
            row "of the lost: acked by the broker (QoS 1/2)" lost_acked num noratio
            row "broker \$SYS dropped" dropped num noratio
            row "broker \$SYS store count" held num noratio
            row "broker CPU us per delivered msg" cpu_per_msg dec
            ;;
        conn)
            row "clients connected" connected num
            row "connections/s (to the last CONNACK)" connects_per_sec num
            row_runs "connections/s" connects_per_sec num
            row "last CONNACK after" connect_secs secs
            local q
            for q in p50 p99 max; do row "CONNECT->CONNACK $q" "connect_${q}_us" latency; done
            row "RSS while held, MiB" hold_rss mib
            row "RSS per idle connection, KiB" kib_per_conn dec
            row_runs "KiB per connection" kib_per_conn dec
            ;;
        maxconn)
            row "connections reached" connected num
            row_runs "connections reached" connected num
            row "last CONNACK after" connect_secs secs
            row "still waiting for a CONNACK at the deadline" pending num noratio
            row "closed by the broker while held" closed num noratio
            row "RSS while held, MiB" hold_rss mib
            row "RSS per idle connection, KiB" kib_per_conn dec
            ;;
        large)
            row "MB/s delivered" mb_per_sec dec
            row_runs "MB/s" mb_per_sec dec
            row "msg/s delivered" msg_per_sec dec
            row "latency p50 (publish to receive)" p50_us latency
            row "latency p99" p99_us latency
            row "latency max" max_us latency
            row "sent / received" received num noratio
            row "broker CPU s while publishing" broker_cpu_secs dec
            row "broker CPU ms per MB delivered" broker_cpu_ms_per_mb dec
            ;;
        subs)
            row "subscribe time (all but the baseline)" subscribe_secs secs
            row "subscriptions/s" subscribe_per_sec num
            row "broker CPU s while subscribing" subscribe_cpu_secs dec
            row "RSS after subscribing, MiB" rss_after_kb mib
            row "RSS per subscription, bytes" bytes_per_sub dec
            row "publish round trip p50, $SUB_BASELINE subscriptions" probe_small_p50_us latency
            row "publish round trip p50, all subscriptions" probe_full_p50_us latency
            row "publish round trip p99, all subscriptions" probe_full_p99_us latency
            row "matched msg/s (QoS 0 flood), $SUB_BASELINE subscriptions" flood_small_per_sec num
            row "matched msg/s (QoS 0 flood), all subscriptions" flood_full_per_sec num
            row "refused subscriptions" refused num noratio
            ;;
        retained)
            row "store time" store_secs secs
            row "stored msg/s" store_per_sec num
            row "broker CPU s while storing" store_cpu_secs dec
            row "RSS after storing, MiB" rss_after_kb mib
            row "RSS per retained message, bytes" bytes_per_retained dec
            row "'#' subscriber: all received after" all_secs secs
            row "'#' subscriber: received" all_received num noratio
            row "'#' subscriber: broker CPU s" all_cpu_secs dec
            row "r/<k>/+ (1000 matches): all received after" plus_last_ms ms
            row "r/+/<k> (one per first-level branch): all received after" plus_mid_ms ms
            row "exact-topic SUBSCRIBE -> retained PUBLISH p50" sub_exact_p50_us latency
            row "exact-topic SUBSCRIBE -> retained PUBLISH p99" sub_exact_p99_us latency
            row "retained QoS 1 update PUBLISH -> PUBACK p50" update_p50_us latency
            ;;
    esac
    row "peak RSS MiB" hwm mib
    row "idle RSS before, MiB" rss0 mib
    row "broker CPU s (user+sys, whole run)" cpu dec
    row_text "notes" "$(notes_of starling)" "$(notes_of mosquitto)"
}

# Summary: the main metric of each scenario, per mode.
summary_rows() {  # mode id
    MODE=$1
    ID=$2
    [[ -n ${RUNS[$MODE|starling|$ID]:-}${RUNS[$MODE|mosquitto|$ID]:-} ]] || return 0
    local kind
    kind=$(scenario_kind "$ID")
    srow() {  # label field formatter better(higher|lower)
        local s m
        s=$(med "$MODE" starling "$ID" "$2")
        m=$(med "$MODE" mosquitto "$ID" "$2")
        echo "| $ID | $MODE | $1 | $("$3" "$m") | $("$3" "$s") | $(ratio "$s" "$m") | $4 | $(dec "$(med "$MODE" mosquitto "$ID" cpu)") / $(dec "$(med "$MODE" starling "$ID" cpu)") | $(mib "$(med "$MODE" mosquitto "$ID" hwm)") / $(mib "$(med "$MODE" starling "$ID" hwm)") |"
    }
    case $kind in
        msg)
            local rate
            read -r _ _ _ _ rate <<<"$(scenario_args "$ID")"
            if ((rate > 0)); then
                srow "latency p50" p50 latency lower
                srow "latency p99" p99 latency lower
                srow "latency p999" p999 latency lower
            else
                srow "msg/s" rate num higher
            fi
            ;;
        conn)
            srow "connections/s" connects_per_sec num higher
            srow "KiB per idle connection" kib_per_conn dec lower
            ;;
        maxconn)
            srow "connections reached" connected num higher
            srow "KiB per idle connection" kib_per_conn dec lower
            ;;
        large)
            srow "MB/s" mb_per_sec dec higher
            srow "broker CPU ms per MB" broker_cpu_ms_per_mb dec lower
            ;;
        subs)
            srow "subscribe time" subscribe_secs secs lower
            srow "bytes per subscription" bytes_per_sub dec lower
            srow "publish round trip p50" probe_full_p50_us latency lower
            srow "matched msg/s" flood_full_per_sec num higher
            ;;
        retained)
            srow "store time" store_secs secs lower
            srow "bytes per retained message" bytes_per_retained dec lower
            srow "'#' receives all after" all_secs secs lower
            ;;
    esac
}

# ---------------------------------------------------------------------------------------------------------

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u +'%Y-%m-%d %H:%M:%S UTC')
t_start=$SECONDS
for id in $SCENARIOS; do validate "$id"; done
is_once() { [[ " $ONCE " == *" $1 "* ]]; }
read -ra BROKER_LIST <<<"$BROKERS"
declare -A TURN
first_mode=${MODES%% *}
first=1
for mode in $MODES; do
    set_mode "$mode"
    reps=$REPS
    [[ $mode == unpinned ]] && reps=$UNPINNED_REPS
    for ((rep = 1; rep <= reps; rep++)); do
        for id in $SCENARIOS; do
            if is_once "$id" && [[ $mode != "$first_mode" || $rep != 1 ]]; then continue; fi
            # Alternate the order of the brokers from one repetition of a scenario to the next.
            t=${TURN[$id]:-0}
            TURN[$id]=$((t + 1))
            order=("${BROKER_LIST[@]}")
            if ((t % 2)); then
                order=()
                for ((i = ${#BROKER_LIST[@]} - 1; i >= 0; i--)); do order+=("${BROKER_LIST[i]}"); done
            fi
            for broker in "${order[@]}"; do
                ((first)) || sleep "$SETTLE"
                first=0
                run_one "$broker" "$id" "$rep"
            done
        done
    done
done
ELAPSED=$((SECONDS - t_start))

GIT_REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -n $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]] && GIT_REV+=" (working tree modified)"
mkdir -p "$(dirname "$OUT")"
{
    echo "## Starling vs Mosquitto ($START)"
    echo
    echo "- $("$STARLING" --version 2>&1 | head -n1) (git $GIT_REV, binary of $STARLING_MTIME UTC); $("$MOSQUITTO" -h 2>&1 | head -n1 || true)"
    echo "- $(nproc) cores, load average before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg); total ${ELAPSED}s; open-file limit $NOFILE"
    echo "- modes: $MODES; pinned = broker on core 0 (Starling worker_threads $PINNED_STARLING_THREADS), load on core 1, $REPS run(s); unpinned = no affinity (Starling worker_threads $UNPINNED_STARLING_THREADS, 0 = one per core), $UNPINNED_REPS run(s); once per broker: ${ONCE:-none}. Brokers alternate in order from one repetition to the next; tables show medians."
    echo "- starling_bench --threads $BENCH_THREADS -V $PROTOCOL, warmup ${WARMUP}s, payload ${PAYLOAD} B; saturated runs with --window ${WINDOW:-default} --outstanding ${OUTSTANDING:-none (open flood)}${RATE:+, default rate $RATE msg/s}, SCALE=$SCALE. In flood runs the latency is mostly queueing delay: compare latency on the @RATE runs."
    echo "- both brokers: loopback listener, anonymous, max_inflight_messages $MAX_INFLIGHT, max_queued_messages $MAX_QUEUED, max_queued_bytes 0 (0 = unlimited), no persistence, TCP_NODELAY, one fresh broker per run"
    echo "- msg/s received while publishing = starling_bench's \`rate\` (messages received between the end of the warmup and the end of publishing / that window; fanout counts each delivery). Ratios are starling/mosquitto: above 1 is better for msg/s, MB/s, connections, worse for times, latency, memory and CPU."
    echo
    echo "### Summary (medians)"
    echo
    echo "| scenario | mode | metric | Mosquitto | Starling | Starling/Mosquitto | better | CPU s M / S | peak RSS MiB M / S |"
    echo "|---|---|---|---:|---:|---:|---|---:|---:|"
    for id in $SCENARIOS; do
        for mode in $MODES; do summary_rows "$mode" "$id"; done
    done
    for id in $SCENARIOS; do
        for mode in $MODES; do table "$mode" "$id"; done
    done
    echo
    if ((${#ANOMALIES[@]})); then
        echo "### Anomalies"
        echo
        for a in "${ANOMALIES[@]}"; do echo "- $a"; done
    else
        echo "No anomalies: every client connected, nothing lost, no duplicates, no reordering, no broker drops."
    fi
    echo
    echo "Configs, broker logs and raw output: \`$WORK\`"
} >"$OUT"
cat "$OUT"
