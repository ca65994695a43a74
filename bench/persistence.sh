#!/usr/bin/env bash
# Persistence benchmarks (issue 6), one broker loaded at a time:
#  1. persistent QoS 1 throughput: starling_bench --persistent (subscribers with clean session 0 and fixed
#     client ids) against Starling with persistence_sync none, interval and always, and against Mosquitto with
#     persistence true; delivered msg/s, latency, acknowledged-but-lost messages, ratios to Mosquitto;
#  2. recovery: fill a store with RETAINED retained messages and SESSIONS persistent sessions with QUEUED
#     queued QoS 1 messages each (bench/persistence_helper.py), stop the broker with SIGTERM, restart it and
#     measure the time to the "Restored ..." log line and to the first CONNACK, the store size and the RSS,
#     then check that every session, queued message and retained message came back.
# Prints the tables and writes the same markdown to --out. See docs/benchmarks.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    cat <<EOF
Usage: bench/persistence.sh [--out FILE] [--help]

Persistent QoS 1 throughput of Starling (persistence_sync none / interval / always) and Mosquitto (persistence
true), then recovery time and store size after a restart with many retained messages and persistent sessions.

  --out FILE   markdown report (default: build/bench/persistence.md)

Environment (defaults in brackets):
  SCALE             multiplies every throughput duration [1]
  DURATION          seconds per throughput run, before SCALE [5]
  WARMUP            seconds not measured at the start of each run [1]
  SCENARIOS         fanin|fanout|pairs + QoS digit (1 or 2), optionally @RATE (total offered msg/s; without it
                    the publishers flood); empty = skip the throughput part [fanin1 pairs1 fanin1@50000 pairs1@50000]
  CONFIGS           brokers to run: none interval always (Starling with that persistence_sync), mosquitto
                    [none interval always mosquitto]
  SYNC_INTERVAL     persistence_sync_interval (ms) for Starling's interval policy [100]
  FANIN_PUBS [8]  FANOUT_SUBS [20]  PAIRS [20]  PAYLOAD bytes [64]
  WINDOW            flood: bytes queued per publisher (starling_bench --window); empty = bench default [1048576]
  OUTSTANDING       runs without @RATE: closed loop, messages per publisher sent and not yet received
                    (starling_bench --outstanding); empty = open flood [1000]
  BENCH_THREADS     starling_bench --threads [2]
  STARLING_THREADS  Starling worker_threads, 0 = one per core [0]
  MAX_INFLIGHT      max_inflight_messages for both brokers, 0 = unlimited [0]
  MAX_QUEUED        max_queued_messages for both brokers, 0 = unlimited [0]
  PROTOCOL          mqttv311 or mqttv5 (v5: session expiry 3600 s) [mqttv311]
  GOAL              persistent QoS 1 msg/s Starling should deliver with persistence_sync interval [50000]
  RECOVERY          1: run the recovery part, 0: skip it [1]
  RECOVERY_BROKERS  [starling mosquitto]
  RETAINED          retained messages to fill (issue 6's full size: 1000000) [100000]
  SESSIONS          persistent sessions, each with one subscription (issue 6's full size: 10000) [1000]
  QUEUED            QoS 1 messages queued for each offline session [3]
  RECOVERY_PAYLOAD  payload bytes of retained and queued messages [64]
  RECOVERY_SYNC     Starling's persistence_sync in the recovery part [interval]
  RETAINED_MEMORY   Starling's persistence_retained_memory (e.g. 64mb, 0 = no limit); empty = its default []
  STOP_GRACE        seconds a broker gets to exit after SIGTERM before SIGKILL [10]
  SETTLE            pause between runs, seconds [1]
  BIN_DIR           where starling and starling_bench are [build/release/bin]
  STARLING_BIN, BENCH_BIN, MOSQUITTO_BIN, PYTHON   override single binaries
EOF
}

# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
parse_out_args "$REPO/build/bench/persistence.md" "$@"

SCALE=${SCALE:-1}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
SCENARIOS=${SCENARIOS-fanin1 pairs1 fanin1@50000 pairs1@50000}
CONFIGS=${CONFIGS-none interval always mosquitto}
RETAINED_MEMORY=${RETAINED_MEMORY:-}
SYNC_INTERVAL=${SYNC_INTERVAL:-100}
FANIN_PUBS=${FANIN_PUBS:-8}
FANOUT_SUBS=${FANOUT_SUBS:-20}
PAIRS=${PAIRS:-20}
PAYLOAD=${PAYLOAD:-64}
WINDOW=${WINDOW-1048576}
OUTSTANDING=${OUTSTANDING-1000}
BENCH_THREADS=${BENCH_THREADS:-2}
STARLING_THREADS=${STARLING_THREADS:-0}
MAX_INFLIGHT=${MAX_INFLIGHT:-0}
MAX_QUEUED=${MAX_QUEUED:-0}
PROTOCOL=${PROTOCOL:-mqttv311}
GOAL=${GOAL:-50000}
RECOVERY=${RECOVERY:-1}
RECOVERY_BROKERS=${RECOVERY_BROKERS-starling mosquitto}
RETAINED=${RETAINED:-100000}
SESSIONS=${SESSIONS:-1000}
QUEUED=${QUEUED:-3}
RECOVERY_PAYLOAD=${RECOVERY_PAYLOAD:-64}
RECOVERY_SYNC=${RECOVERY_SYNC:-interval}
STOP_GRACE=${STOP_GRACE:-10}
SETTLE=${SETTLE:-1}
BIN_DIR=${BIN_DIR:-$REPO/build/release/bin}
STARLING_BIN=${STARLING_BIN:-$BIN_DIR/starling}
BENCH_BIN=${BENCH_BIN:-$BIN_DIR/starling_bench}
MOSQUITTO_BIN=${MOSQUITTO_BIN:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}
PYTHON=${PYTHON:-$(command -v python3 || echo python3)}

die() { echo "persistence.sh: $*" >&2; exit 1; }
needs_mosquitto=0
[[ " $CONFIGS $RECOVERY_BROKERS " == *" mosquitto "* ]] && needs_mosquitto=1
for b in "$STARLING_BIN" "$BENCH_BIN"; do [[ -x $b ]] || die "not executable: $b"; done
((needs_mosquitto == 0)) || [[ -x $MOSQUITTO_BIN ]] || die "not executable: $MOSQUITTO_BIN"
command -v "$PYTHON" >/dev/null || die "needs python3"
command -v ss >/dev/null || die "needs ss (iproute2)"
awk -v s="$SCALE" 'BEGIN { exit !(s > 0) }' || die "SCALE must be > 0"
for v in RETAINED SESSIONS QUEUED GOAL SYNC_INTERVAL; do [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number"; done
"$BENCH_BIN" --help | grep -q -- --persistent || die "$BENCH_BIN has no --persistent (rebuild starling_bench)"

scaled() {
    awk -v d="$1" -v s="$SCALE" -v w="$WARMUP" 'BEGIN { x = d * s; if (x < w + 1) x = w + 1; printf "%g", x }'
}
MSG_SECS=$(scaled "$DURATION")

# Work directory: configs, logs, stores, bench output. Binaries are copied so that a rebuild during the run
# cannot swap them between runs.
WORK=$(dirname "$OUT")/persistence-logs
mkdir -p "$WORK"
rm -rf "$WORK"/*.conf "$WORK"/*.log "$WORK"/*.json "$WORK"/*.err "$WORK"/store.*
STARLING_MTIME=$(date -u -r "$STARLING_BIN" +'%Y-%m-%d %H:%M')
cp "$STARLING_BIN" "$WORK/starling.bin"
cp "$BENCH_BIN" "$WORK/starling_bench.bin"
cp "$REPO/bench/persistence_helper.py" "$REPO/bench/mqtt_wire.py" "$WORK/"
STARLING=$WORK/starling.bin
BENCH=$WORK/starling_bench.bin
HELPER=$WORK/persistence_helper.py
MOSQUITTO=$MOSQUITTO_BIN

# ---------------------------------------------------------------------------------------------------------
# Process handling: every process we start is tracked by PID and stopped by PID.

BROKER_PID=""
CHILD_PID=""
cleanup() {
    # shellcheck disable=SC2086  # empty PIDs vanish
    stop_pids $CHILD_PID $BROKER_PID
    CHILD_PID=""
    BROKER_PID=""
}
trap 'cleanup; rm -f "$STARLING" "$BENCH"' EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# Runs a bounded child (timeout) in the background so that the traps can stop it; returns its status.
run_child() {  # seconds stdout-file stderr-file command...
    local secs=$1 out=$2 err=$3 rc=0
    shift 3
    timeout -k 5 "$secs" "$@" >"$out" 2>"$err" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    return "$rc"
}

# free_port, wait_listen, cpu_secs, status_kb
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# Stops the broker by PID; sets STOP_SECS and STOP_NOTE ("" when it exited 0 within STOP_GRACE).
stop_broker() {
    local t0 brc=0 c0 c1
    STOP_SECS=""
    STOP_NOTE=""
    [[ -n $BROKER_PID ]] || return 0
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
        wait "$BROKER_PID" || brc=$?
        STOP_NOTE="BROKER DIED (exit status $brc)"
        BROKER_PID=""
        return 0
    fi
    c0=$(cpu_secs "$BROKER_PID")
    t0=$EPOCHREALTIME
    kill -TERM "$BROKER_PID" 2>/dev/null || true
    while kill -0 "$BROKER_PID" 2>/dev/null && (($(elapsed "$t0" "$EPOCHREALTIME" | cut -d. -f1) < STOP_GRACE)); do
        sleep 0.01
    done
    if kill -0 "$BROKER_PID" 2>/dev/null; then
        c1=$(cpu_secs "$BROKER_PID")
        STOP_NOTE="did not exit within ${STOP_GRACE}s of SIGTERM, killed ($(awk -v a="$c0" -v b="$c1" 'BEGIN {
            if (b - a > 0.5) printf "busy: %.1f s CPU during the grace period", b - a; else print "idle" }'))"
        kill -KILL "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
    else
        wait "$BROKER_PID" || brc=$?
        STOP_SECS=$(elapsed "$t0" "$EPOCHREALTIME")
        ((brc == 0)) || STOP_NOTE="exit status $brc after SIGTERM"
    fi
    BROKER_PID=""
}

write_config() {  # config(none|interval|always|mosquitto) port store-dir file [extra log types...]
    local cfg=$1 port=$2 dir=$3 file=$4
    shift 4
    {
        echo "# generated by bench/persistence.sh"
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
        for t in "$@"; do echo "log_type $t"; done
        echo "persistence true"
        if [[ $cfg == mosquitto ]]; then
            echo "persistence_location $dir/"  # Mosquitto appends the file name to it as it is
            echo "set_tcp_nodelay true"
            echo "connection_messages false"
            if [[ $EUID -eq 0 ]]; then echo "user root"; fi  # else it drops privileges to 'mosquitto'
        else
            echo "persistence_location $dir"
            echo "persistence_sync $cfg"
            echo "persistence_sync_interval $SYNC_INTERVAL"
            echo "worker_threads $STARLING_THREADS"
            echo "output_limit 0 0 0"  # never drop QoS 0 for slow consumers (Mosquitto has no such limit)
            [[ -z $RETAINED_MEMORY ]] || echo "persistence_retained_memory $RETAINED_MEMORY"
        fi
    } >"$file"
}

start_broker() {  # config conf-file log-file
    if [[ $1 == mosquitto ]]; then
        "$MOSQUITTO" -c "$2" >"$3" 2>&1 &
    else
        "$STARLING" -c "$2" >"$3" 2>&1 &
    fi
    BROKER_PID=$!
}

config_label() {
    case $1 in
        mosquitto) echo "Mosquitto, persistence true" ;;
        interval) echo "Starling, sync interval (${SYNC_INTERVAL} ms)" ;;
        *) echo "Starling, sync $1" ;;
    esac
}

# ---------------------------------------------------------------------------------------------------------
# Results: R[config.scenario.field], Q[broker.field] for the recovery part

declare -A R Q
ANOMALIES=()
note() {  # config scenario text
    R[$1.$2.notes]+="${R[$1.$2.notes]:+; }$3"
    ANOMALIES+=("$2 / $(config_label "$1"): $3")
}
qnote() {  # broker text
    Q[$1.notes]+="${Q[$1.notes]:+; }$2"
    ANOMALIES+=("recovery / $1: $2")
}

# A field of a one-line JSON object; null reads as empty.
jget() { sed -n "s/.*\"$2\": *\"\{0,1\}\([^,\"}]*\)\"\{0,1\}[,}].*/\1/p" <<<"$1" | head -n1 | grep -vx null || true; }

scenario_args() {  # id -> "kind qos count rate" (rate 0 = flood)
    local id=$1 kind qos rate
    [[ $id =~ ^(fanin|fanout|pairs)([12])(@([0-9]+))?$ ]] ||
        die "unknown scenario '$id' (fanin|fanout|pairs + QoS 1 or 2 [+ @RATE])"
    kind=${BASH_REMATCH[1]}
    qos=${BASH_REMATCH[2]}
    rate=${BASH_REMATCH[4]:-0}
    case $kind in
        fanin) echo "fanin $qos $FANIN_PUBS $rate" ;;
        fanout) echo "fanout $qos $FANOUT_SUBS $rate" ;;
        pairs) echo "pairs $qos $PAIRS $rate" ;;
    esac
}

