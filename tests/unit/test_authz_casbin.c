/*
 * Differential test of the permission engine against node-casbin 5.51.1
 * (tests/package.json), an implementation written independently of
 * zguard. It generates random
 * worlds of roles with inheritance, allow and deny permissions and
 * grants, decides random requests in each with zguard and with casbin
 * (tests/js/casbin_diff.js), and requires the same decision every time.
 * Conditions and expiry are outside what both implement, so they are not
 * generated. ZG_SEED replays a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "authz/engine.h"

#define WORLDS 1000
#define REQUESTS 10           /* per world: 10,000 decisions in all */
#define ROLES_MAX 8           /* casbin's default role depth limit is 10 */
#define USERS 4

static const char *const segments[] = {"a", "b", "c", "ab", "*", "**",
    "a*", "*b"};
static const char *const path_segments[] = {"a", "b", "c", "ab", "ba",
    "abb"};
static const char *const actions[] = {"read", "write", "delete", "*"};

typedef struct world {
	zg_authz_role roles[ROLES_MAX];
	size_t nroles;
	zg_authz_grant grants[USERS * ROLES_MAX];
	size_t ngrants;
	char paths[REQUESTS][64];
	int users[REQUESTS], acts[REQUESTS];
} world;

static char *
dup_str(const char *s)
{
	char *d = strdup(s);
	assert_non_null(d);
	return d;
}

static void
random_pattern(char *out, size_t outsz, const char *const *from, size_t n)
{
	size_t len = 0, nseg = 1 + (size_t)lrand48() % 4;
	out[0] = '\0';
	for (size_t i = 0; i < nseg; i++)
		len += (size_t)snprintf(out + len, outsz - len, "%s%s",
		    i > 0 ? "/" : "", from[lrand48() % (long)n]);
}

static void
world_make(world *w)
{
	memset(w, 0, sizeof(*w));
	w->nroles = 1 + (size_t)lrand48() % ROLES_MAX;
	for (size_t i = 0; i < w->nroles; i++) {
		zg_authz_role *r = &w->roles[i];
		snprintf(r->name, sizeof(r->name), "r%zu", i);
		r->description = dup_str("");
		r->inherits = calloc(ROLES_MAX, sizeof(char *));
		/* Only lower-numbered roles, so there is no cycle. */
		for (size_t j = 0; j < i; j++)
			if (lrand48() % 10 < 3)
				r->inherits[r->ninherits++] = dup_str(
				    w->roles[j].name);
		r->nperms = (size_t)lrand48() % 6;
		r->perms = calloc(r->nperms + 1, sizeof(zg_authz_perm));
		for (size_t k = 0; k < r->nperms; k++) {
			zg_authz_perm *p = &r->perms[k];
			char pat[64];
			random_pattern(pat, sizeof(pat), segments, 8);
			p->resource = dup_str(pat);
			p->nactions = 1 + (size_t)lrand48() % 2;
			p->actions = calloc(p->nactions, sizeof(char *));
			for (size_t a = 0; a < p->nactions; a++)
				p->actions[a] = dup_str(actions[lrand48() % 4]);
			p->effect = lrand48() % 4 == 0 ? ZG_AUTHZ_DENY :
			    ZG_AUTHZ_ALLOW;
		}
	}
	for (int u = 0; u < USERS; u++) {
		for (size_t i = 0; i < w->nroles; i++) {
			if (lrand48() % 10 >= 3)
				continue;
			zg_authz_grant *g = &w->grants[w->ngrants++];
			snprintf(g->user_id, sizeof(g->user_id), "u%d", u);
			snprintf(g->role_id, sizeof(g->role_id), "%s",
			    w->roles[i].name);
		}
	}
	for (int q = 0; q < REQUESTS; q++) {
		random_pattern(w->paths[q], sizeof(w->paths[q]), path_segments, 6);
		w->users[q] = (int)(lrand48() % USERS);
		w->acts[q] = (int)(lrand48() % 3);
	}
}

/* Writes w as one JSON line in the format casbin_diff.js reads. */
static void
world_write(const world *w, FILE *f)
{
	json_t *p = json_array(), *g = json_array(), *r = json_array();
	for (size_t i = 0; i < w->nroles; i++) {
		const zg_authz_role *role = &w->roles[i];
		for (size_t k = 0; k < role->nperms; k++) {
			const zg_authz_perm *perm = &role->perms[k];
			for (size_t a = 0; a < perm->nactions; a++)
				json_array_append_new(p, json_pack("[s,s,s,s]",
				    role->name, perm->resource, perm->actions[a],
				    perm->effect == ZG_AUTHZ_DENY ? "deny" :
				    "allow"));
		}
		for (size_t k = 0; k < role->ninherits; k++)
			json_array_append_new(g, json_pack("[s,s]", role->name,
			    role->inherits[k]));
	}
	for (size_t i = 0; i < w->ngrants; i++)
		json_array_append_new(g, json_pack("[s,s]",
		    w->grants[i].user_id, w->grants[i].role_id));
	for (int q = 0; q < REQUESTS; q++) {
		char user[8];
		snprintf(user, sizeof(user), "u%d", w->users[q]);
		json_array_append_new(r, json_pack("[s,s,s]", user, w->paths[q],
		    actions[w->acts[q]]));
	}
	json_t *line = json_pack("{s:o,s:o,s:o}", "p", p, "g", g, "r", r);
	assert_int_equal(json_dumpf(line, f, JSON_COMPACT), 0);
	fputc('\n', f);
	json_decref(line);
}

