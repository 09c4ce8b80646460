/*
 * Time per signing request of the signing gate's work before the limit
 * check, on one thread, against a SQLite store in a temporary directory
 * holding one policy of 1,000 rules and 100 limits and one emergency stop
 * on another key:
 *
 *   acquire   read the gate counter and take the cached snapshot. Every
 *             signature pays this, so that it applies the stops and
 *             policy changes of other processes at once.
 *   decide    acquire, then stops, covering policies and evaluation
 *             (zg_txgate_decide with the transaction classified per
 *             policy)
 *
 * The policy is the one bench/txpolicy_bench.c builds, in smaller form:
 * 999 rules that each allow another destination, then one that allows
 * any native transfer, so every request walks all rules.
 *
 * Run: build/bench/txgate_bench [seconds per part, default 2]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "txpolicy/gate.h"

#define NRULES 1000
#define NLIMITS 100
#define KEY_ID "key_000000000000000000000001"

static json_t *
make_policy(void)
{
	json_t *rules = json_array(), *limits = json_array();
	char addr[43], name[32];
	for (int i = 0; i < NRULES - 1; i++) {
		snprintf(addr, sizeof(addr), "0x%040x", i + 1);
		snprintf(name, sizeof(name), "rule-%d", i);
		json_array_append_new(rules, json_pack("{s:s,s:{s:{s:[s]}},s:s}",
		    "name", name, "match", "destinations", "allow", addr,
		    "action", "allow"));
	}
	json_array_append_new(rules, json_pack("{s:s,s:{s:[s]},s:s}", "name",
	    "any-native", "match", "kinds", "native_transfer", "action",
	    "allow"));
	for (int i = 0; i < NLIMITS; i++) {
		snprintf(name, sizeof(name), "limit-%d", i);
		json_array_append_new(limits, json_pack("{s:s,s:s,s:s,s:{s:s,"
		    "s:s},s:s}", "name", name, "scope", "key", "asset", "native",
		    "window", "type", "day", "timezone", "UTC", "max",
		    "1000000000000000000000"));
	}
	return json_pack("{s:s,s:{s:[s]},s:o,s:o}", "name", "bench", "keys",
	    "ids", KEY_ID, "rules", rules, "limits", limits);
}

static void
report(const char *part, int64_t n, int64_t us)
{
	printf("%-9s %8lld requests  %8.2f us/request\n", part, (long long)n,
	    n > 0 ? (double)us / (double)n : 0.0);
}

int
main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	int64_t limit_us = (int64_t)(seconds * 1e6);
	char dir[] = "/tmp/zg_txgate_bench_XXXXXX";
	zg_txpolicy *p = NULL;
	zg_store *st = NULL;
	zg_txgate *g = NULL;
	zg_errmsg em = {0};
	bool created;
	json_t *obj = make_policy();

	if (mkdtemp(dir) == NULL || zg_store_sqlite_open(dir, &st) != ZG_OK ||
	    zg_txgate_open(st, &g, &em) != ZG_OK) {
		fprintf(stderr, "txgate_bench: cannot open a store in %s\n", dir);
		return 1;
	}
	if (obj == NULL || zg_txpolicy_from_json(obj, NULL, &p, NULL,
	    &em) != ZG_OK || zg_txgate_put_policy(st, p, &created,
	    &em) != ZG_OK) {
		fprintf(stderr, "txgate_bench: policy: %s\n", em.text);
		return 1;
	}
	json_decref(obj);
	zg_txstop stop = {.scope = ZG_TXSTOP_KEY, .created_at = 1};
	snprintf(stop.target, sizeof(stop.target), "key_0000000000000000000000ff");
	snprintf(stop.reason, sizeof(stop.reason), "benchmark");
	snprintf(stop.created_by, sizeof(stop.created_by), "bench");
	if (zg_txstops_add(st, &stop, &em) != ZG_OK) {
		fprintf(stderr, "txgate_bench: stop: %s\n", em.text);
		return 1;
	}

	zg_tx tx;
	memset(&tx, 0, sizeof(tx));
	tx.type = 2;
	tx.has_to = true;
	memset(tx.to, 0xee, sizeof(tx.to));
	zg_u256_from_u64(&tx.chain_id, 1);
	zg_u256_from_u64(&tx.gas, 21000);
	zg_u256_from_u64(&tx.max_fee_per_gas, 30000000000ULL);
	zg_u256_from_u64(&tx.value, 1000);
	zg_txrequest req = {.key_id = KEY_ID, .key_label = "",
	    .initiator_id = "alice"};
	if (zg_txfacts_from_tx(&tx, NULL, &req.facts, &em) != ZG_OK)
		return 1;

	const zg_txsnapshot *snap;
	int64_t n = 0, start = zg_time_mono_us(), elapsed;
	do {
		if (zg_txgate_acquire(g, &snap, &em) != ZG_OK) {
			fprintf(stderr, "txgate_bench: acquire: %s\n", em.text);
			return 1;
		}
		zg_txgate_release(g, snap);
		n++;
	} while ((elapsed = zg_time_mono_us() - start) < limit_us);
	report("acquire", n, elapsed);

	n = 0;
	start = zg_time_mono_us();
	do {
		zg_txverdict v;
		if (zg_txgate_acquire(g, &snap, &em) != ZG_OK ||
		    zg_txgate_decide(snap, &req, &tx, false, false, &v,
		    &em) != ZG_OK || v.action != ZG_TXACTION_ALLOW ||
		    v.ncharges != 1 || v.charges[0].n != NLIMITS) {
			fprintf(stderr, "txgate_bench: unexpected verdict: %s\n",
			    em.text);
			return 1;
		}
		zg_txverdict_free(&v);
		zg_txgate_release(g, snap);
		n++;
	} while ((elapsed = zg_time_mono_us() - start) < limit_us);
	report("decide", n, elapsed);

	zg_txgate_close(g);
	zg_txpolicy_free(p);
	st->ops->close(st);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "txgate_bench: could not remove %s\n", dir);
	return 0;
}
