/*
 * In-process decisions per second of the permission engine at 10, 1,000
 * and 100,000 rules, on one thread.
 *
 * Rules are allows of one action on "tenants/N/workflows/" followed by a
 * "*" segment, in one role granted to the checked user, and every tenth
 * rule is a deny on "tenants/N/secret". Requests cycle through tenants that exist and ones
 * that do not, so about half are denied. The first decision compiles the
 * user's rules and is timed apart.
 *
 * Run: build/bench/authz_bench [seconds per size, default 2]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz/engine.h"
#include "base/timeutil.h"

static zg_authz_role
make_role(size_t nrules)
{
	zg_authz_role r;
	memset(&r, 0, sizeof(r));
	snprintf(r.name, sizeof(r.name), "bench");
	r.description = strdup("");
	r.perms = calloc(nrules, sizeof(zg_authz_perm));
	for (size_t i = 0; i < nrules; i++) {
		char res[64];
		zg_authz_perm *p = &r.perms[i];
		bool deny = i % 10 == 9;
		snprintf(res, sizeof(res), deny ? "tenants/%zu/secret" :
		    "tenants/%zu/workflows/*", i / 2);
		p->resource = strdup(res);
		p->actions = calloc(1, sizeof(char *));
		p->actions[0] = strdup(i % 3 == 0 ? "update" : "read");
		p->nactions = 1;
		p->effect = deny ? ZG_AUTHZ_DENY : ZG_AUTHZ_ALLOW;
	}
	r.nperms = nrules;
	return r;
}

static int
run(size_t nrules, double seconds)
{
	zg_authz_engine *e = zg_authz_engine_new();
	zg_authz_role role = make_role(nrules);
	zg_authz_grant g;
	memset(&g, 0, sizeof(g));
	snprintf(g.user_id, sizeof(g.user_id), "alice");
	snprintf(g.role_id, sizeof(g.role_id), "bench");
	if (e == NULL || zg_authz_engine_load(e, &role, 1, &g, 1, 1) != ZG_OK) {
		fprintf(stderr, "authz_bench: loading %zu rules failed\n", nrules);
		return 1;
	}
	zg_authz_role_free(&role);

	enum { NPATHS = 1024 };
	static char paths[NPATHS][64];
	for (size_t i = 0; i < NPATHS; i++)
		snprintf(paths[i], sizeof(paths[i]), "tenants/%zu/workflows/w%zu",
		    (i * 7919) % (nrules + 1), i);
	zg_authz_subject s = {.id = "alice", .type = "user",
	    .auth_method = "token", .ip = "127.0.0.1"};
	zg_authz_decision d;
	zg_errmsg em;

	int64_t t0 = zg_time_mono_us();
	if (zg_authz_decide(e, &s, paths[0], "read", NULL, 0, &d, &em) != ZG_OK) {
		fprintf(stderr, "authz_bench: %s\n", em.text);
		return 1;
	}
	int64_t compile_us = zg_time_mono_us() - t0;

	uint64_t checks = 0, allowed = 0;
	int64_t start = zg_time_mono_us(), limit = (int64_t)(seconds * 1e6);
	int64_t elapsed;
	do {
		for (size_t i = 0; i < NPATHS; i++) {
			zg_authz_decide(e, &s, paths[i], "read", NULL, 0, &d, NULL);
			allowed += d.allowed;
		}
		checks += NPATHS;
		elapsed = zg_time_mono_us() - start;
	} while (elapsed < limit);

	printf("rules %7zu  checks/s %10.0f  ns/check %6.0f  allowed %4.1f%%  "
	    "first decision (compile) %.1f ms\n", nrules,
	    checks / (elapsed / 1e6), elapsed * 1e3 / checks,
	    100.0 * allowed / checks, compile_us / 1e3);
	zg_authz_engine_free(e);
	return 0;
}

int
main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	if (seconds <= 0) {
		fprintf(stderr, "usage: authz_bench [seconds per size > 0]\n");
		return 2;
	}
	static const size_t sizes[] = {10, 1000, 100000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (run(sizes[i], seconds) != 0)
			return 1;
	return 0;
}
