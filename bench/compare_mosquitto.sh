#!/usr/bin/env bash
# Starling vs Mosquitto under the same starling_bench scenarios, one broker loaded at a time.
#
# For every scenario and broker: start the broker on a free loopback port with an equivalent config, run
# starling_bench against it, read the broker's peak RSS (VmHWM) and CPU time from /proc and its own drop
# counter from $SYS, stop it by PID. Prints one table per scenario and writes the same markdown to --out.
# See docs/benchmarks.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    cat <<EOF
Usage: bench/compare_mosquitto.sh [--out FILE] [--help]

Runs starling_bench scenarios against Starling and Mosquitto, one after the other, and prints a table per
scenario (msg/s, latency, lost/dup, peak RSS, CPU time, ratio starling/mosquitto).

  --out FILE   markdown report (default: build/bench/compare.md)

Environment (defaults in brackets):
  SCALE             multiplies every duration, e.g. 0.4 for a ~1 min smoke run, 3 for longer runs [1]
  DURATION          seconds per message scenario, before SCALE [6]
  CONN_DURATION     seconds the conn scenario holds its connections, before SCALE [5]
  WARMUP            seconds not measured at the start of each run [1]
  SCENARIOS         conn, or fanin|fanout|pairs + QoS digit, optionally @RATE (total offered msg/s; without
                    it the publishers flood): e.g. fanin0 pairs1@20000
                    [fanin0 fanin1 fanout0 pairs1 conn fanout0@2000 pairs1@20000]
  BROKERS           [starling mosquitto]
  FANIN_PUBS [8]  FANOUT_SUBS [50]  PAIRS [50]  CONNS [2000]  PAYLOAD bytes [64]
  RATE              offered msg/s for message scenarios that have no @RATE; empty = flood []
  WINDOW            flood: bytes queued per publisher (starling_bench --window); empty = bench default
                    (1 MiB; see the note in the script) [1048576]
  BENCH_THREADS     starling_bench --threads [2]
  STARLING_THREADS  Starling worker_threads, 0 = one per core [0; 1 with PIN=1]
  PIN               1: the broker on core 0 and starling_bench on core 1 (taskset), so the numbers say
                    what one core of broker does, as issue 9 measures [0]
  MAX_INFLIGHT      max_inflight_messages for both brokers, 0 = unlimited [0]
  MAX_QUEUED        max_queued_messages for both brokers, 0 = unlimited [0]
  PROTOCOL          mqttv311 or mqttv5 [mqttv311]
  STOP_GRACE        seconds a broker gets to exit after SIGTERM before SIGKILL [5]
  SETTLE            pause between runs, seconds [1]
  BIN_DIR           where starling and starling_bench are [build/release/bin]
  STARLING_BIN, BENCH_BIN, MOSQUITTO_BIN   override single binaries
EOF
}

