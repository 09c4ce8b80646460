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

zguard=${ZGUARD:-}
if [ -z "$zguard" ]; then
	for candidate in "$repo/build/zguard" /tmp/bench/build/zguard; do
		if [ -x "$candidate" ]; then
			zguard=$candidate
			break
		fi
	done
fi
if [ -z "$zguard" ] || [ ! -x "$zguard" ]; then
	echo "http_bench: zguard binary not found. Build it with" \
	    "'cmake --build build --target zguard' or set ZGUARD." >&2
	exit 1
fi
for tool in nginx wrk curl ss; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "http_bench: $tool is not installed. Run scripts/setup." >&2
		exit 1
	fi
done

# Other programs on the machine skew the numbers, so the summary shows the
# load before the run.
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zguard-bench.XXXXXX")
nginx_pid=
zguard_pid=
strace_pid=
wrk_pid=

# Stops only the processes this script started, then removes the temp dir.
cleanup() {
	local pid
	for pid in "$wrk_pid" "$strace_pid" "$zguard_pid" "$nginx_pid"; do
		if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
		fi
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Prints a TCP port on 127.0.0.1 that nothing listens on. Another program can
# still take it before the server binds, so the servers' start is checked.
free_port() {
	local port
	for _ in $(seq 1 100); do
		port=$((20000 + RANDOM % 40000))
		if [ -z "$(ss -Htln "sport = :$port")" ]; then
			echo "$port"
			return 0
		fi
	done
	echo "http_bench: no free port found on 127.0.0.1" >&2
	return 1
}

# Waits up to 10 s until URL returns 200, and fails early if PID exits.
wait_ready() {
	local url=$1 pid=$2
	for _ in $(seq 1 100); do
		if ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		if curl -fs -o /dev/null "$url"; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Converts a wrk duration (850.00us, 5.84ms, 1.02s, 2.00m) to milliseconds.
to_ms() {
	awk -v t="$1" 'BEGIN {
		if (t ~ /us$/) { sub(/us$/, "", t); printf "%.2f", t / 1000 }
		else if (t ~ /ms$/) { sub(/ms$/, "", t); printf "%.2f", t }
		else if (t ~ /m$/) { sub(/m$/, "", t); printf "%.2f", t * 60000 }
		else if (t ~ /s$/) { sub(/s$/, "", t); printf "%.2f", t * 1000 }
		else { printf "?" }
	}'
}

# Reads wrk output in FILE and prints "rps p50_ms p99_ms requests errors".
parse_wrk() {
	local file=$1 rps p50 p99 requests errors
	rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$file")
	p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$file")")
	p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$file")")
	requests=$(awk '/ requests in / { print $1 }' "$file")
	errors=$(awk '/Non-2xx or 3xx responses:/ { n += $NF }
	    /Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
	    END { print n + 0 }' "$file")
	echo "${rps:-0} ${p50:-?} ${p99:-?} ${requests:-0} $errors"
}

# Runs wrk with the given arguments, shows its output and keeps it in FILE.
run_wrk() {
	local file=$1
	shift
	echo "+ wrk $*" | sed 's/Bearer [^ ]*/Bearer <token>/' >&2
	# Waiting on a background job lets the INT and TERM traps run at once.
	wrk "$@" >"$file" &
	wrk_pid=$!
	wait "$wrk_pid"
	wrk_pid=
	cat "$file" >&2
}

rows=()
last_rps=0
# Adds a row to the summary from wrk output in FILE and sets last_rps.
add_row() {
	local label=$1 file=$2 fsyncs=${3:-}
	local rps p50 p99 requests errors
	read -r rps p50 p99 requests errors < <(parse_wrk "$file")
	rows+=("$label|$rps|$p50|$p99|$errors|$fsyncs")
	last_rps=$rps
}

# --- nginx, the reference: a fixed body like the credential value response ---
value='bench-value-0123456789abcdef'
nginx_port=$(free_port)
mkdir -p "$tmp/nginx/logs" "$tmp/nginx/temp"
cat >"$tmp/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events {
	worker_connections 1024;
}
http {
	access_log off;
	keepalive_timeout 65s;
	keepalive_requests 1000000;
	client_body_temp_path $tmp/nginx/temp/client_body;
	proxy_temp_path $tmp/nginx/temp/proxy;
	fastcgi_temp_path $tmp/nginx/temp/fastcgi;
	uwsgi_temp_path $tmp/nginx/temp/uwsgi;
	scgi_temp_path $tmp/nginx/temp/scgi;
	server {
		listen 127.0.0.1:$nginx_port;
		location / {
			default_type application/json;
			return 200 '{"value":"$value","version":1}';
		}
	}
}
EOF
nginx -p "$tmp/nginx" -e "$tmp/nginx/logs/error.log" \
    -c "$tmp/nginx/nginx.conf" &
nginx_pid=$!
if ! wait_ready "http://127.0.0.1:$nginx_port/" "$nginx_pid"; then
	echo "http_bench: nginx did not start; its log:" >&2
	cat "$tmp/nginx/logs/error.log" >&2 || true
	exit 1
fi

# --- zguard with a fresh data directory ---
zguard_port=$(free_port)
mkdir -m 700 "$tmp/data"
"$zguard" serve --data "$tmp/data" --listen "127.0.0.1:$zguard_port" \
    --log-level warn 2>"$tmp/zguard.log" &
zguard_pid=$!
if ! wait_ready "http://127.0.0.1:$zguard_port/v1/health" "$zguard_pid"; then
	echo "http_bench: zguard did not start; its log:" >&2
	cat "$tmp/zguard.log" >&2
	exit 1
fi
token=$(tr -d '\n' <"$tmp/data/admin.token")
auth="Authorization: Bearer $token"
base="http://127.0.0.1:$zguard_port"
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
