/* Release of the rows that store operations return. */
#include "store/store.h"

#include <stdlib.h>

#include "base/buf.h"

void
zg_cred_row_free(zg_cred_row *c)
{
	if (c == NULL)
		return;
	free(c->metadata_json);
	free(c->permissions_json);
	c->metadata_json = NULL;
	c->permissions_json = NULL;
}

void
zg_cred_rows_free(zg_cred_row *rows, size_t n)
{
	if (rows == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		zg_cred_row_free(&rows[i]);
	free(rows);
}

/* Version blobs and wrapped keys are ciphertexts, but are wiped anyway. */
void
zg_cred_version_row_free(zg_cred_version_row *v)
{
	if (v == NULL)
		return;
	zg_wipe(v->blob, v->blob_len);
	free(v->blob);
	v->blob = NULL;
	v->blob_len = 0;
}

void
zg_wrapped_keys_free(zg_wrapped_key *keys, size_t n)
{
	if (keys == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		zg_wipe(keys[i].blob, keys[i].blob_len);
		free(keys[i].blob);
	}
	free(keys);
}

/* Canonical audit events name users and resources, so they are wiped. */
void
zg_audit_rows_free(zg_audit_row *rows, size_t n)
{
	if (rows == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		zg_wipe(rows[i].canonical, rows[i].canonical_len);
		free(rows[i].canonical);
	}
	free(rows);
}
