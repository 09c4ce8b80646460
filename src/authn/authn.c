#include "authn/authn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/timeutil.h"

#define TOKEN_KEY_ID "token_hmac"
#define META_BOOTSTRAP "bootstrap_token"

static bool
hex_tail_valid(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool
zg_user_id_valid(const char *user_id)
{
	size_t n = strlen(user_id);
	if (n == 0 || n >= ZG_USER_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = user_id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("._@:+-", c) != NULL))
			return false;
	}
	return true;
}

void
zg_principal_clear(zg_principal *p)
{
	free(p->scope);
	p->scope = NULL;
}

bool
zg_token_id_valid(const char *id)
{
	return strncmp(id, "tok_", 4) == 0 && hex_tail_valid(id + 4, 24);
}

static zg_err
token_hash(zg_vault *v, const char *token, size_t len, uint8_t out[32])
{
	return zg_keyring_hmac(v->kr, TOKEN_KEY_ID, (const uint8_t *)token, len,
	    out);
}

zg_err
zg_authn_bearer(zg_vault *v, const char *header, int64_t now,
    zg_principal *out, zg_errmsg *em)
{
	zg_err err;
	uint8_t hash[32];
	zg_token_row row;

	memset(out, 0, sizeof(*out));
	if (header == NULL)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED,
		    "missing Authorization header; send \"Authorization: Bearer "
		    "<token>\"");
	if (strncasecmp(header, "Bearer ", 7) != 0)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED,
		    "the Authorization header must use the Bearer scheme");
	const char *token = header + 7;
	while (*token == ' ')
		token++;
	size_t len = strlen(token);
	while (len > 0 && token[len - 1] == ' ')
		len--;
	bool hex = len == ZG_TOKEN_LEN;
	for (size_t i = 4; hex && i < len; i++)
		hex = (token[i] >= '0' && token[i] <= '9') ||
		    (token[i] >= 'a' && token[i] <= 'f');
	if (len != ZG_TOKEN_LEN || strncmp(token, ZG_TOKEN_PREFIX, 4) != 0 ||
	    !hex)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED,
		    "the bearer token is malformed; zguard tokens are \"zgt_\" "
		    "and 64 lower-case hex digits");
	if ((err = token_hash(v, token, len, hash)) != ZG_OK)
		return err;
	if (v->tokens != NULL && zg_token_cache_get(v->tokens, hash, now, &row)) {
		err = ZG_OK;
	} else {
		err = v->st->ops->token_get_by_hash(v->st, hash, &row);
		if (err == ZG_ERR_NOT_FOUND || (err == ZG_OK &&
		    !zg_ct_equal(row.hash, hash, sizeof(hash))))
			return zg_fail(em, ZG_ERR_UNAUTHENTICATED,
			    "unknown token");
		if (err != ZG_OK)
			return err;
		if (v->tokens != NULL && row.revoked_at == 0)
			zg_token_cache_put(v->tokens, &row, now);
	}
	if (row.revoked_at != 0)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED,
		    "token %s was revoked", row.id);
	if (row.expires_at != 0 && now >= row.expires_at)
		return zg_fail(em, ZG_ERR_UNAUTHENTICATED,
		    "token %s has expired", row.id);
	snprintf(out->user_id, sizeof(out->user_id), "%s", row.user_id);
	snprintf(out->token_id, sizeof(out->token_id), "%s", row.id);
	snprintf(out->subject_type, sizeof(out->subject_type), "%s",
	    row.subject_type[0] ? row.subject_type : "user");
	snprintf(out->auth_method, sizeof(out->auth_method), "token");
	if (row.scope[0] != '\0' && (out->scope = strdup(row.scope)) == NULL)
		return ZG_ERR_NOMEM;
	out->token_created_at = row.created_at;
	return ZG_OK;
}

