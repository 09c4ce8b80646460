/*
 * Time per signing request of the transaction policy check with 1,000
 * rules and 100 limits, on one thread, in four parts reported apart:
 *
 *   evaluate  classify a transaction and evaluate it (fee caps, rules,
 *             charges); CPU only
 *   reserve   the durable reservation, one obj_apply per request, with
 *             the usage records read through the in-process cache
 *   check     check every charged limit without writing, with the usage
 *             records in the cache, as after this process's own writes
 *   check-cold  the same with the cache emptied before each request, so
 *             every usage record is read from SQLite
 *
 * The store is SQLite in a temporary directory. The first 999 rules each
 * allow one other destination, so a request to the benchmark's
 * destination walks all of them and matches the last, which allows any
 * native transfer. Two cases run: 90 of the 100 limits on the native
 * asset (all charged by every request) and 10 on a token (never charged),
 * then 3 native limits and 97 on the token.
 *
 * Run: build/bench/txpolicy_bench [seconds per part, default 2]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "txpolicy/txpolicy.h"

#define NRULES 1000
#define NLIMITS 100

static json_t *
make_policy(int nnative)
{
	json_t *rules = json_array(), *limits = json_array();
	char addr[43], name[32], max[32];
	for (int i = 0; i < NRULES - 1; i++) {
		snprintf(addr, sizeof(addr), "0x%040x", i + 1);
		snprintf(name, sizeof(name), "rule-%d", i);
		json_array_append_new(rules, json_pack("{s:s,s:{s:[s],s:{s:[s]},"
		    "s:{s:s}},s:s}", "name", name, "match", "kinds",
		    "native_transfer", "destinations", "allow", addr, "value",
		    "max", "1000000", "action", "allow"));
	}
	json_array_append_new(rules, json_pack("{s:s,s:{s:[s]},s:s}", "name",
	    "any-native", "match", "kinds", "native_transfer", "action",
	    "allow"));
	for (int i = 0; i < NLIMITS; i++) {
		snprintf(name, sizeof(name), "limit-%d", i);
		/* Room for far more requests than a run makes. */
		snprintf(max, sizeof(max), "%d000000000000", i + 1);
		json_array_append_new(limits, json_pack("{s:s,s:s,s:s,s:{s:s,"
		    "s:s},s:s}", "name", name, "scope", i % 2 ? "key" :
		    "initiator", "asset", i < nnative ? "native" :
		    "0x1111111111111111111111111111111111111111", "window",
		    "type", "day", "timezone", "Europe/Berlin", "max", max));
	}
	return json_pack("{s:s,s:{s:[s]},s:o,s:o}", "name", "bench", "keys",
	    "ids", "key_000000000000000000000001", "rules", rules, "limits",
	    limits);
}

static void
report(const char *part, int64_t n, int64_t us)
{
	printf("%-10s %8lld requests  %8.2f us/request\n", part, (long long)n,
	    n > 0 ? (double)us / (double)n : 0.0);
}

static void
remove_store(const char *dir)
{
	const char *names[] = {"zguard.db", "zguard.db-wal", "zguard.db-shm",
	    "lock"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char path[96];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

/* Runs every part with nnative of the limits charged; returns 0 or 1. */
static int
run_case(int nnative, int64_t limit_us)
{
	zg_txpolicy *p = NULL;
	zg_store *st = NULL;
	zg_errmsg em = {0};
	char dir[] = "/tmp/zg_txpolicy_bench_XXXXXX";
	json_t *obj = make_policy(nnative);

	if (obj == NULL || zg_txpolicy_from_json(obj, NULL, &p, NULL,
	    &em) != ZG_OK) {
		fprintf(stderr, "txpolicy_bench: policy: %s\n", em.text);
		return 1;
	}
	json_decref(obj);
	if (mkdtemp(dir) == NULL || zg_store_sqlite_open(dir, &st) != ZG_OK) {
		fprintf(stderr, "txpolicy_bench: cannot open a store in %s\n",
		    dir);
		return 1;
	}
	printf("%d of %d limits charged\n", nnative, NLIMITS);

	zg_tx tx;
	memset(&tx, 0, sizeof(tx));
	tx.type = 2;
	tx.has_to = true;
	memset(tx.to, 0xee, sizeof(tx.to));
	zg_u256_from_u64(&tx.chain_id, 1);
	zg_u256_from_u64(&tx.gas, 21000);
	zg_u256_from_u64(&tx.max_fee_per_gas, 30000000000ULL);
	zg_u256_from_u64(&tx.value, 1000);
	const char *const roles[] = {"ops"};
	zg_txrequest req = {.key_id = "key_000000000000000000000001",
	    .key_label = "", .initiator_id = "alice", .roles = roles,
	    .nroles = 1};
	zg_txdecision d;
	int64_t n = 0, start = zg_time_mono_us(), elapsed;

	do {
		if (zg_txfacts_from_tx(&tx, p, &req.facts, &em) != ZG_OK ||
		    zg_txpolicy_evaluate(p, &req, &d) != ZG_OK ||
		    d.action != ZG_TXACTION_ALLOW ||
		    d.ncharges != (size_t)nnative) {
			fprintf(stderr, "txpolicy_bench: unexpected decision: "
			    "%s\n", d.reason);
			return 1;
		}
		if (++n % 1000 != 0)
			zg_txdecision_free(&d);
		else if ((elapsed = zg_time_mono_us() - start) >= limit_us)
			break;
		else
			zg_txdecision_free(&d);
	} while (1);
	report("evaluate", n, elapsed);

	/* Reserve first, so the checks below read records that exist. */
	int64_t now = zg_time_now_us();
	char id[32];
	n = 0;
	start = zg_time_mono_us();
	do {
		snprintf(id, sizeof(id), "req-%lld", (long long)n);
		if (zg_txlimits_reserve(st, p, d.charges, d.ncharges, id, now,
		    &em) != ZG_OK) {
			fprintf(stderr, "txpolicy_bench: reserve: %s\n", em.text);
			return 1;
		}
		n++;
	} while ((elapsed = zg_time_mono_us() - start) < limit_us);
	report("reserve", n, elapsed);

	for (int cold = 0; cold < 2; cold++) {
		n = 0;
		start = zg_time_mono_us();
		do {
			if (cold)
				zg_txlimits_forget_store(st);
			if (zg_txlimits_check(st, p, d.charges, d.ncharges, now,
			    &em) != ZG_OK) {
				fprintf(stderr, "txpolicy_bench: check: %s\n",
				    em.text);
				return 1;
			}
			n++;
		} while ((elapsed = zg_time_mono_us() - start) < limit_us);
		report(cold ? "check-cold" : "check", n, elapsed);
	}

	zg_txdecision_free(&d);
	zg_txpolicy_free(p);
	zg_txlimits_forget_store(st);
	st->ops->close(st);
	remove_store(dir);
	return 0;
}

int
main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	int64_t limit_us = (int64_t)(seconds * 1e6);

	if (run_case(90, limit_us) != 0 || run_case(3, limit_us) != 0)
		return 1;
	return 0;
}
