#!/usr/bin/env bash
# HTTP benchmark of the identity and signing routes against nginx returning
# a fixed JSON body, all on 127.0.0.1.
#
# usage: bench/api_bench.sh [RESULTS_FILE]   (default /tmp/zguard-api-bench.txt)
#
# Environment:
#   DURATION   wrk duration of each case (default 10s)
#   ZGUARD     zguard binary (default build/zguard)
#
# Cases: nginx GET at 64 connections (the reference); POST /v1/authz/check
# that allows (not audited) and that denies (audited) at 64 connections;
# POST /v1/keys/{id}/sign-message and sign-transaction (software
# secp256k1, each signature audited) at 1 and 64 connections.
set -euo pipefail

results=${1:-/tmp/zguard-api-bench.txt}
duration=${DURATION:-10s}
repo=$(cd "$(dirname "$0")/.." && pwd)

bench_name=api_bench
value='{"allowed":true,"reason":"Allowed by role viewer.","matchedRole":"viewer"}'
# shellcheck source=bench/lib.sh
. "$repo/bench/lib.sh"

start_zguard
post() {
	curl -fsS -H "$auth" -H 'Content-Type: application/json' -d "$2" \
	    "$base$1"
}
post /v1/users/bench-user/roles '{"roleId":"viewer"}' >/dev/null
key_id=$(post /v1/keys '{"algorithm":"secp256k1","label":"bench"}' |
    sed -n 's/.*"id":"\(key_[0-9a-f]*\)".*/\1/p')
if [ -z "$key_id" ]; then
	echo "api_bench: creating the signing key failed" >&2
	exit 1
fi

# Runs one POST case: LABEL CONNS PATH BODY.
post_case() {
	local label=$1 conns=$2 path=$3 body=$4 threads=2
	[ "$conns" -eq 1 ] && threads=1
	BENCH_PATH=$path BENCH_BODY=$body run_wrk "$tmp/case.out" \
	    -t"$threads" -c"$conns" -d"$duration" --latency \
	    -s "$repo/bench/post_json.lua" -H "$auth" "$base"
	add_row "$label" "$tmp/case.out"
}

run_wrk "$tmp/nginx.out" -t2 -c64 -d"$duration" --latency \
    "http://127.0.0.1:$nginx_port/"
add_row "nginx GET fixed body, c64" "$tmp/nginx.out"
nginx_rps=$last_rps

post_case "authz check allowed, c64" 64 /v1/authz/check \
    '{"userId":"bench-user","resource":"workflows/w1","action":"read"}'
check_rps=$last_rps
post_case "authz check denied, c64" 64 /v1/authz/check \
    '{"userId":"bench-user","resource":"workflows/w1","action":"delete"}'
msg='{"message":"bench message"}'
tx='{"chainId":1,"type":2,"nonce":0,"to":"0x3535353535353535353535353535353535353535","value":"1000","gas":21000,"maxFeePerGas":"1000000000","maxPriorityFeePerGas":"1"}'
post_case "sign-message, c1" 1 "/v1/keys/$key_id/sign-message" "$msg"
post_case "sign-message, c64" 64 "/v1/keys/$key_id/sign-message" "$msg"
post_case "sign-transaction, c1" 1 "/v1/keys/$key_id/sign-transaction" "$tx"
post_case "sign-transaction, c64" 64 "/v1/keys/$key_id/sign-transaction" "$tx"

if ! kill -0 "$zguard_pid" 2>/dev/null; then
	echo "api_bench: zguard exited during the run; its log:" >&2
	cat "$tmp/zguard.log" >&2
	exit 1
fi

{
	echo "zguard API benchmark, $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
	echo "wrk duration $duration per case; $(nproc) CPUs, load average" \
	    "before $load_before, after $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	printf '| %-28s | %9s | %8s | %8s | %6s |\n' case "req/s" "p50 ms" \
	    "p99 ms" errors
	printf '|%s|%s|%s|%s|%s|\n' "------------------------------" \
	    "----------:" "---------:" "---------:" "-------:"
	for row in "${rows[@]}"; do
		IFS='|' read -r label rps p50 p99 errors _ <<<"$row"
		printf '| %-28s | %9s | %8s | %8s | %6s |\n' "$label" "$rps" \
		    "$p50" "$p99" "$errors"
	done
	echo
	awk -v z="$check_rps" -v n="$nginx_rps" 'BEGIN {
		if (n > 0) printf "authz checks: %.1f%% of nginx requests/s\n",
		    100 * z / n
	}'
} >"$results"
echo >&2
cat "$results"
