/*
 * Keeps docs/api/openapi.yaml in step with the route table zg_routes[].
 *
 * A small line-based reader takes from the document, under "paths:", each
 * path (a line indented by exactly two spaces), each operation (a method
 * key indented by exactly four spaces) and, at six spaces inside an
 * operation, x-zguard-resource, x-zguard-action and "security: []". The
 * cases then check both directions: every route is documented with the
 * same resource, action and authentication, and every documented
 * operation is a route. The file is found under $ZGUARD_SOURCE_DIR, which
 * CMake sets for every test, or under the current directory.
 */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "server/server.h"

#define DOC_PATH "docs/api/openapi.yaml"
#define MAX_OPS 256
#define FIELD_MAX 160

struct doc_op {
	char method[16];              /* upper case, as in zg_routes[] */
	char path[FIELD_MAX];
	char resource[FIELD_MAX];
	char action[FIELD_MAX];
	bool no_auth;                 /* "security: []" on the operation */
	int line;
};

struct doc {
	char file[1024];
	struct doc_op ops[MAX_OPS];
	size_t nops;
	bool has_paths;
};

static struct doc doc;

static const char *const http_methods[] = {
	"get", "put", "post", "delete", "options", "head", "patch", "trace",
	NULL,
};

static size_t
indent_of(const char *line)
{
	size_t n = 0;
	while (line[n] == ' ')
		n++;
	return n;
}

/* Cuts trailing spaces and a line end. */
static void
rstrip(char *s)
{
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r' ||
	    s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* Copies a scalar, without the quotes around it, into out. */
static void
copy_scalar(const char *value, char *out, size_t outsz)
{
	while (*value == ' ')
		value++;
	size_t n = strlen(value);
	if (n >= 2 && (value[0] == '"' || value[0] == '\'') &&
	    value[n - 1] == value[0]) {
		value++;
		n -= 2;
	}
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, value, n);
	out[n] = '\0';
}

/* Returns the method named by key ("post:"), or NULL. */
static const char *
method_key(const char *key)
{
	for (const char *const *m = http_methods; *m != NULL; m++) {
		size_t n = strlen(*m);
		if (strncmp(key, *m, n) == 0 && key[n] == ':' && key[n + 1] == '\0')
			return *m;
	}
	return NULL;
}

/* Reads one line inside "paths:" into d. cur is the operation being read. */
static void
parse_paths_line(struct doc *d, const char *line, int lineno,
    char *path, struct doc_op **cur)
{
	size_t indent = indent_of(line);
	const char *key = line + indent;

	if (indent == 2) {
		*cur = NULL;
		path[0] = '\0';
		size_t n = strlen(key);
		if (key[0] == '/' && n > 1 && key[n - 1] == ':' &&
		    n - 1 < FIELD_MAX) {
			memcpy(path, key, n - 1);
			path[n - 1] = '\0';
		}
		return;
	}
	if (indent == 4) {
		const char *m = method_key(key);
		*cur = NULL;
		if (m == NULL || path[0] == '\0' || d->nops == MAX_OPS)
			return;
		struct doc_op *op = &d->ops[d->nops++];
		memset(op, 0, sizeof(*op));
		for (size_t i = 0; m[i] != '\0' && i < sizeof(op->method) - 1; i++)
			op->method[i] = (char)toupper((unsigned char)m[i]);
		snprintf(op->path, sizeof(op->path), "%s", path);
		op->line = lineno;
		*cur = op;
		return;
	}
	if (indent != 6 || *cur == NULL)
		return;
	if (strncmp(key, "x-zguard-resource:", 18) == 0)
		copy_scalar(key + 18, (*cur)->resource, sizeof((*cur)->resource));
	else if (strncmp(key, "x-zguard-action:", 16) == 0)
		copy_scalar(key + 16, (*cur)->action, sizeof((*cur)->action));
	else if (strcmp(key, "security: []") == 0)
		(*cur)->no_auth = true;
}