scenario_title() {
    local kind=$1 qos=$2 n=$3 rate=$4 load
    if ((rate > 0)); then load="$rate msg/s offered"; else load="flood"; fi
    case $kind in
        fanin) echo "fan-in QoS $qos: $n publishers -> 1 persistent subscriber on bench/#, ${PAYLOAD} B, $load, ${MSG_SECS}s" ;;
        fanout) echo "fan-out QoS $qos: 1 publisher -> $n persistent subscribers on bench/#, ${PAYLOAD} B, $load, ${MSG_SECS}s" ;;
        pairs) echo "pairs QoS $qos: $n publishers, each with a persistent subscriber on bench/i, ${PAYLOAD} B, $load, ${MSG_SECS}s" ;;
    esac
}

sys_value() {  # port topic [at-least] -> value or "" (waits up to 4 s for it to reach at-least)
    local line
    line=$(timeout -k 2 8 "$PYTHON" "$HELPER" syscount --port "$1" --topic "$2" --at-least "${3:-0}" --timeout 4 \
        2>/dev/null || true)
    jget "$line" value | grep -E '^[0-9]+$' || true
}

run_throughput() {  # config scenario-id
    local cfg=$1 id=$2 kind qos count rate port conf log json err dir rc=0 line
    read -r kind qos count rate <<<"$(scenario_args "$id")"
    port=$(free_port)
    conf=$WORK/$id.$cfg.conf
    log=$WORK/$id.$cfg.log
    json=$WORK/$id.$cfg.json
    err=$WORK/$id.$cfg.err
    dir=$WORK/store.$id.$cfg
    rm -rf "$dir"
    mkdir -p "$dir"
    write_config "$cfg" "$port" "$dir" "$conf"
    R[$cfg.$id.ran]=1

    start_broker "$cfg" "$conf" "$log"
    if ! wait_listen "$port" "$BROKER_PID"; then
        note "$cfg" "$id" "broker did not start (see $log)"
        cleanup
        return 0
    fi
    R[$cfg.$id.rss0]=$(status_kb "$BROKER_PID" VmRSS)
    echo "[$(date +%T)] $id / $(config_label "$cfg") (port $port, pid $BROKER_PID): $(scenario_title "$kind" "$qos" "$count" "$rate")" >&2

    local args=("$kind" -h 127.0.0.1 -p "$port" -q "$qos" -s "$PAYLOAD" -n "$count" --duration "$MSG_SECS"
        --warmup "$WARMUP" --threads "$BENCH_THREADS" -V "$PROTOCOL" --persistent)
    if ((rate > 0)); then
        args+=(--rate "$rate")
    else
        [[ -n $WINDOW ]] && args+=(--window "$WINDOW")
        [[ -n $OUTSTANDING ]] && args+=(--outstanding "$OUTSTANDING")
    fi
    # The bench stops itself after MSG_SECS + up to 3 s of drain; the timeout is a safety net only.
    run_child "$(awk -v s="$MSG_SECS" 'BEGIN { printf "%d", s + 30 }')" "$json" "$err" "$BENCH" "${args[@]}" || rc=$?

    if kill -0 "$BROKER_PID" 2>/dev/null; then
        R[$cfg.$id.hwm]=$(status_kb "$BROKER_PID" VmHWM)
        R[$cfg.$id.cpu]=$(cpu_secs "$BROKER_PID")
        # shellcheck disable=SC2016
        R[$cfg.$id.dropped]=$(sys_value "$port" '$SYS/broker/publish/messages/dropped')
        # shellcheck disable=SC2016
        R[$cfg.$id.held]=$(sys_value "$port" '$SYS/broker/store/messages/count')
    fi
    stop_broker
    [[ -z $STOP_NOTE ]] || note "$cfg" "$id" "$STOP_NOTE (see $log)"
    R[$cfg.$id.stop]=$STOP_SECS
    R[$cfg.$id.store]=$(du -sb "$dir" 2>/dev/null | cut -f1)
    rm -rf "$dir"

    line=$(grep -m1 '^{"scenario"' "$json" || true)
    if [[ $rc -ne 0 || -z $line ]]; then
        note "$cfg" "$id" "starling_bench failed (exit $rc): $(tail -n 2 "$err" | tr '\n' ' ')"
        return 0
    fi
    local f
    for f in connected sent received window_secs rate drained lost lost_acked unacked rejected duplicates \
        out_of_order p50 p99 max; do
        R[$cfg.$id.$f]=$(jget "$line" "$f")
    done
    # Publishing runs from the bench's 0.5 s settle to the end of --duration; the drain ends when everything
    # arrived (or after 3 s). Delivered msg/s including the drain = all received / (publishing + drain).
    local drain
    drain=$(sed -n 's/^\[drain\] \([0-9.]*\)s.*/\1/p' "$err")
    R[$cfg.$id.pubrate]=$(awk -v n="${R[$cfg.$id.sent]}" -v d="$MSG_SECS" 'BEGIN { printf "%.0f", n / (d - 0.5) }')
    R[$cfg.$id.total]=$(awk -v n="${R[$cfg.$id.received]}" -v d="$MSG_SECS" -v x="${drain:-3}" \
        'BEGIN { printf "%.0f", n / (d - 0.5 + x) }')

    local conn_expect=$count lost_acked=${R[$cfg.$id.lost_acked]:-0}
    case $kind in fanin | fanout) conn_expect=$((count + 1)) ;; pairs) conn_expect=$((count * 2)) ;; esac
    ((${R[$cfg.$id.connected]:-0} >= conn_expect)) || note "$cfg" "$id" "only ${R[$cfg.$id.connected]:-0} of $conn_expect clients connected"
    ((${R[$cfg.$id.received]:-0} > 0)) || note "$cfg" "$id" "no message received"
    if ((lost_acked > 0)); then
        note "$cfg" "$id" "$lost_acked acknowledged messages not received by the end of the 3 s drain (\$SYS afterwards: dropped ${R[$cfg.$id.dropped]:-?}, still queued ${R[$cfg.$id.held]:-?})"
    fi
    ((${R[$cfg.$id.rejected]:-0} == 0)) || note "$cfg" "$id" "${R[$cfg.$id.rejected]} publishes refused (v5 reason code >= 0x80)"
    ((${R[$cfg.$id.duplicates]:-0} == 0)) || note "$cfg" "$id" "${R[$cfg.$id.duplicates]} duplicates"
    ((${R[$cfg.$id.out_of_order]:-0} == 0)) || note "$cfg" "$id" "${R[$cfg.$id.out_of_order]} out of order"
    local dropped=${R[$cfg.$id.dropped]:-0}
    [[ $dropped =~ ^[0-9]+$ ]] && ((dropped > 0)) && note "$cfg" "$id" "broker reports $dropped dropped messages (\$SYS)"
    return 0
}

