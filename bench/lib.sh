# shellcheck shell=bash
# Shared by the bench scripts (sourced): free loopback ports, waiting for a listener, /proc readings.
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