static int
load_doc(struct doc *d)
{
	const char *root = getenv("ZGUARD_SOURCE_DIR");
	char line[4096];
	char path[FIELD_MAX] = "";
	struct doc_op *cur = NULL;
	bool in_paths = false;
	int lineno = 0;

	memset(d, 0, sizeof(*d));
	snprintf(d->file, sizeof(d->file), "%s/%s",
	    root != NULL && root[0] != '\0' ? root : ".", DOC_PATH);
	FILE *f = fopen(d->file, "r");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		rstrip(line);
		size_t indent = indent_of(line);
		if (line[indent] == '\0' || line[indent] == '#')
			continue;
		if (indent == 0) {
			in_paths = strcmp(line, "paths:") == 0;
			d->has_paths |= in_paths;
			cur = NULL;
			continue;
		}
		if (in_paths)
			parse_paths_line(d, line, lineno, path, &cur);
	}
	fclose(f);
	return 0;
}

static const struct doc_op *
find_op(const struct doc *d, const char *method, const char *path)
{
	for (size_t i = 0; i < d->nops; i++)
		if (strcmp(d->ops[i].method, method) == 0 &&
		    strcmp(d->ops[i].path, path) == 0)
			return &d->ops[i];
	return NULL;
}

static const zg_route *
find_route(const char *method, const char *path)
{
	for (const zg_route *r = zg_routes; r->method != NULL; r++)
		if (strcmp(r->method, method) == 0 &&
		    strcmp(r->pattern, path) == 0)
			return r;
	return NULL;
}

static int
setup(void **state)
{
	if (load_doc(&doc) != 0) {
		print_error("cannot open %s; set ZGUARD_SOURCE_DIR to the source "
		    "tree or run the test from it\n", doc.file);
		return -1;
	}
	return 0;
}

static void
doc_has_operations(void **state)
{
	if (!doc.has_paths)
		fail_msg("%s has no top-level \"paths:\" line", doc.file);
	if (doc.nops == 0)
		fail_msg("%s has no operations under \"paths:\": paths must be "
		    "indented by two spaces and methods by four", doc.file);
	assert_true(doc.nops < MAX_OPS);
}

static void
doc_ops_have_resource_action(void **state)
{
	int bad = 0;
	for (size_t i = 0; i < doc.nops; i++) {
		const struct doc_op *op = &doc.ops[i];
		const zg_route *r = find_route(op->method, op->path);
		/* Health and unseal have no resource; routes_match_resource_action
		 * checks that their operations have none either. */
		if (r != NULL && r->resource == NULL)
			continue;
		if (op->resource[0] == '\0' || op->action[0] == '\0') {
			print_error("%s:%d: %s %s lacks x-zguard-resource or "
			    "x-zguard-action (six spaces deep in the "
			    "operation)\n", doc.file, op->line, op->method,
			    op->path);
			bad++;
		}
	}
	if (bad > 0)
		fail_msg("%d operation(s) lack x-zguard-resource or "
		    "x-zguard-action", bad);
}

static void
doc_ops_unique(void **state)
{
	int dup = 0;
	for (size_t i = 0; i < doc.nops; i++)
		for (size_t j = i + 1; j < doc.nops; j++)
			if (strcmp(doc.ops[i].method, doc.ops[j].method) == 0 &&
			    strcmp(doc.ops[i].path, doc.ops[j].path) == 0) {
				print_error("%s:%d: %s %s is documented twice\n",
				    doc.file, doc.ops[j].line, doc.ops[j].method,
				    doc.ops[j].path);
				dup++;
			}
	if (dup > 0)
		fail_msg("%d operation(s) are documented twice", dup);
}