OUT=$REPO/build/bench/compare.md
while (($#)); do
    case $1 in
        --out)
            [[ $# -ge 2 ]] || { echo "--out needs a file" >&2; exit 2; }
            OUT=$2
            shift 2
            ;;
        --out=*) OUT=${1#--out=}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done

SCALE=${SCALE:-1}
DURATION=${DURATION:-6}
CONN_DURATION=${CONN_DURATION:-5}
WARMUP=${WARMUP:-1}
SCENARIOS=${SCENARIOS:-fanin0 fanin1 fanout0 pairs1 conn fanout0@2000 pairs1@20000}
BROKERS=${BROKERS:-starling mosquitto}
FANIN_PUBS=${FANIN_PUBS:-8}
FANOUT_SUBS=${FANOUT_SUBS:-50}
PAIRS=${PAIRS:-50}
CONNS=${CONNS:-2000}
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
BENCH_THREADS=${BENCH_THREADS:-2}
PIN=${PIN:-0}
if [[ $PIN == 1 ]]; then
    STARLING_THREADS=${STARLING_THREADS:-1}
    BROKER_PIN=(taskset -c 0)
    BENCH_PIN=(taskset -c 1)
else
    STARLING_THREADS=${STARLING_THREADS:-0}
    BROKER_PIN=()
    BENCH_PIN=()
fi
MAX_INFLIGHT=${MAX_INFLIGHT:-0}
MAX_QUEUED=${MAX_QUEUED:-0}
PROTOCOL=${PROTOCOL:-mqttv311}
STOP_GRACE=${STOP_GRACE:-5}
SETTLE=${SETTLE:-1}
BIN_DIR=${BIN_DIR:-$REPO/build/release/bin}
STARLING_BIN=${STARLING_BIN:-$BIN_DIR/starling}
BENCH_BIN=${BENCH_BIN:-$BIN_DIR/starling_bench}
MOSQUITTO_BIN=${MOSQUITTO_BIN:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}

die() { echo "compare_mosquitto: $*" >&2; exit 1; }
for b in "$STARLING_BIN" "$BENCH_BIN" "$MOSQUITTO_BIN"; do [[ -x $b ]] || die "not executable: $b"; done
command -v ss >/dev/null || die "needs ss (iproute2)"
awk -v s="$SCALE" 'BEGIN { exit !(s > 0) }' || die "SCALE must be > 0"

# Durations after SCALE (starling_bench publishes for exactly --duration seconds, fractions included, and
# divides by the measured window). The measured window is duration - warmup: keep at least a second of it.
scaled() {
    awk -v d="$1" -v s="$SCALE" -v w="$WARMUP" 'BEGIN { x = d * s; if (x < w + 1) x = w + 1; printf "%g", x }'
}
MSG_SECS=$(scaled "$DURATION")
CONN_SECS=$(scaled "$CONN_DURATION")

# Work directory: configs, broker logs, bench output. Binaries are copied so that a rebuild during the run
# cannot swap them between scenarios.
WORK=$(dirname "$OUT")/compare-logs
mkdir -p "$WORK"
rm -f "$WORK"/*.conf "$WORK"/*.log "$WORK"/*.json "$WORK"/*.err "$WORK"/*.sys
STARLING_MTIME=$(date -u -r "$STARLING_BIN" +'%Y-%m-%d %H:%M')
cp "$STARLING_BIN" "$WORK/starling.bin"
cp "$BENCH_BIN" "$WORK/starling_bench.bin"
STARLING=$WORK/starling.bin
BENCH=$WORK/starling_bench.bin
MOSQUITTO=$MOSQUITTO_BIN

# Enough descriptors for CONNS clients (bench) and CONNS sessions (broker), both children of this shell.
need_fds=$((CONNS + 512))
if [[ $(ulimit -n) != unlimited ]] && (($(ulimit -n) < need_fds)); then
    ulimit -n "$need_fds" 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
    (($(ulimit -n) >= need_fds)) || echo "warning: ulimit -n is $(ulimit -n), CONNS=$CONNS may fail" >&2
fi

# ---------------------------------------------------------------------------------------------------------
# Process handling: every process we start is tracked by PID and stopped by PID.

BROKER_PID=""
BENCH_PID=""
cleanup() {
    local p
    for p in $BENCH_PID $BROKER_PID; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        fi
    done
    BENCH_PID=""
    BROKER_PID=""
}
trap 'cleanup; rm -f "$STARLING" "$BENCH"' EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# free_port, wait_listen, cpu_secs, status_kb
# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

write_config() {  # broker port file
    local broker=$1 port=$2 file=$3
    {
        echo "# generated by bench/compare_mosquitto.sh"
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
            echo "worker_threads $STARLING_THREADS"
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
# Results: R[broker.scenario.field]

declare -A R
ANOMALIES=()
note() {  # broker scenario text
    R[$1.$2.notes]+="${R[$1.$2.notes]:+; }$3"
    ANOMALIES+=("$2 / $1: $3")
}

jget() { sed -n "s/.*\"$2\":\([0-9.]*\).*/\1/p" <<<"$1"; }

scenario_args() {  # id -> "kind qos count seconds rate" (rate 0 = flood)
    local id=$1 kind qos rate
    if [[ $id == conn ]]; then
        echo "conn 0 $CONNS $CONN_SECS 0"
        return
    fi
    [[ $id =~ ^(fanin|fanout|pairs)([012])(@([0-9]+))?$ ]] ||
        die "unknown scenario '$id' (conn, or fanin|fanout|pairs + QoS 0..2 [+ @RATE])"
    kind=${BASH_REMATCH[1]}
    qos=${BASH_REMATCH[2]}
    rate=${BASH_REMATCH[4]:-${RATE:-0}}
    case $kind in
        fanin) echo "fanin $qos $FANIN_PUBS $MSG_SECS $rate" ;;
        fanout) echo "fanout $qos $FANOUT_SUBS $MSG_SECS $rate" ;;
        pairs) echo "pairs $qos $PAIRS $MSG_SECS $rate" ;;
    esac
}

