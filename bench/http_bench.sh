#!/usr/bin/env bash
# HTTP benchmark: zguard credential reads and writes against nginx
# returning a fixed JSON body, all on 127.0.0.1.
#
# usage: bench/http_bench.sh [RESULTS_FILE]   (default /tmp/zguard-bench.txt)
#
# Environment:
#   DURATION         wrk duration of each measured case (default 10s)
#   STRACE_DURATION  wrk duration of each fsync-counting run (default 5s)
#   ZGUARD           zguard binary (default build/zguard, then
#                    /tmp/bench/build/zguard)
#
# Cases: nginx GET at 64 connections; zguard GET /v1/credentials/{id}/value
# at 64 connections; zguard POST /v1/credentials at 1 and 64 connections.
# The write cases then run again under `strace -c` to count fsync and
# fdatasync calls per request. Those runs are separate because tracing slows
# the server, so their throughput is not reported. Without strace the fsync
# column reads "n/a".
set -euo pipefail

results=${1:-/tmp/zguard-bench.txt}
duration=${DURATION:-10s}
strace_duration=${STRACE_DURATION:-5s}
repo=$(cd "$(dirname "$0")/.." && pwd)

bench_name=http_bench
value='bench-value-0123456789abcdef'
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

# --- zguard with a fresh data directory ---
start_zguard
cred_id=$(curl -fsS -H "$auth" -H 'Content-Type: application/json' \
    -d "{\"type\":\"api_token\",\"name\":\"bench-read\",\"value\":\"$value\"}" \
    "$base/v1/credentials" | sed -n 's/.*"id":"\(cred_[0-9a-f]*\)".*/\1/p')
if [ -z "$cred_id" ]; then
	echo "http_bench: creating the credential to read failed" >&2
	exit 1
fi

# --- measured runs ---
run_wrk "$tmp/nginx.out" -t2 -c64 -d"$duration" --latency \
    "http://127.0.0.1:$nginx_port/"
add_row "nginx GET fixed body, c64" "$tmp/nginx.out"
nginx_rps=$last_rps

run_wrk "$tmp/read.out" -t2 -c64 -d"$duration" --latency -H "$auth" \
    "$base/v1/credentials/$cred_id/value"
add_row "zguard GET value, c64" "$tmp/read.out"
read_rps=$last_rps

# Counts fsync and fdatasync calls in zguard during a write run at CONNS
# connections and sets fsyncs to "per_request (calls/requests)", or to "n/a"
# when strace is missing or cannot attach.
count_fsyncs() {
	local conns=$1 threads=$2 out=$tmp/strace-c$1.out calls requests
	fsyncs="n/a"
	if ! command -v strace >/dev/null 2>&1; then
		echo "http_bench: strace is not installed, so fsyncs are not counted" >&2
		return 0
	fi
	strace -f -c -e trace=fsync,fdatasync -o "$tmp/strace-c$conns.txt" \
	    -p "$zguard_pid" 2>"$tmp/strace-c$conns.err" &
	strace_pid=$!
	# strace prints nothing once attached, so give it a moment.
	sleep 1
	if ! kill -0 "$strace_pid" 2>/dev/null; then
		echo "http_bench: strace could not attach to zguard:" >&2
		cat "$tmp/strace-c$conns.err" >&2
		strace_pid=
		return 0
	fi
	run_wrk "$out" -t"$threads" -c"$conns" -d"$strace_duration" \
	    -s "$repo/bench/post_credential.lua" -H "$auth" "$base"
	kill -INT "$strace_pid"
	wait "$strace_pid" || true
	strace_pid=
	calls=$(awk '$NF == "fsync" || $NF == "fdatasync" { n += $4 }
	    END { print n + 0 }' "$tmp/strace-c$conns.txt")
	requests=$(awk '/ requests in / { print $1 }' "$out")
	fsyncs=$(awk -v c="$calls" -v r="$requests" \
	    'BEGIN { if (r > 0) printf "%.2f (%d/%d)", c / r, c, r; else print "n/a" }')
}

# wrk needs at least one connection per thread, so -c1 runs one thread.
run_wrk "$tmp/write1.out" -t1 -c1 -d"$duration" --latency \
    -s "$repo/bench/post_credential.lua" -H "$auth" "$base"
count_fsyncs 1 1
add_row "zguard POST credential, c1" "$tmp/write1.out" "$fsyncs"

run_wrk "$tmp/write64.out" -t2 -c64 -d"$duration" --latency \
    -s "$repo/bench/post_credential.lua" -H "$auth" "$base"
count_fsyncs 64 2
add_row "zguard POST credential, c64" "$tmp/write64.out" "$fsyncs"

if ! kill -0 "$zguard_pid" 2>/dev/null; then
	echo "http_bench: zguard exited during the run; its log:" >&2
	cat "$tmp/zguard.log" >&2
	exit 1
fi

# --- summary ---
{
	echo "zguard HTTP benchmark, $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
	echo "wrk duration $duration per case; data dir filesystem" \
	    "$(df -T "$tmp/data" | awk 'NR == 2 { print $2 }');" \
	    "zguard log level warn"
	echo "$(nproc) CPUs, load average before the run $load_before," \
	    "after $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	printf '| %-28s | %9s | %8s | %8s | %6s | %-20s |\n' \
	    case "req/s" "p50 ms" "p99 ms" errors "fsyncs/request"
	printf '|%s|%s|%s|%s|%s|%s|\n' "------------------------------" \
	    "----------:" "---------:" "---------:" "-------:" \
	    "----------------------"
	for row in "${rows[@]}"; do
		IFS='|' read -r label rps p50 p99 errors fsyncs <<<"$row"
		printf '| %-28s | %9s | %8s | %8s | %6s | %-20s |\n' \
		    "$label" "$rps" "$p50" "$p99" "$errors" "${fsyncs:--}"
	done
	echo
	awk -v z="$read_rps" -v n="$nginx_rps" 'BEGIN {
		if (n > 0) printf "zguard reads: %.1f%% of nginx requests/s\n", 100 * z / n
	}'
	if ! command -v strace >/dev/null 2>&1; then
		echo "fsyncs not counted: strace is not installed"
	else
		echo "fsyncs/request: fsync + fdatasync calls in zguard during a" \
		    "separate ${strace_duration} write run under strace" \
		    "(calls/requests)"
	fi
} >"$results"
echo >&2
cat "$results"