run_recovery() {  # broker (starling|mosquitto)
    local b=$1 cfg port conf log log2 dir line t0 rc=0
    cfg=$([[ $b == mosquitto ]] && echo mosquitto || echo "$RECOVERY_SYNC")
    port=$(free_port)
    conf=$WORK/recovery.$b.conf
    log=$WORK/recovery.$b.log
    log2=$WORK/recovery.$b.restart.log
    dir=$WORK/store.recovery.$b
    rm -rf "$dir"
    mkdir -p "$dir"
    # Starling logs "Restored ..." at information level.
    if [[ $b == starling ]]; then write_config "$cfg" "$port" "$dir" "$conf" information; else write_config "$cfg" "$port" "$dir" "$conf"; fi
    Q[$b.ran]=1
    start_broker "$cfg" "$conf" "$log"
    if ! wait_listen "$port" "$BROKER_PID"; then
        qnote "$b" "broker did not start (see $log)"
        cleanup
        return 0
    fi
    echo "[$(date +%T)] recovery / $b (port $port, pid $BROKER_PID): filling $RETAINED retained, $SESSIONS sessions x $QUEUED queued" >&2
    local fill_secs=$((120 + RETAINED / 2000 + SESSIONS / 20))
    run_child "$fill_secs" "$WORK/recovery.$b.fill.json" "$WORK/recovery.$b.fill.err" "$PYTHON" "$HELPER" fill \
        --port "$port" --retained "$RETAINED" --sessions "$SESSIONS" --queued "$QUEUED" --payload "$RECOVERY_PAYLOAD" \
        --timeout "$fill_secs" || rc=$?
    line=$(head -n1 "$WORK/recovery.$b.fill.json" 2>/dev/null || true)
    if [[ $rc -ne 0 ]]; then
        qnote "$b" "fill failed (exit $rc): $line $(tail -n 2 "$WORK/recovery.$b.fill.err" | tr '\n' ' ')"
        stop_broker
        return 0
    fi
    local f
    for f in sessions_secs queued_secs retained_secs retained_per_sec; do Q[$b.fill_$f]=$(jget "$line" "$f"); done
    # Both brokers count their own retained $SYS topics too, hence "at least".
    # shellcheck disable=SC2016
    Q[$b.sys_retained]=$(sys_value "$port" '$SYS/broker/retained messages/count' "$RETAINED")
    Q[$b.rss_before]=$(status_kb "$BROKER_PID" VmRSS)
    stop_broker
    [[ -z $STOP_NOTE ]] || qnote "$b" "first stop: $STOP_NOTE (see $log)"
    Q[$b.stop]=$STOP_SECS
    Q[$b.store]=$(du -sb "$dir" | cut -f1)
    Q[$b.files]=$(find "$dir" -type f | wc -l)

    # Restart: time from exec to the "Restored" line and to the first CONNACK.
    sleep "$SETTLE"
    t0=$EPOCHREALTIME
    start_broker "$cfg" "$conf" "$log2"
    local mt=$((60 + RETAINED / 5000 + SESSIONS / 100))
    rc=0
    run_child "$((mt + 10))" "$WORK/recovery.$b.measure.json" "$WORK/recovery.$b.measure.err" "$PYTHON" "$HELPER" \
        measure --port "$port" --t0 "$t0" --log "$([[ $b == starling ]] && echo "$log2")" --pid "$BROKER_PID" \
        --timeout "$mt" || rc=$?
    line=$(head -n1 "$WORK/recovery.$b.measure.json" 2>/dev/null || true)
    for f in restored_secs listen_secs connack_secs; do Q[$b.$f]=$(jget "$line" "$f"); done
    Q[$b.restored_line]=$(sed -n 's/.*"restored_line": "\([^"]*\)".*/\1/p' <<<"$line")
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
        qnote "$b" "broker exited during recovery (see $log2)"
        stop_broker
        return 0
    fi
    [[ -n ${Q[$b.connack_secs]} ]] || qnote "$b" "no CONNACK within ${mt}s of the restart ($line)"
    [[ $b != starling || -n ${Q[$b.restored_secs]} ]] || qnote "$b" "no \"Restored\" line in $log2"
    Q[$b.rss_after]=$(status_kb "$BROKER_PID" VmRSS)
    Q[$b.hwm_after]=$(status_kb "$BROKER_PID" VmHWM)
    Q[$b.cpu_start]=$(cpu_secs "$BROKER_PID")

    # What came back: every session (session present, its queued messages), every retained message.
    echo "[$(date +%T)] recovery / $b: restarted, checking sessions and retained messages" >&2
    rc=0
    local vt=$((60 + RETAINED / 2000 + SESSIONS / 20))
    run_child "$((vt + 10))" "$WORK/recovery.$b.verify.json" "$WORK/recovery.$b.verify.err" "$PYTHON" "$HELPER" verify \
        --port "$port" --retained "$RETAINED" --sessions "$SESSIONS" --queued "$QUEUED" --timeout "$vt" || rc=$?
    line=$(head -n1 "$WORK/recovery.$b.verify.json" 2>/dev/null || true)
    ((rc == 0)) || qnote "$b" "check failed (exit $rc): $line"
    for f in sessions_present queued_received retained_received sessions_secs retained_secs; do Q[$b.v_$f]=$(jget "$line" "$f"); done
    ((${Q[$b.v_sessions_present]:-0} == SESSIONS)) || qnote "$b" "only ${Q[$b.v_sessions_present]:-0} of $SESSIONS sessions present after the restart"
    ((${Q[$b.v_queued_received]:-0} == SESSIONS * QUEUED)) || qnote "$b" "only ${Q[$b.v_queued_received]:-0} of $((SESSIONS * QUEUED)) queued messages delivered after the restart"
    ((${Q[$b.v_retained_received]:-0} == RETAINED)) || qnote "$b" "only ${Q[$b.v_retained_received]:-0} of $RETAINED retained messages delivered after the restart"
    Q[$b.rss_verify]=$(status_kb "$BROKER_PID" VmHWM)
    stop_broker
    [[ -z $STOP_NOTE ]] || qnote "$b" "second stop: $STOP_NOTE (see $log2)"
    rm -rf "$dir"
    return 0
}