zg_err
zg_token_create(zg_vault *v, const char *user_id, const char *subject_type,
    const char *scope, int64_t ttl_s, char token[ZG_TOKEN_LEN + 1],
    zg_token_row *row)
{
	zg_err err = ZG_ERR_INTERNAL;
	int64_t now = zg_time_now_us();

	memset(row, 0, sizeof(*row));
	if ((err = zg_make_id("tok_", 12, row->id, sizeof(row->id))) != ZG_OK)
		goto out;
	if ((err = zg_make_id(ZG_TOKEN_PREFIX, 32, token, ZG_TOKEN_LEN + 1)) != ZG_OK)
		goto out;
	if ((err = token_hash(v, token, ZG_TOKEN_LEN, row->hash)) != ZG_OK)
		goto out;
	snprintf(row->user_id, sizeof(row->user_id), "%s", user_id);
	snprintf(row->subject_type, sizeof(row->subject_type), "%s",
	    subject_type ? subject_type : "user");
	if (scope != NULL && strlen(scope) >= sizeof(row->scope)) {
		err = ZG_ERR_TOO_LARGE;
		goto out;
	}
	snprintf(row->scope, sizeof(row->scope), "%s", scope ? scope : "");
	row->created_at = now;
	row->expires_at = ttl_s > 0 ? now + ttl_s * 1000000 : 0;
	if ((err = v->st->ops->token_insert(v->st, row)) != ZG_OK)
		goto out;
	zg_log_info("token created", ZGF_S("token_id", row->id),
	    ZGF_S("user_id", user_id), ZGF_S("subject_type",
	    row->subject_type), ZGF_I("scoped", row->scope[0] != '\0'));
	/* success */
	err = ZG_OK;
out:
	if (err != ZG_OK)
		zg_wipe(token, ZG_TOKEN_LEN + 1);
	return err;
}

zg_err
zg_token_revoke(zg_vault *v, const char *id)
{
	zg_err err = v->st->ops->token_revoke(v->st, id, zg_time_now_us());
	if (v->tokens != NULL)
		zg_token_cache_forget(v->tokens, id);
	if (err == ZG_OK)
		zg_log_info("token revoked", ZGF_S("token_id", id));
	return err;
}

zg_err
zg_token_bootstrap(zg_vault *v, const char *data_dir, zg_errmsg *em)
{
	zg_err err = ZG_ERR_INTERNAL;
	uint8_t *marker = NULL;
	size_t marker_len = 0;
	char token[ZG_TOKEN_LEN + 2];
	char path[1100];
	zg_token_row row;
	int fd = -1;

	err = v->st->ops->meta_get(v->st, META_BOOTSTRAP, &marker, &marker_len);
	free(marker);
	if (err == ZG_OK)
		return ZG_OK;
	if (err != ZG_ERR_NOT_FOUND)
		return err;

	snprintf(path, sizeof(path), "%s/%s", data_dir, ZG_ADMIN_TOKEN_FILE);
	if ((err = zg_token_create(v, ZG_BOOTSTRAP_USER, NULL, NULL, 0, token,
	    &row)) != ZG_OK)
		goto out;
	/* A stale file from an interrupted first start is replaced. */
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	token[ZG_TOKEN_LEN] = '\n';
	if (fd < 0 || write(fd, token, ZG_TOKEN_LEN + 1) != ZG_TOKEN_LEN + 1 ||
	    fsync(fd) != 0) {
		err = zg_fail(em, ZG_ERR_IO, "cannot write %s: %s", path,
		    strerror(errno));
		goto out;
	}
	if ((err = v->st->ops->meta_put(v->st, META_BOOTSTRAP,
	    (const uint8_t *)row.id, strlen(row.id))) != ZG_OK)
		goto out;
	zg_log_info("wrote the bootstrap admin token", ZGF_S("path", path),
	    ZGF_S("token_id", row.id));
	/* success */
	err = ZG_OK;
out:
	zg_wipe(token, sizeof(token));
	if (fd >= 0)
		close(fd);
	return err;
}