static void
routes_documented(void **state)
{
	int missing = 0;
	for (const zg_route *r = zg_routes; r->method != NULL; r++) {
		if (find_op(&doc, r->method, r->pattern) != NULL)
			continue;
		char lower[16] = "";
		for (size_t i = 0; r->method[i] != '\0' && i < sizeof(lower) - 1;
		    i++)
			lower[i] = (char)tolower((unsigned char)r->method[i]);
		print_error("route %s %s is in zg_routes[] (src/server/routes.c) "
		    "but not in %s. Document it there: add the path under "
		    "\"paths:\" (two spaces), the method \"%s:\" (four spaces) "
		    "with \"x-zguard-resource: %s\" and \"x-zguard-action: %s\"%s, "
		    "its request and response schemas and its error "
		    "responses\n", r->method, r->pattern, DOC_PATH, lower,
		    r->resource != NULL ? r->resource : "",
		    r->action != NULL ? r->action : "",
		    (r->flags & ZG_ROUTE_NO_AUTH) ?
		    " (six spaces) and \"security: []\"" : " (six spaces)");
		missing++;
	}
	if (missing > 0)
		fail_msg("%d route(s) of zg_routes[] are not documented in %s; "
		    "see the messages above", missing, DOC_PATH);
}

static void
routes_match_resource_action(void **state)
{
	int bad = 0;
	for (const zg_route *r = zg_routes; r->method != NULL; r++) {
		const struct doc_op *op = find_op(&doc, r->method, r->pattern);
		if (op == NULL)
			continue;
		/* NULL in the table: the operation must have neither key. */
		const char *resource = r->resource != NULL ? r->resource : "";
		const char *action = r->action != NULL ? r->action : "";
		if (strcmp(op->resource, resource) != 0 ||
		    strcmp(op->action, action) != 0) {
			print_error("%s:%d: %s %s documents resource \"%s\" and "
			    "action \"%s\", but zg_routes[] has \"%s\" and "
			    "\"%s\"; make them equal\n", doc.file, op->line,
			    r->method, r->pattern, op->resource, op->action,
			    resource, action);
			bad++;
		}
	}
	if (bad > 0)
		fail_msg("%d operation(s) differ from zg_routes[] in resource "
		    "or action", bad);
}

static void
routes_match_auth(void **state)
{
	int bad = 0;
	for (const zg_route *r = zg_routes; r->method != NULL; r++) {
		const struct doc_op *op = find_op(&doc, r->method, r->pattern);
		if (op == NULL)
			continue;
		bool no_auth = (r->flags & ZG_ROUTE_NO_AUTH) != 0;
		if (op->no_auth != no_auth) {
			print_error("%s:%d: %s %s %s \"security: []\", but the "
			    "route %s ZG_ROUTE_NO_AUTH\n", doc.file, op->line,
			    r->method, r->pattern,
			    op->no_auth ? "has" : "lacks",
			    no_auth ? "has" : "lacks");
			bad++;
		}
	}
	if (bad > 0)
		fail_msg("%d operation(s) differ from zg_routes[] in "
		    "authentication", bad);
}

static void
documented_ops_exist(void **state)
{
	int extra = 0;
	for (size_t i = 0; i < doc.nops; i++) {
		const struct doc_op *op = &doc.ops[i];
		if (find_route(op->method, op->path) != NULL)
			continue;
		print_error("%s:%d: %s %s is documented, but zg_routes[] in "
		    "src/server/routes.c has no such route; remove it from the "
		    "document or add the route\n", doc.file, op->line,
		    op->method, op->path);
		extra++;
	}
	if (extra > 0)
		fail_msg("%d documented operation(s) are not in zg_routes[]",
		    extra);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(doc_has_operations),
		cmocka_unit_test(doc_ops_have_resource_action),
		cmocka_unit_test(doc_ops_unique),
		cmocka_unit_test(routes_documented),
		cmocka_unit_test(routes_match_resource_action),
		cmocka_unit_test(routes_match_auth),
		cmocka_unit_test(documented_ops_exist),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
