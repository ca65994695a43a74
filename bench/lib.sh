# shellcheck shell=bash
# Shared by the bench scripts (sourced): free loopback ports, waiting for a listener, /proc readings, the --out
# argument, stopping what they started.
# The sourcing script defines die().

free_port() {
    local used p
    used=$(ss -Htan | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u)
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 12000))
        grep -qx "$p" <<<"$used" || { echo "$p"; return 0; }
    done
    die "no free port found"
}

# 0 once something listens on 127.0.0.1:$1; 1 when $2 died or after 10 s.
wait_listen() {
    for _ in $(seq 1 200); do
        kill -0 "$2" 2>/dev/null || return 1
        [[ -n $(ss -Hltn "sport = :$1") ]] && return 0
        sleep 0.05
    done
    return 1
}

# utime+stime of a PID in seconds.
cpu_secs() {
    local stat rest f
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo ""; return; }
    rest=${stat##*) }
    read -ra f <<<"$rest"
    awk -v u="${f[11]}" -v s="${f[12]}" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (u + s) / hz }'
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# Sets OUT from `--out FILE` or `--out=FILE` (default: $1); -h/--help prints the sourcing script's usage().
parse_out_args() {
    OUT=$1
    shift
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
}

# Stops each of these PIDs (processes this script started) that still runs: SIGTERM, up to 3 s, then SIGKILL.
stop_pids() {
    local p
    for p in "$@"; do
        if kill -0 "$p" 2>/dev/null; then
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$p" 2>/dev/null || true
            wait "$p" 2>/dev/null || true
        fi
    done
}