# ---------------------------------------------------------------------------------------------------------
# Formatting

num() {  # thousands separators, empty -> "-"
    [[ -z ${1:-} ]] && { echo "-"; return; }
    awk -v x="$1" 'BEGIN { s = sprintf("%.0f", x); n = length(s); o = "";
        for (i = 1; i <= n; i++) { o = o substr(s, i, 1); if ((n - i) % 3 == 0 && i < n) o = o "," } print o }'
}
mib() { [[ -z ${1:-} ]] && { echo "-"; return; }; awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
mib_b() { [[ -z ${1:-} ]] && { echo "-"; return; }; awk -v k="$1" 'BEGIN { printf "%.1f", k / 1048576 }'; }
secs() { [[ -z ${1:-} ]] && { echo "-"; return; }; awk -v s="$1" 'BEGIN { printf "%.3f s", s }'; }
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
latency() {
    [[ -z ${1:-} ]] && { echo "-"; return; }
    awk -v u="$1" 'BEGIN { if (u >= 1e6) printf "%.2f s", u / 1e6; else if (u >= 1e3) printf "%.1f ms", u / 1e3; else printf "%d us", u }'
}

throughput_table() {  # scenario-id
    local id=$1 kind qos count rate c m=mosquitto
    read -r kind qos count rate <<<"$(scenario_args "$id")"
    echo
    echo "### $(scenario_title "$kind" "$qos" "$count" "$rate")"
    echo
    echo "| broker | delivered msg/s while publishing | ratio to Mosquitto | delivered msg/s incl. drain | published msg/s | p50 | p99 | max | lost_acked / unacked | dup / ooo | peak RSS MiB | CPU s | stop s | store after, MiB | notes |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    for c in $CONFIGS; do
        local a=${R[$c.$id.p50]:-} b=${R[$c.$id.p99]:-} x=${R[$c.$id.max]:-} notes=${R[$c.$id.notes]:-ok}
        [[ ${R[$c.$id.max]:-0} == 0 ]] && a="" b="" x=""
        [[ -n ${R[$c.$id.ran]:-} ]] || notes="not run"
        echo "| $(config_label "$c") | $(num "${R[$c.$id.rate]:-}") | $(ratio "${R[$c.$id.rate]:-}" "${R[$m.$id.rate]:-}") | $(num "${R[$c.$id.total]:-}") | $(num "${R[$c.$id.pubrate]:-}") | $(latency "$a") | $(latency "$b") | $(latency "$x") | $(num "${R[$c.$id.lost_acked]:-}") / $(num "${R[$c.$id.unacked]:-}") | $(num "${R[$c.$id.duplicates]:-}") / $(num "${R[$c.$id.out_of_order]:-}") | $(mib "${R[$c.$id.hwm]:-}") | ${R[$c.$id.cpu]:--} | ${R[$c.$id.stop]:--} | $(mib_b "${R[$c.$id.store]:-}") | $notes |"
    done
}

goal_lines() {
    local id kind qos count rate r verdict
    [[ " $CONFIGS " == *" interval "* ]] || { echo "- goal not evaluated: CONFIGS has no 'interval'"; return; }
    for id in $SCENARIOS; do
        read -r kind qos count rate <<<"$(scenario_args "$id")"
        ((qos == 1)) || continue
        r=${R[interval.$id.rate]:-}
        if [[ -z $r ]]; then
            verdict="no result"
        elif ((rate > 0)); then
            # Offered load: met when the broker delivers 95 % of it while publishing and loses nothing acknowledged.
            if awk -v r="$r" -v o="$rate" -v g="$GOAL" 'BEGIN { exit !(r >= 0.95 * o && o >= g) }' &&
                ((${R[interval.$id.lost_acked]:-1} == 0)); then
                verdict="met: $rate msg/s offered, $(num "$r") delivered, p99 $(latency "${R[interval.$id.p99]:-}")"
            else
                verdict="NOT met: $rate msg/s offered, $(num "$r") delivered while publishing, p99 $(latency "${R[interval.$id.p99]:-}"), lost_acked $(num "${R[interval.$id.lost_acked]:-}")"
            fi
        else
            if awk -v r="$r" -v g="$GOAL" 'BEGIN { exit !(r >= g) }'; then
                verdict="met: $(num "$r") msg/s delivered while publishing"
            else
                verdict="NOT met: $(num "$r") msg/s delivered while publishing ($(num "${R[interval.$id.total]:-}") including the drain)"
            fi
        fi
        echo "- $id: $verdict"
    done
}

recovery_table() {
    local b brokers=()
    for b in $RECOVERY_BROKERS; do brokers+=("$b"); done
    echo
    echo "### Recovery: $(num "$RETAINED") retained messages, $(num "$SESSIONS") persistent sessions x $QUEUED queued QoS 1 messages, ${RECOVERY_PAYLOAD} B payloads"
    echo
    local hdr="|" sep="|---|"
    for b in "${brokers[@]}"; do
        if [[ $b == starling ]]; then hdr+=" | Starling (sync $RECOVERY_SYNC)"; else hdr+=" | Mosquitto (persistence true)"; fi
        sep+="---:|"
    done
    echo "$hdr |"
    echo "$sep"
    qrow() {  # label field-formatter...
        local label=$1 line
        shift
        line="| $label"
        for b in "${brokers[@]}"; do line+=" | $("$@" "$b")"; done
        echo "$line |"
    }
    f_fill() { echo "$(secs "${Q[$1.fill_sessions_secs]:-}") / $(secs "${Q[$1.fill_queued_secs]:-}") / $(secs "${Q[$1.fill_retained_secs]:-}")"; }
    f_rate() { num "${Q[$1.fill_retained_per_sec]:-}"; }
    f_sys() { num "${Q[$1.sys_retained]:-}"; }
    f_rss_before() { mib "${Q[$1.rss_before]:-}"; }
    f_stop() { secs "${Q[$1.stop]:-}"; }
    f_store() { echo "$(mib_b "${Q[$1.store]:-}") ($(num "${Q[$1.store]:-}") B, ${Q[$1.files]:--} files)"; }
    f_restored() { secs "${Q[$1.restored_secs]:-}"; }
    f_listen() { secs "${Q[$1.listen_secs]:-}"; }
    f_connack() { secs "${Q[$1.connack_secs]:-}"; }
    f_rss() { echo "$(mib "${Q[$1.rss_after]:-}") (peak $(mib "${Q[$1.hwm_after]:-}"))"; }
    f_cpu() { echo "${Q[$1.cpu_start]:--}"; }
    f_verify() { echo "$(num "${Q[$1.v_sessions_present]:-}") / $(num "${Q[$1.v_queued_received]:-}") / $(num "${Q[$1.v_retained_received]:-}")"; }
    f_vtime() { echo "$(secs "${Q[$1.v_sessions_secs]:-}") / $(secs "${Q[$1.v_retained_secs]:-}")"; }
    f_peak() { mib "${Q[$1.rss_verify]:-}"; }
    f_notes() { local n=${Q[$1.notes]:-ok}; [[ -n ${Q[$1.ran]:-} ]] || n="not run"; echo "$n"; }
    qrow "fill: sessions / queued / retained (s)" f_fill
    qrow "fill: retained msg/s (QoS 0, one connection)" f_rate
    qrow "\$SYS retained count before stop (incl. \$SYS)" f_sys
    qrow "RSS before stop, MiB" f_rss_before
    qrow "SIGTERM -> exit" f_stop
    qrow "store on disk (du -sb)" f_store
    qrow "restart: \"Restored\" line after" f_restored
    qrow "restart: listening after" f_listen
    qrow "restart: first CONNACK after" f_connack
    qrow "RSS after recovery, MiB" f_rss
    qrow "CPU s used by start-up" f_cpu
    qrow "after restart: sessions present / queued received / retained received" f_verify
    qrow "time to receive them: sessions / retained" f_vtime
    qrow "peak RSS after the check, MiB" f_peak
    qrow "notes" f_notes
    for b in "${brokers[@]}"; do
        [[ -n ${Q[$b.restored_line]:-} ]] && echo && echo "Starling's log: \`${Q[$b.restored_line]}\`"
    done
    return 0
}

# ---------------------------------------------------------------------------------------------------------

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u +'%Y-%m-%d %H:%M:%S UTC')
t_start=$SECONDS
for id in $SCENARIOS; do scenario_args "$id" >/dev/null; done
for c in $CONFIGS; do
    [[ $c =~ ^(none|interval|always|mosquitto)$ ]] || die "unknown config '$c' (none interval always mosquitto)"