static void
world_decide(const world *w, char out[REQUESTS + 1])
{
	zg_authz_engine *e = zg_authz_engine_new();
	zg_errmsg em;
	assert_non_null(e);
	assert_int_equal(zg_authz_roles_check(w->roles, w->nroles, &em), ZG_OK);
	assert_int_equal(zg_authz_engine_load(e, w->roles, w->nroles,
	    w->grants, w->ngrants, 1), ZG_OK);
	for (int q = 0; q < REQUESTS; q++) {
		char user[8];
		zg_authz_decision d;
		snprintf(user, sizeof(user), "u%d", w->users[q]);
		zg_authz_subject s = {.id = user, .type = "user"};
		assert_int_equal(zg_authz_decide(e, &s, w->paths[q],
		    actions[w->acts[q]], NULL, 0, &d, &em), ZG_OK);
		out[q] = d.allowed ? '1' : '0';
	}
	out[REQUESTS] = '\0';
	zg_authz_engine_free(e);
}

static bool
node_available(void)
{
	return system("node --version >/dev/null 2>&1") == 0;
}

static void
test_casbin_agrees(void **state)
{
	if (!node_available()) {
		print_message("node is not on PATH: skipping the casbin "
		    "comparison\n");
		skip();
	}
	unsigned long seed = (unsigned long)time(NULL) ^
	    ((unsigned long)getpid() << 16);
	const char *env = getenv("ZG_SEED");
	if (env != NULL)
		seed = strtoul(env, NULL, 10);
	print_message("seed %lu (set ZG_SEED=%lu to replay)\n", seed, seed);
	srand48((long)seed);

	/* ctest sets ZGUARD_SOURCE_DIR; otherwise take it from this file. */
	char src[512];
	const char *dir = getenv("ZGUARD_SOURCE_DIR");
	if (dir != NULL) {
		snprintf(src, sizeof(src), "%s", dir);
	} else {
		/* A relative __FILE__ is relative to the build's directory,
		 * taken here to be the source root. */
		snprintf(src, sizeof(src), "%s", __FILE__);
		char *cut = strstr(src, "tests/unit/");
		assert_non_null(cut);
		if (cut == src)
			snprintf(src, sizeof(src), ".");
		else
			cut[-1] = '\0';
	}

	char file[] = "/tmp/zg_casbin_XXXXXX";
	int fd = mkstemp(file);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	static world worlds[WORLDS];
	static char ours[WORLDS][REQUESTS + 1];
	for (int i = 0; i < WORLDS; i++) {
		world_make(&worlds[i]);
		world_write(&worlds[i], f);
		world_decide(&worlds[i], ours[i]);
	}
	assert_int_equal(fclose(f), 0);

	char cmd[1200];
	snprintf(cmd, sizeof(cmd), "node '%s/tests/js/casbin_diff.js' '%s'",
	    src, file);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[256];
	int i = 0, mismatches = 0;
	for (; i < WORLDS && fgets(line, sizeof(line), p) != NULL; i++) {
		line[strcspn(line, "\n")] = '\0';
		if (strcmp(line, ours[i]) == 0)
			continue;
		if (mismatches++ < 5)
			print_message("world %d: casbin %s, zguard %s\n", i, line,
			    ours[i]);
	}
	int status = pclose(p);
	int nallowed = 0;
	for (int k = 0; k < WORLDS; k++)
		for (int q = 0; q < REQUESTS; q++)
			nallowed += ours[k][q] == '1';
	print_message("%d of %d decisions were allow\n", nallowed,
	    WORLDS * REQUESTS);
	assert_int_equal(status, 0);
	assert_int_equal(i, WORLDS);
	if (mismatches > 0)
		fail_msg("%d of %d worlds differ; worlds are in %s (seed %lu)",
		    mismatches, WORLDS, file, seed);
	unlink(file);
	for (int k = 0; k < WORLDS; k++)
		for (size_t r = 0; r < worlds[k].nroles; r++)
			zg_authz_role_free(&worlds[k].roles[r]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_casbin_agrees),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
