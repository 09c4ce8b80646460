#!/usr/bin/env bash
# Audit log benchmark: durable appends against plain SQLite inserts,
# verification against sha256sum, and inclusion proof latency. Builds
# nothing: it runs audit_bench, audit_log_bench and zguard from an existing
# build directory.
#
# usage: bench/audit_bench.sh BUILD_DIR [RESULTS_FILE]
#        (default RESULTS_FILE /tmp/zguard-audit-bench.txt)
#
# Environment:
#   DURATION  seconds of each append and SQLite case (default 5)
#   WRITERS   concurrent zg_audit_record threads (default "1 8 64")
#   BATCHES   events per SQLite transaction in the reference (default
#             "1 8 64"). A group commit of W writers takes about W events.
#   EVENTS    events in the log for proofs and verification (default 1000000)
#   PROOFS    inclusion proofs to time (default 10000)
#   VERIFY    "yes" to run `zguard audit verify` (default), "no" to skip it
#   KEEP      "yes" keeps the temporary data directories
#
# Everything is written under a new directory in ${TMPDIR:-/tmp}. With the
# defaults it needs about 1.3 GB of disk and 1 to 2 minutes on 2 cores.
set -euo pipefail

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR [RESULTS_FILE]" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
results=${2:-/tmp/zguard-audit-bench.txt}
duration=${DURATION:-5}
writers=${WRITERS:-1 8 64}
batches=${BATCHES:-1 8 64}
events=${EVENTS:-1000000}
proofs=${PROOFS:-10000}
verify=${VERIFY:-yes}
bench=$build/bench/audit_bench
logbench=$build/bench/audit_log_bench
zguard=$build/zguard

for bin in "$bench" "$logbench" "$zguard"; do
	if [ ! -x "$bin" ]; then
		echo "audit_bench: $bin not found; build it with" \
		    "'cmake --build $build --target audit_bench audit_log_bench zguard'" >&2
		exit 1
	fi
done

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/zguard-audit-bench.XXXXXX")
cleanup() {
	if [ "${KEEP:-no}" != yes ]; then
		rm -rf "$tmp"
	else
		echo "audit_bench: kept $tmp" >&2
	fi
}
trap cleanup EXIT
: >"$results"

# Prints the value of KEY in the first result line that starts with PATTERN.
field() {
	local pattern=$1 key=$2
	grep -E "^$pattern" "$results" | head -n 1 | tr ' ' '\n' |
	    sed -n "s/^$key=//p"
}

# Runs a command, appends its result lines to the results file and shows
# them on stderr.
run() {
	"$@" | tee -a "$results" >&2
}

now() {
	date +%s.%N
}

echo "audit_bench: results in $tmp, load before: $load_before" >&2

# 1. Durable appends, then the SQLite reference with the mean event size.
run "$bench" append "$tmp/append" "$duration" $writers
row_bytes=$(field "event " canonical_bytes)
run "$bench" sqlite "$tmp/reference.db" "$duration" "$row_bytes" $batches

# 2. The large log, its proofs and the library scan with the export.
# The build leaves hundreds of MB of dirty pages, which are flushed first
# so that writeback does not run during the timed proofs.
run "$logbench" build "$tmp/log" "$events"
sync "$tmp/log/zguard.db"
run "$logbench" proof "$tmp/log" "$proofs"
run "$logbench" scan "$tmp/log" "$tmp/canonical.bin"

# 3. zguard audit verify on the same log, when the command exists.
verify_line="verify available=no"
if [ "$verify" = yes ] && "$zguard" audit verify --help >/dev/null 2>&1; then
	t0=$(now)
	if "$zguard" audit verify --data "$tmp/log" >"$tmp/verify.out" 2>&1; then
		status=passed
	else
		status="failed($?)"
	fi
	t1=$(now)
	verify_line=$(awk -v a="$t0" -v b="$t1" -v n="$events" -v s="$status" \
	    'BEGIN { printf "verify available=yes status=%s seconds=%.2f events_per_s=%.0f", s, b - a, n / (b - a) }')
	sed 's/^/  zguard: /' "$tmp/verify.out" | tail -n 3 >&2