scenario_title() {
    local kind=$1 qos=$2 n=$3 secs=$4 rate=${5:-0} load
    if ((rate > 0)); then
        load="$rate msg/s offered"
        [[ $kind == fanout ]] && load+=" (x$n deliveries)"
    else
        load="flood"
    fi
    case $kind in
        conn) echo "conn: $n clients connect at once and hold for ${secs}s" ;;
        fanin) echo "fanin QoS $qos: $n publishers -> 1 subscriber on bench/#, ${PAYLOAD} B, $load, ${secs}s" ;;
        fanout) echo "fanout QoS $qos: 1 publisher -> $n subscribers on bench/#, ${PAYLOAD} B, $load, ${secs}s" ;;
        pairs) echo "pairs QoS $qos: $n publisher/subscriber pairs on bench/i, ${PAYLOAD} B, $load, ${secs}s" ;;
    esac
}

run_one() {  # broker scenario-id
    local broker=$1 id=$2 kind qos count secs rate port conf log json err rc=0 line
    read -r kind qos count secs rate <<<"$(scenario_args "$id")"
    port=$(free_port)
    conf=$WORK/$id.$broker.conf
    log=$WORK/$id.$broker.log
    json=$WORK/$id.$broker.json
    err=$WORK/$id.$broker.err
    write_config "$broker" "$port" "$conf"
    R[$broker.$id.ran]=1

    if [[ $broker == starling ]]; then
        "${BROKER_PIN[@]}" "$STARLING" -c "$conf" >"$log" 2>&1 &
    else
        "${BROKER_PIN[@]}" "$MOSQUITTO" -c "$conf" >"$log" 2>&1 &
    fi
    BROKER_PID=$!
    if ! wait_listen "$port" "$BROKER_PID"; then
        note "$broker" "$id" "broker did not start (see $log)"
        cleanup
        return
    fi
    R[$broker.$id.rss0]=$(status_kb "$BROKER_PID" VmRSS)
    echo "[$(date +%T)] $id on $broker (port $port, pid $BROKER_PID): $(scenario_title "$kind" "$qos" "$count" "$secs" "$rate")" >&2

    local args=("$kind" -h 127.0.0.1 -p "$port" -q "$qos" -s "$PAYLOAD" -n "$count" --duration "$secs"
        --warmup "$WARMUP" --threads "$BENCH_THREADS" -V "$PROTOCOL")
    if ((rate > 0)); then
        args+=(--rate "$rate")
    elif [[ -n $WINDOW && $kind != conn ]]; then
        args+=(--window "$WINDOW")
    fi
    # The bench stops itself after secs + up to 3 s of drain; the timeout is a safety net only.
    timeout -k 5 "$(awk -v s="$secs" 'BEGIN { printf "%d", s + 30 }')" "${BENCH_PIN[@]}" "$BENCH" "${args[@]}" >"$json" 2>"$err" &
    BENCH_PID=$!
    wait "$BENCH_PID" || rc=$?
    BENCH_PID=""

    # Broker still alive? Then its peak memory, CPU time and own drop counter.
    if ! kill -0 "$BROKER_PID" 2>/dev/null; then
        local brc=0
        wait "$BROKER_PID" || brc=$?
        note "$broker" "$id" "BROKER DIED during the run (exit status $brc, see $log)"
        BROKER_PID=""
    else
        R[$broker.$id.hwm]=$(status_kb "$BROKER_PID" VmHWM)
        R[$broker.$id.cpu]=$(cpu_secs "$BROKER_PID")
        if command -v mosquitto_sub >/dev/null; then
            # Retained $SYS values, published every second by both brokers.
            # shellcheck disable=SC2016
            timeout 5 mosquitto_sub -h 127.0.0.1 -p "$port" -i "compare-sys-$$" -v -C 2 -W 4 \
                -t '$SYS/broker/publish/messages/dropped' -t '$SYS/broker/store/messages/count' \
                >"$WORK/$id.$broker.sys" 2>/dev/null || true
            R[$broker.$id.dropped]=$(awk '$1 ~ /dropped$/ { print $2 }' "$WORK/$id.$broker.sys")
            R[$broker.$id.held]=$(awk '$1 ~ /count$/ { print $2 }' "$WORK/$id.$broker.sys")
        fi
        # Stop by PID; a broker that ignores SIGTERM is an anomaly, not a reason to hang here.
        local t0=$SECONDS brc=0 c0 c1
        c0=$(cpu_secs "$BROKER_PID")
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        while kill -0 "$BROKER_PID" 2>/dev/null && ((SECONDS - t0 < STOP_GRACE)); do sleep 0.1; done
        if kill -0 "$BROKER_PID" 2>/dev/null; then
            c1=$(cpu_secs "$BROKER_PID")
            note "$broker" "$id" "did not exit within ${STOP_GRACE}s of SIGTERM, killed ($(awk -v a="$c0" -v b="$c1" 'BEGIN {
                if (b - a > 0.5) printf "busy: %.1f s CPU during the grace period", b - a; else print "idle: no CPU used while waiting" }'))"
            kill -KILL "$BROKER_PID" 2>/dev/null || true
            wait "$BROKER_PID" 2>/dev/null || true
        else
            wait "$BROKER_PID" || brc=$?
            ((brc == 0)) || note "$broker" "$id" "exit status $brc after SIGTERM"
        fi
        BROKER_PID=""
    fi

    line=$(grep -m1 '^{"scenario"' "$json" || true)
    if [[ $rc -ne 0 || -z $line ]]; then
        note "$broker" "$id" "starling_bench failed (exit $rc): $(tail -n 2 "$err" | tr '\n' ' ')"
        return
    fi
    local f
    # Summary fields (starling_bench --help); null (QoS 0 lost_acked / unacked) reads as empty.
    for f in connected sent received window_secs window_received rate drained lost lost_acked unacked rejected \
        duplicates out_of_order p50 p99 p999 max connect_p50_us connect_p99_us connect_max_us connect_secs \
        connects_per_sec; do
        R[$broker.$id.$f]=$(jget "$line" "$f")
    done
    # Cross-check of `rate`: mean of the per-second receive rates (line t covers second t-1..t) of the
    # whole seconds after the warmup.
    R[$broker.$id.steady]=$(awk -v w="$WARMUP" '
        match($0, /^\[ *[0-9]+s\]/) { t = substr($0, 2, RLENGTH - 3) + 0
            if (t - 1 >= w && match($0, /rate=[0-9]+/)) { sum += substr($0, RSTART + 5, RLENGTH - 5); n++ } }
        END { if (n) printf "%.0f", sum / n }' "$err")

    # Sanity of the counts.
    local conn_expect=$count
    case $kind in fanin | fanout) conn_expect=$((count + 1)) ;; pairs) conn_expect=$((count * 2)) ;; esac
    local connected=${R[$broker.$id.connected]:-0} lost_acked=${R[$broker.$id.lost_acked]:-0}
    ((connected >= conn_expect)) || note "$broker" "$id" "only $connected of $conn_expect clients connected"
    if [[ $kind != conn ]]; then
        ((${R[$broker.$id.received]:-0} > 0)) || note "$broker" "$id" "no message received"
        if ((qos > 0 && lost_acked > 0)); then
            note "$broker" "$id" "QoS $qos: $lost_acked messages acknowledged by the broker but not received by the end of the bench's 3 s drain: dropped, or still queued in the broker (\$SYS: dropped ${R[$broker.$id.dropped]:-?}, store count ${R[$broker.$id.held]:-?}; '?' = no answer)"
        fi
        ((${R[$broker.$id.rejected]:-0} == 0)) || note "$broker" "$id" "${R[$broker.$id.rejected]} publishes refused by the broker (v5 reason code >= 0x80)"
        ((${R[$broker.$id.duplicates]:-0} == 0)) || note "$broker" "$id" "${R[$broker.$id.duplicates]} duplicates (no reconnects happened)"
        ((${R[$broker.$id.out_of_order]:-0} == 0)) || note "$broker" "$id" "${R[$broker.$id.out_of_order]} out of order"
    fi
    local dropped=${R[$broker.$id.dropped]:-0}
    [[ $dropped =~ ^[0-9]+$ ]] && ((dropped > 0)) && note "$broker" "$id" "broker reports $dropped dropped messages (\$SYS)"
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
ratio() { awk -v a="${1:-}" -v b="${2:-}" 'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
per_msg_us() {  # cpu seconds, messages
    awk -v c="${1:-}" -v m="${2:-}" 'BEGIN { if (c == "" || m == "" || m + 0 == 0) print ""; else printf "%.2f", c * 1e6 / m }'
}
latency() {  # us -> human
    [[ -z ${1:-} ]] && { echo "-"; return; }
    awk -v u="$1" 'BEGIN { if (u >= 1e6) printf "%.2f s", u / 1e6; else if (u >= 1e3) printf "%.1f ms", u / 1e3; else printf "%d us", u }'
}

table() {  # scenario-id
    local id=$1 kind qos count secs rate s=starling m=mosquitto
    read -r kind qos count secs rate <<<"$(scenario_args "$id")"
    echo
    echo "### $(scenario_title "$kind" "$qos" "$count" "$secs" "$rate")"
    echo
    echo "| | starling | mosquitto | starling/mosquitto |"
    echo "|---|---:|---:|---:|"
    row() { echo "| $1 | $2 | $3 | $4 |"; }
    if [[ $kind == conn ]]; then
        row "clients connected" "$(num "${R[$s.$id.connected]:-}")" "$(num "${R[$m.$id.connected]:-}")" ""
        row "last CONNACK after (s)" "${R[$s.$id.connect_secs]:--}" "${R[$m.$id.connect_secs]:--}" \
            "$(ratio "${R[$s.$id.connect_secs]:-}" "${R[$m.$id.connect_secs]:-}")"
        row "connections/s" "$(num "${R[$s.$id.connects_per_sec]:-}")" "$(num "${R[$m.$id.connects_per_sec]:-}")" \
            "$(ratio "${R[$s.$id.connects_per_sec]:-}" "${R[$m.$id.connects_per_sec]:-}")"
        local q
        for q in p50 p99 max; do
            row "CONNECT->CONNACK $q" "$(latency "${R[$s.$id.connect_${q}_us]:-}")" \
                "$(latency "${R[$m.$id.connect_${q}_us]:-}")" \
                "$(ratio "${R[$s.$id.connect_${q}_us]:-}" "${R[$m.$id.connect_${q}_us]:-}")"
        done
    else
        row "msg/s received while publishing" "$(num "${R[$s.$id.rate]:-}")" "$(num "${R[$m.$id.rate]:-}")" \
            "$(ratio "${R[$s.$id.rate]:-}" "${R[$m.$id.rate]:-}")"
        row "msg/s, mean of per-second lines" "$(num "${R[$s.$id.steady]:-}")" "$(num "${R[$m.$id.steady]:-}")" \
            "$(ratio "${R[$s.$id.steady]:-}" "${R[$m.$id.steady]:-}")"
        row "received after publishing stopped (3 s drain)" "$(num "${R[$s.$id.drained]:-}")" \
            "$(num "${R[$m.$id.drained]:-}")" ""
        local q a b
        for q in p50 p99 p999 max; do
            # No latency sample when nothing sent after the warmup arrived (the bench then prints 0).
            a=${R[$s.$id.$q]:-}
            b=${R[$m.$id.$q]:-}
            [[ ${R[$s.$id.max]:-0} == 0 ]] && a=""
            [[ ${R[$m.$id.max]:-0} == 0 ]] && b=""
            row "latency $q" "$(latency "$a")" "$(latency "$b")" "$(ratio "$a" "$b")"
        done
        row "sent / received" "$(num "${R[$s.$id.sent]:-}") / $(num "${R[$s.$id.received]:-}")" \
            "$(num "${R[$m.$id.sent]:-}") / $(num "${R[$m.$id.received]:-}")" ""
        row "lost / dup / out of order" \
            "$(num "${R[$s.$id.lost]:-}") / $(num "${R[$s.$id.duplicates]:-}") / $(num "${R[$s.$id.out_of_order]:-}")" \
            "$(num "${R[$m.$id.lost]:-}") / $(num "${R[$m.$id.duplicates]:-}") / $(num "${R[$m.$id.out_of_order]:-}")" ""
        if ((qos > 0)); then
            row "of the lost: acked by the broker / unacked at the end" \
                "$(num "${R[$s.$id.lost_acked]:-}") / $(num "${R[$s.$id.unacked]:-}")" \
                "$(num "${R[$m.$id.lost_acked]:-}") / $(num "${R[$m.$id.unacked]:-}")" ""
        fi
        row "broker \$SYS: dropped / store count" "${R[$s.$id.dropped]:--} / ${R[$s.$id.held]:--}" \
            "${R[$m.$id.dropped]:--} / ${R[$m.$id.held]:--}" ""
    fi
    row "peak RSS MiB (idle before)" "$(mib "${R[$s.$id.hwm]:-}") ($(mib "${R[$s.$id.rss0]:-}"))" \
        "$(mib "${R[$m.$id.hwm]:-}") ($(mib "${R[$m.$id.rss0]:-}"))" "$(ratio "${R[$s.$id.hwm]:-}" "${R[$m.$id.hwm]:-}")"
    row "broker CPU s (user+sys)" "${R[$s.$id.cpu]:--}" "${R[$m.$id.cpu]:--}" \
        "$(ratio "${R[$s.$id.cpu]:-}" "${R[$m.$id.cpu]:-}")"
    if [[ $kind != conn ]]; then
        local cs cm
        cs=$(per_msg_us "${R[$s.$id.cpu]:-}" "${R[$s.$id.received]:-}")
        cm=$(per_msg_us "${R[$m.$id.cpu]:-}" "${R[$m.$id.received]:-}")
        row "broker CPU us per delivered msg" "${cs:--}" "${cm:--}" "$(ratio "$cs" "$cm")"
    fi
    local ns=${R[$s.$id.notes]:-ok} nm=${R[$m.$id.notes]:-ok}
    [[ -n ${R[$s.$id.ran]:-} ]] || ns="not run"
    [[ -n ${R[$m.$id.ran]:-} ]] || nm="not run"
    row "notes" "$ns" "$nm" ""
}

# ---------------------------------------------------------------------------------------------------------

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u +'%Y-%m-%d %H:%M:%S UTC')
t_start=$SECONDS
for id in $SCENARIOS; do
    scenario_args "$id" >/dev/null  # validate before starting anything
