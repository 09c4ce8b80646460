# Shared by the HTTP benchmarks (bench/*_bench.sh): finds the zguard binary,
# starts nginx with a fixed JSON body as the reference, runs wrk and collects
# rows for the summary. Sourced, never run; the caller sets `repo` and
# `value` (the body nginx returns) and uses `set -euo pipefail`.

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
	echo "$bench_name: zguard binary not found. Build it with" \
	    "'cmake --build build --target zguard' or set ZGUARD." >&2
	exit 1
fi
for tool in nginx wrk curl ss; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "$bench_name: $tool is not installed. Run scripts/setup." >&2
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
	echo "$bench_name: no free port found on 127.0.0.1" >&2
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

# Starts zguard on a fresh data directory in $tmp/data and sets zguard_pid,
# zguard_port, base and auth (the bootstrap admin token's header).
start_zguard() {
	zguard_port=$(free_port)
	mkdir -m 700 "$tmp/data"
	"$zguard" serve --data "$tmp/data" --listen "127.0.0.1:$zguard_port" \
	    --log-level warn 2>"$tmp/zguard.log" &
	zguard_pid=$!
	if ! wait_ready "http://127.0.0.1:$zguard_port/v1/health" \
	    "$zguard_pid"; then
		echo "$bench_name: zguard did not start; its log:" >&2
		cat "$tmp/zguard.log" >&2
		exit 1
	fi
	auth="Authorization: Bearer $(tr -d '\n' <"$tmp/data/admin.token")"
	base="http://127.0.0.1:$zguard_port"
}

# --- nginx, the reference: a fixed JSON body ---
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
	echo "$bench_name: nginx did not start; its log:" >&2
	cat "$tmp/nginx/logs/error.log" >&2 || true
	exit 1
fi