done
for b in $RECOVERY_BROKERS; do [[ $b == starling || $b == mosquitto ]] || die "unknown broker '$b'"; done
first=1
for id in $SCENARIOS; do
    for c in $CONFIGS; do
        ((first)) || sleep "$SETTLE"
        first=0
        run_throughput "$c" "$id"
    done
done
if [[ $RECOVERY == 1 ]]; then
    for b in $RECOVERY_BROKERS; do
        ((first)) || sleep "$SETTLE"
        first=0
        run_recovery "$b"
    done
fi
ELAPSED=$((SECONDS - t_start))

GIT_REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -n $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]] && GIT_REV+=" (working tree modified)"
mkdir -p "$(dirname "$OUT")"
{
    echo "## Persistence ($START)"
    echo
    echo "- $("$STARLING" --version 2>&1 | head -n1) (git $GIT_REV, binary of $STARLING_MTIME UTC), worker_threads $STARLING_THREADS (0 = one per core); $("$MOSQUITTO" -h 2>&1 | head -n1 || true)"
    echo "- $(nproc) cores, load average before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg); total ${ELAPSED}s; stores in \`$WORK\` ($(df -T "$WORK" | awk 'NR == 2 { print $2 }'))"
    echo "- starling_bench --persistent --threads $BENCH_THREADS -V $PROTOCOL, warmup ${WARMUP}s, payload ${PAYLOAD} B, flood window ${WINDOW:-default}; both brokers: max_inflight_messages $MAX_INFLIGHT, max_queued_messages $MAX_QUEUED, max_queued_bytes 0 (0 = unlimited), one fresh broker and empty store per run; Mosquitto with its default autosave_interval (1800 s, so it writes its store at shutdown)"
    if [[ -n $SCENARIOS && -n $CONFIGS ]]; then
        echo "- delivered msg/s while publishing = starling_bench's \`rate\`; incl. drain = everything received / (publishing time + drain, up to 3 s); published = messages the publishers sent / publishing time (flood publishers keep at most 1000 unacknowledged each, so this is close to the rate the broker acknowledged). lost_acked = acknowledged by the broker and not received by the end of the drain (dropped, or still queued: see the notes); unacked = not acknowledged when the run ended. Latency is publish-to-receive. CPU is the broker's user+sys for the run; stop = SIGTERM to exit; store after = du -sb of the store directory after the broker exited."
        for id in $SCENARIOS; do throughput_table "$id"; done
        echo
        echo "Goal (issue 6): with persistence_sync interval, at least $(num "$GOAL") persistent QoS 1 msg/s delivered:"
        echo
        goal_lines
    fi
    if [[ $RECOVERY == 1 ]]; then
        recovery_table
        echo
        echo "Fill: sessions connect with clean session 0 and subscribe (200 at a time), then one client publishes the queued QoS 1 messages, then one client writes the retained messages as QoS 0 in batches of 4096 with the last one QoS 1 (its PUBACK ends the fill). Restart times run from the exec of the broker; the log and the port are polled every 2 ms. The check reconnects every session with clean session 0 and subscribes a new client to persist/retained/#."
    fi
    echo
    if ((${#ANOMALIES[@]})); then
        echo "### Anomalies"
        echo
        for a in "${ANOMALIES[@]}"; do echo "- $a"; done
    else
        echo "No anomalies: every client connected, nothing acknowledged was lost, no duplicates, no reordering, everything came back after the restart."
    fi
    echo
    echo "Configs, broker logs and raw output: \`$WORK\`"
} >"$OUT"
cat "$OUT"
