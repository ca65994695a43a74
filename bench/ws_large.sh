#!/usr/bin/env bash
# Large messages over WebSocket vs TCP (the WebSocket issue: "a 1 MiB payload over ws takes at most twice its time
# over TCP"). For each broker: start it on loopback with a TCP and a ws listener, time round trips (publish SIZE
# bytes, receive them at a subscriber) over each transport with the same client (paho-mqtt, transport "tcp" vs
# "websockets"; bench/ws_large_helper.py), stop it by PID. Prints the ws/tcp ratio per broker and writes the same
# markdown to --out. See docs/benchmarks.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    cat <<EOF
Usage: bench/ws_large.sh [--out FILE] [--help]

Round trips of a large payload over MQTT/TCP and MQTT/WebSocket, same client (paho), per broker; ws/tcp ratio.

  --out FILE   markdown report (default: build/bench/ws_large.md)

Environment (defaults in brackets):
  BROKERS        [starling mosquitto]
  SIZE           payload bytes [1048576]
  COUNT          measured round trips per round and mode [20]
  WARMUP_MSGS    unmeasured round trips at the start of each round [2]
  ROUNDS         rounds; each runs every mode once, in turn, with fresh clients [2]
  MODES          comma-separated: tcp, ws (publisher and subscriber over that transport), wspub (publisher ws,
                 subscriber tcp), wssub (publisher tcp, subscriber ws) [tcp,ws]
  QOS            0 or 1 [0]
  MASKING        paho 1.6 masks client frames in a per-byte Python loop (~0.1 s per MiB); the helper replaces
                 it: zero = all-zero masking key (the broker still unmasks every byte; the client only copies,
                 like a native client), fast = random key, XOR on Python integers (~4 ms per MiB, reported as
                 client masking), stock = paho as shipped [zero]
  BUDGET         seconds per round and mode, warmup included, after at least one measured round trip: bounds
                 a broker that needs seconds per message [30]
  MSG_TIMEOUT    seconds one round trip may take before the run fails [60]
  GOAL           ws/tcp ratio of the medians the issue allows [2]
  PIN            1: the broker on core 0 (Starling with one worker) and the client on core 1 [1]
  STARLING_THREADS  Starling worker_threads [1 with PIN=1, else 0 = one per core]
  STOP_GRACE     seconds a broker gets to exit after SIGTERM before SIGKILL [5]
  BIN_DIR        where starling is [build/release/bin]
  STARLING_BIN, MOSQUITTO_BIN, PYTHON (a python3 that imports paho.mqtt; default: the first of python3,
  /usr/bin/python3 that does)
EOF
}

# shellcheck source=bench/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"
parse_out_args "$REPO/build/bench/ws_large.md" "$@"

BROKERS=${BROKERS:-starling mosquitto}
SIZE=${SIZE:-1048576}
COUNT=${COUNT:-20}
WARMUP_MSGS=${WARMUP_MSGS:-2}
ROUNDS=${ROUNDS:-2}
MODES=${MODES:-tcp,ws}
QOS=${QOS:-0}
MASKING=${MASKING:-zero}
BUDGET=${BUDGET:-30}
MSG_TIMEOUT=${MSG_TIMEOUT:-60}
GOAL=${GOAL:-2}
PIN=${PIN:-1}
if [[ $PIN == 1 ]]; then
    STARLING_THREADS=${STARLING_THREADS:-1}
    BROKER_PIN=(taskset -c 0)
    CLIENT_PIN=(taskset -c 1)
else
    STARLING_THREADS=${STARLING_THREADS:-0}
    BROKER_PIN=()
    CLIENT_PIN=()
fi
STOP_GRACE=${STOP_GRACE:-5}
BIN_DIR=${BIN_DIR:-$REPO/build/release/bin}
STARLING_BIN=${STARLING_BIN:-$BIN_DIR/starling}
MOSQUITTO_BIN=${MOSQUITTO_BIN:-$(command -v mosquitto || echo /usr/sbin/mosquitto)}