fi
echo "$verify_line" | tee -a "$results" >&2

# 4. sha256sum over the same canonical bytes (read from the page cache,
# like the database during verification), and OpenSSL's SHA-256, which
# zguard itself uses, as a second reference.
bytes=$(stat -c %s "$tmp/canonical.bin")
cat "$tmp/canonical.bin" >/dev/null
hash_rate() {
	local name=$1 t0 t1
	shift
	t0=$(now)
	"$@" "$tmp/canonical.bin" >/dev/null
	t1=$(now)
	awk -v a="$t0" -v b="$t1" -v n="$events" -v by="$bytes" -v m="$name" \
	    'BEGIN { printf "%s bytes=%d seconds=%.3f mb_per_s=%.0f events_per_s=%.0f\n",
	    m, by, b - a, by / (b - a) / 1e6, n / (b - a) }' |
	    tee -a "$results" >&2
}
hash_rate sha256sum sha256sum
if command -v openssl >/dev/null 2>&1; then
	hash_rate openssl openssl dgst -sha256
fi

# 5. The table.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'
}
goal() {
	awk -v v="$1" -v g="$2" -v op="$3" 'BEGIN {
		if (v == "") { print "not measured"; exit }
		met = (op == "ge") ? v >= g : v < g
		print met ? "met" : "missed" }'
}

echo
echo "| case | zguard | reference | zguard/reference | goal |"
echo "|---|---:|---:|---:|---|"
for w in $writers; do
	eps=$(field "append writers=$w " events_per_s)
	p99=$(field "append writers=$w " p99_ms)
	ref=$(field "sqlite batch=$w " events_per_s)
	if [ -n "$ref" ]; then
		refcell="$ref events/s (SQLite, $w per commit)"
	else
		refcell="-"
	fi
	g="-"
	if [ "$w" = 64 ]; then
		g="≥ 50,000 events/s: $(goal "$eps" 50000 ge)"
	fi
	plural=s
	[ "$w" = 1 ] && plural=
	echo "| durable appends, $w writer$plural | $eps events/s (p99 $p99 ms) | $refcell | $(ratio "$eps" "$ref") | $g |"
done
for b in $batches; do
	case " $writers " in *" $b "*) continue ;; esac
	echo "| - | - | $(field "sqlite batch=$b " events_per_s) events/s (SQLite, $b per commit) | - | - |"
done
veps=$(field "verify " events_per_s)
seps=$(field "sha256sum " events_per_s)
smb=$(field "sha256sum " mb_per_s)
if [ -n "$veps" ]; then
	vstatus=$(field "verify " status)
	echo "| zguard audit verify, $events events ($vstatus) | $veps events/s | $seps events/s (sha256sum, $smb MB/s) | $(ratio "$veps" "$seps") | ≥ 1,000,000 events/s: $(goal "$veps" 1000000 ge) |"
else
	echo "| zguard audit verify | not available | $seps events/s (sha256sum, $smb MB/s) | - | not measured |"
fi
oeps=$(field "openssl " events_per_s)
if [ -n "$oeps" ] && [ -n "$veps" ]; then
	echo "| (same verify run) | $veps events/s | $oeps events/s (openssl dgst -sha256, $(field "openssl " mb_per_s) MB/s) | $(ratio "$veps" "$oeps") | - |"
fi
scan=$(field "scan " events_per_s)
echo "| library scan: read + leaf hashes + root | $scan events/s | $seps events/s (sha256sum) | $(ratio "$scan" "$seps") | - |"
pmean=$(field "proof " mean_us)
pp99=$(field "proof " p99_us)
pn=$(field "proof " events)
echo "| inclusion proof, $pn events | mean $pmean µs, p99 $pp99 µs | - | - | < 1 ms (p99): $(goal "$pp99" 1000 lt) |"
echo
echo "build: $(field "build " events) events in $(field "build " seconds) s ($(field "build " events_per_s) events/s), $(field "build " db_bytes) database bytes"
echo "load before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg)"