done
first=1
for id in $SCENARIOS; do
    for broker in $BROKERS; do
        [[ $broker == starling || $broker == mosquitto ]] || die "unknown broker '$broker'"
        ((first)) || sleep "$SETTLE"
        first=0
        run_one "$broker" "$id"
    done
done
ELAPSED=$((SECONDS - t_start))

GIT_REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -n $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]] && GIT_REV+=" (working tree modified)"
mkdir -p "$(dirname "$OUT")"
{
    echo "## Starling vs Mosquitto ($START)"
    echo
    echo "- $("$STARLING" --version 2>&1 | head -n1) (git $GIT_REV, binary of $STARLING_MTIME UTC), worker_threads $STARLING_THREADS (0 = one per core); $("$MOSQUITTO" -h 2>&1 | head -n1 || true)"
    echo "- $(nproc) cores, load average before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg); total ${ELAPSED}s"
    echo "- starling_bench --threads $BENCH_THREADS -V $PROTOCOL, warmup ${WARMUP}s, payload ${PAYLOAD} B; flood runs with --window ${WINDOW:-default}, ${RATE:+default rate $RATE msg/s, }SCALE=$SCALE. In flood runs the latency is mostly queueing delay: compare latency on the @RATE runs."
    echo "- both brokers: loopback listener, anonymous, max_inflight_messages $MAX_INFLIGHT, max_queued_messages $MAX_QUEUED, max_queued_bytes 0 (0 = unlimited), no persistence, TCP_NODELAY, one fresh broker per run"
    echo "- \$SYS store count: Starling's queued QoS 1/2 messages; Mosquitto's message store (its ~50 retained \$SYS messages plus QoS 1/2 messages held). Neither counts QoS 0 packets waiting in a connection's write buffer. '-' = no answer within 4 s."
    echo "- msg/s received while publishing = starling_bench's \`rate\`: messages received between the end of the warmup and the end of publishing / that window (steady clock); the mean of its per-second progress lines is a cross-check. What arrived after publishing stopped is shown separately (drain, up to 3 s). Fanout counts each delivery. Latency is publish-to-receive at the subscriber. lost = published, never received (QoS 0 and 1/2 alike); for QoS 1/2 split into acknowledged by the broker (PUBACK/PUBCOMP: dropped, or still queued in it when the drain ended) and unacknowledged (still in the publisher's client or in flight). Ratios are starling/mosquitto: above 1 is better for msg/s, worse for latency, RSS and CPU."
    for id in $SCENARIOS; do table "$id"; done
    echo
    if ((${#ANOMALIES[@]})); then
        echo "### Anomalies"
        echo
        for a in "${ANOMALIES[@]}"; do echo "- $a"; done
    else
        echo "No anomalies: every client connected, no QoS 1/2 loss, no duplicates, no reordering, no broker drops."
    fi
    echo
    echo "Configs, broker logs and raw bench output: \`$WORK\`"
} >"$OUT"
cat "$OUT"