die() { echo "ws_large.sh: $*" >&2; exit 1; }
if [[ -z ${PYTHON:-} ]]; then
    for p in python3 /usr/bin/python3; do
        if command -v "$p" >/dev/null && "$p" -c 'import paho.mqtt.client' 2>/dev/null; then PYTHON=$(command -v "$p"); break; fi
    done
    [[ -n ${PYTHON:-} ]] || die "no python3 with paho-mqtt (Debian: apt-get install python3-paho-mqtt), or set PYTHON"
fi
for v in SIZE COUNT WARMUP_MSGS ROUNDS; do [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a number"; done
[[ " $BROKERS " != *" starling "* ]] || [[ -x $STARLING_BIN ]] || die "not executable: $STARLING_BIN"
[[ " $BROKERS " != *" mosquitto "* ]] || [[ -x $MOSQUITTO_BIN ]] || die "not executable: $MOSQUITTO_BIN"
command -v ss >/dev/null || die "needs ss (iproute2)"

WORK=$(dirname "$OUT")/ws_large-logs
mkdir -p "$WORK"
rm -f "$WORK"/*.conf "$WORK"/*.log "$WORK"/*.json "$WORK"/*.err
STARLING_MTIME=$(date -u -r "$STARLING_BIN" +'%Y-%m-%d %H:%M' 2>/dev/null || echo "?")
if [[ " $BROKERS " == *" starling "* ]]; then
    cp "$STARLING_BIN" "$WORK/starling.bin"
    STARLING=$WORK/starling.bin
fi
cp "$REPO/bench/ws_large_helper.py" "$REPO/bench/mqtt_wire.py" "$WORK/"
HELPER=$WORK/ws_large_helper.py

BROKER_PID=""
CHILD_PID=""
cleanup() {
    # shellcheck disable=SC2086  # empty PIDs vanish
    stop_pids $CHILD_PID $BROKER_PID
    CHILD_PID=""
    BROKER_PID=""
}
trap 'cleanup; rm -f "$WORK/starling.bin"' EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# free_port, wait_listen, cpu_secs, status_kb

write_config() {  # broker tcp-port ws-port file
    local broker=$1 tcp=$2 ws=$3 file=$4
    {
        echo "# generated by bench/ws_large.sh"
        echo "allow_anonymous true"
        echo "log_dest stderr"
        echo "log_type error"
        echo "log_type warning"
        if [[ $broker == starling ]]; then
            echo "worker_threads $STARLING_THREADS"
        else
            echo "persistence false"
            echo "set_tcp_nodelay true"
            echo "connection_messages false"
            if [[ $EUID -eq 0 ]]; then echo "user root"; fi
        fi
        echo "listener $tcp 127.0.0.1"
        echo "listener $ws 127.0.0.1"
        echo "protocol websockets"
        # Mosquitto 2.0.11's websockets listener ignores the bind address and listens on every interface unless
        # the socket domain is fixed; with it, it binds 127.0.0.1 like the TCP one.
        [[ $broker == mosquitto ]] && echo "socket_domain ipv4"
        true
    } >"$file"
}

declare -A R
ANOMALIES=()
jget() { sed -n "s/.*\"$2\": *\([0-9.]*\).*/\1/p" <<<"$1"; }
jsub() {  # json mode field -> value of field inside "mode": {...}
    sed -n "s/.*\"$2\": *{\([^}]*\)}.*/\1/p" <<<"$1" | sed -n "s/.*\"$3\": *\([0-9.]*\).*/\1/p"
}

run_broker() {
    local broker=$1 tcp ws conf log json err rc=0
    tcp=$(free_port)
    ws=$(free_port)
    while [[ $ws == "$tcp" ]]; do ws=$(free_port); done
    conf=$WORK/$broker.conf
    log=$WORK/$broker.log
    json=$WORK/$broker.json
    err=$WORK/$broker.err
    write_config "$broker" "$tcp" "$ws" "$conf"
    R[$broker.ran]=1
    if [[ $broker == starling ]]; then
        "${BROKER_PIN[@]}" "$STARLING" -c "$conf" >"$log" 2>&1 &
    else
        "${BROKER_PIN[@]}" "$MOSQUITTO_BIN" -c "$conf" >"$log" 2>&1 &
    fi
    BROKER_PID=$!
    if ! wait_listen "$tcp" "$BROKER_PID" || ! wait_listen "$ws" "$BROKER_PID"; then
        ANOMALIES+=("$broker: did not start (see $log)")
        cleanup
        return
    fi
    if ss -Hltn "sport = :$ws" | awk '{ print $4 }' | grep -qv '^127\.0\.0\.1:'; then
        ANOMALIES+=("$broker: the ws listener is not bound to 127.0.0.1 only: $(ss -Hltn "sport = :$ws" | awk '{ print $4 }' | tr '\n' ' ')")
    fi
    R[$broker.rss0]=$(status_kb "$BROKER_PID" VmRSS)
    local c0 c1 modes_n
    c0=$(cpu_secs "$BROKER_PID")
    modes_n=$(tr ',' '\n' <<<"$MODES" | grep -c .)
    # Safety net only: every mode of every round is bounded by BUDGET plus one round trip of MSG_TIMEOUT.
    local limit=$((ROUNDS * modes_n * (${BUDGET%.*} + 2 * MSG_TIMEOUT) + 60))
    echo "[$(date +%T)] $broker: tcp port $tcp, ws port $ws (pid $BROKER_PID), $MODES, $ROUNDS round(s) x $COUNT x $SIZE B" >&2
    timeout -k 5 "$limit" "${CLIENT_PIN[@]}" "$PYTHON" "$HELPER" --pid "$BROKER_PID" --tcp-port "$tcp" --ws-port "$ws" --size "$SIZE" \
        --count "$COUNT" --warmup "$WARMUP_MSGS" --rounds "$ROUNDS" --modes "$MODES" --qos "$QOS" \
        --masking "$MASKING" --budget "$BUDGET" --timeout "$MSG_TIMEOUT" >"$json" 2>"$err" &
    CHILD_PID=$!
    wait "$CHILD_PID" || rc=$?
    CHILD_PID=""
    if kill -0 "$BROKER_PID" 2>/dev/null; then
        c1=$(cpu_secs "$BROKER_PID")
        R[$broker.cpu]=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
        R[$broker.hwm]=$(status_kb "$BROKER_PID" VmHWM)
        local t0=$SECONDS
        kill -TERM "$BROKER_PID" 2>/dev/null || true
        while kill -0 "$BROKER_PID" 2>/dev/null && ((SECONDS - t0 < STOP_GRACE)); do sleep 0.1; done
        if kill -0 "$BROKER_PID" 2>/dev/null; then
            ANOMALIES+=("$broker: did not exit within ${STOP_GRACE}s of SIGTERM, killed")
            kill -KILL "$BROKER_PID" 2>/dev/null || true
        fi
        wait "$BROKER_PID" 2>/dev/null || true
    else
        local brc=0
        wait "$BROKER_PID" || brc=$?
        ANOMALIES+=("$broker: BROKER DIED during the run (exit status $brc, see $log)")
    fi
    BROKER_PID=""
    R[$broker.json]=$(grep -m1 '^{' "$json" || true)
    if [[ $rc -ne 0 || -z ${R[$broker.json]} || ${R[$broker.json]} == *'"error"'* ]]; then
        ANOMALIES+=("$broker: helper failed (exit $rc): $(head -c 400 "$json" | tr '\n' ' ') $(tail -n 2 "$err" | tr '\n' ' ')")
    fi
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
START=$(date -u +'%Y-%m-%d %H:%M:%S UTC')
t_start=$SECONDS
for broker in $BROKERS; do
    [[ $broker == starling || $broker == mosquitto ]] || die "unknown broker '$broker'"
    run_broker "$broker"
done
ELAPSED=$((SECONDS - t_start))

mib() { [[ -z ${1:-} ]] && { echo "-"; return; }; awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
mbs() { awk -v s="$SIZE" -v ms="${1:-}" 'BEGIN { if (ms == "" || ms + 0 == 0) print "-"; else printf "%.0f", s / (ms / 1000) / 1e6 }'; }

GIT_REV=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo "?")
[[ -n $(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null) ]] && GIT_REV+=" (working tree modified)"
mkdir -p "$(dirname "$OUT")"
{
    echo "## WebSocket vs TCP, ${SIZE}-byte payloads ($START)"
    echo
    [[ -n ${STARLING:-} ]] && echo "- $("$STARLING" --version 2>&1 | head -n1) (git $GIT_REV, binary of $STARLING_MTIME UTC), worker_threads $STARLING_THREADS"
    [[ " $BROKERS " == *" mosquitto "* ]] && echo "- $("$MOSQUITTO_BIN" -h 2>&1 | head -n1 || true)"
    echo "- $(nproc) cores, load average before $LOAD_BEFORE, after $(cut -d' ' -f1-3 /proc/loadavg); total ${ELAPSED}s; PIN=$PIN"
    echo "- client: paho-mqtt $("$PYTHON" -c 'import paho.mqtt; print(paho.mqtt.__version__)' 2>/dev/null) ($PYTHON), MQTT 3.1.1, QoS $QOS, one message in flight (publish, wait until the subscriber has it), $ROUNDS round(s) of $WARMUP_MSGS + $COUNT per mode, masking $MASKING"
    echo "- round trip = publish call to the subscriber's on_message. Modes: tcp = publisher and subscriber over TCP, ws = both over WebSocket, wspub = publisher over ws and subscriber over TCP, wssub = the reverse. Ratios are of median round trips; MB/s = payload / median round trip."
    echo
    echo "| broker | mode | n | median | p90 | max | MB/s at the median | broker CPU per message | ratio to tcp (medians) | goal ≤ $GOAL |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"
    for broker in $BROKERS; do
        j=${R[$broker.json]:-}
        for m in ${MODES//,/ }; do
            n=$(jsub "$j" "$m" n)
            med=$(jsub "$j" "$m" median_ms)
            p90=$(jsub "$j" "$m" p90_ms)
            mx=$(jsub "$j" "$m" max_ms)
            ratio=""
            goal=""
            if [[ $m != tcp ]]; then
                ratio=$(jget "$j" "ratio_$m")
                [[ -n $ratio ]] && goal=$(awk -v r="$ratio" -v g="$GOAL" 'BEGIN { print (r <= g) ? "met" : "NOT met" }')
            fi
            cpu=$(jsub "$j" "$m" broker_cpu_ms_per_msg)
            echo "| $broker | $m | ${n:--} | ${med:+$med ms} | ${p90:+$p90 ms} | ${mx:+$mx ms} | $(mbs "$med") | ${cpu:+$cpu ms} | ${ratio:--} | ${goal} |"
        done
    done
    echo
    echo "| broker | client masking per message (ms, in the ws times) | broker CPU s (whole run) | peak RSS MiB (idle before) |"
    echo "|---|---:|---:|---:|"
    for broker in $BROKERS; do
        echo "| $broker | $(jget "${R[$broker.json]:-}" mask_ms) | ${R[$broker.cpu]:--} | $(mib "${R[$broker.hwm]:-}") ($(mib "${R[$broker.rss0]:-}")) |"
    done
    echo
    if ((${#ANOMALIES[@]})); then
        echo "### Anomalies"
        echo
        for a in "${ANOMALIES[@]}"; do echo "- $a"; done
        echo
    fi
    echo "Configs, broker logs and raw helper output: \`$WORK\`"
} >"$OUT"
cat "$OUT"
