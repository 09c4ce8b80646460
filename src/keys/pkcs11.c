/*
 * The PKCS#11 backend: a module loaded with dlopen, one token chosen by its
 * label, a user login shared by a pool of read-write sessions.
 *
 * A module is initialized once per process (C_Initialize with
 * CKF_OS_LOCKING_OK, so the module may be called from any thread) and
 * finalized when the last zg_p11 that uses it closes. Login state belongs
 * to the application, not to a session, so one C_Login serves the pool.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "crypto/secp256k1.h"
#include "keys/keys_internal.h"

#define PIN_MAX 256
#define MODULES_MAX 4

struct zg_p11 {
	struct module *mod;
	CK_FUNCTION_LIST_PTR fl;
	CK_SLOT_ID slot;
	char label[33];
	bool has_eddsa;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	CK_SESSION_HANDLE *sessions; /* all open sessions */
	size_t nsessions;
	CK_SESSION_HANDLE *idle;     /* stack of sessions not lent out */
	size_t nidle;
};

/* A loaded module, shared by every zg_p11 with the same path. */
struct module {
	char path[512];
	void *dl;
	CK_FUNCTION_LIST_PTR fl;
	int refs;
};

static struct module modules[MODULES_MAX];
static pthread_mutex_t modules_mu = PTHREAD_MUTEX_INITIALIZER;

/* DER of the curve OIDs, for CKA_EC_PARAMS. */
static const uint8_t oid_secp256k1[] = {     /* 1.3.132.0.10 */
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a,
};
static const uint8_t oid_p256[] = {          /* 1.2.840.10045.3.1.7 */
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
};
static const uint8_t oid_ed25519[] = {       /* 1.3.101.112 (RFC 8410) */
	0x06, 0x03, 0x2b, 0x65, 0x70,
};

static const char *
rv_name(CK_RV rv)
{
	static const struct {
		CK_RV rv;
		const char *name;
	} names[] = {
		{CKR_HOST_MEMORY, "CKR_HOST_MEMORY"},
		{CKR_GENERAL_ERROR, "CKR_GENERAL_ERROR"},
		{CKR_FUNCTION_FAILED, "CKR_FUNCTION_FAILED"},
		{CKR_ARGUMENTS_BAD, "CKR_ARGUMENTS_BAD"},
		{CKR_DEVICE_ERROR, "CKR_DEVICE_ERROR"},
		{CKR_DEVICE_MEMORY, "CKR_DEVICE_MEMORY"},
		{CKR_DEVICE_REMOVED, "CKR_DEVICE_REMOVED"},
		{CKR_MECHANISM_INVALID, "CKR_MECHANISM_INVALID"},
		{CKR_OBJECT_HANDLE_INVALID, "CKR_OBJECT_HANDLE_INVALID"},
		{CKR_PIN_INCORRECT, "CKR_PIN_INCORRECT"},
		{CKR_PIN_LOCKED, "CKR_PIN_LOCKED"},
		{CKR_SESSION_CLOSED, "CKR_SESSION_CLOSED"},
		{CKR_SESSION_HANDLE_INVALID, "CKR_SESSION_HANDLE_INVALID"},
		{CKR_TEMPLATE_INCONSISTENT, "CKR_TEMPLATE_INCONSISTENT"},
		{CKR_TOKEN_NOT_PRESENT, "CKR_TOKEN_NOT_PRESENT"},
		{CKR_USER_NOT_LOGGED_IN, "CKR_USER_NOT_LOGGED_IN"},
		{CKR_DOMAIN_PARAMS_INVALID, "CKR_DOMAIN_PARAMS_INVALID"},
		{CKR_CURVE_NOT_SUPPORTED, "CKR_CURVE_NOT_SUPPORTED"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].rv == rv)
			return names[i].name;
	return "an error code not listed here";
}

/* Maps a failed call to a zg_err and a message naming token and function. */
static zg_err
rv_fail(const zg_p11 *p, const char *func, CK_RV rv, zg_errmsg *em)
{
	zg_err err = ZG_ERR_UPSTREAM;
	const char *hint = "";

	switch (rv) {
	case CKR_DEVICE_MEMORY:
		err = ZG_ERR_BACKEND_UNAVAILABLE;
		hint = "; the token has no room for more objects";
		break;
	case CKR_DEVICE_REMOVED:
	case CKR_TOKEN_NOT_PRESENT:
	case CKR_DEVICE_ERROR:
	case CKR_SESSION_CLOSED:
	case CKR_SESSION_HANDLE_INVALID:
	case CKR_USER_NOT_LOGGED_IN:
		/* TODO: reopen the sessions and log in again after a token
		 * reset; until then the daemon must be restarted. */
		err = ZG_ERR_BACKEND_UNAVAILABLE;
		break;
	case CKR_MECHANISM_INVALID:
	case CKR_DOMAIN_PARAMS_INVALID:
	case CKR_CURVE_NOT_SUPPORTED:
		err = ZG_ERR_INVALID;
		hint = "; the token does not support this algorithm";
		break;
	}
	zg_log_error("PKCS#11 call failed", ZGF_S("function", func),
	    ZGF_S("token", p->label), ZGF_S("rv", rv_name(rv)),
	    ZGF_I("rv_code", rv));
	return zg_fail(em, err, "PKCS#11 token \"%s\": %s failed with %s "
	    "(0x%lx)%s", p->label, func, rv_name(rv), (unsigned long)rv, hint);
}

/* Loads and initializes the module at path, or takes another reference. */
static zg_err
module_get(const char *path, struct module **out, zg_errmsg *em)
{
	struct module *m = NULL, *spare = NULL;
	CK_C_GetFunctionList get_list;
	CK_C_INITIALIZE_ARGS args;
	zg_err err = ZG_ERR_BACKEND_UNAVAILABLE;
	CK_RV rv;

	pthread_mutex_lock(&modules_mu);
	for (int i = 0; i < MODULES_MAX; i++) {
		if (modules[i].refs > 0 && strcmp(modules[i].path, path) == 0)
			m = &modules[i];
		else if (modules[i].refs == 0 && spare == NULL)
			spare = &modules[i];
	}
	if (m != NULL) {
		m->refs++;
		*out = m;
		err = ZG_OK;
		goto out;
	}
	if (spare == NULL || strlen(path) >= sizeof(spare->path)) {
		zg_fail(em, err, "PKCS#11 module %s cannot be loaded: too many "
		    "modules or too long a path", path);
		goto out;
	}
	m = spare;
	if ((m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		zg_fail(em, err, "PKCS#11 module %s could not be loaded: %s",
		    path, dlerror());
		goto out;
	}
	get_list = (CK_C_GetFunctionList)dlsym(m->dl, "C_GetFunctionList");
	if (get_list == NULL || get_list(&m->fl) != CKR_OK || m->fl == NULL) {
		zg_fail(em, err, "%s is not a PKCS#11 module: it has no working "
		    "C_GetFunctionList", path);
		goto fail;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	rv = m->fl->C_Initialize(&args);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		zg_fail(em, err, "PKCS#11 module %s: C_Initialize failed with "
		    "%s (0x%lx)", path, rv_name(rv), (unsigned long)rv);
		goto fail;
	}
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->refs = 1;
	*out = m;
	err = ZG_OK;
	goto out;
fail:
	dlclose(m->dl);
	memset(m, 0, sizeof(*m));
out:
	pthread_mutex_unlock(&modules_mu);
	return err;
}

static void
module_put(struct module *m)
{
	pthread_mutex_lock(&modules_mu);
	if (--m->refs == 0) {
		m->fl->C_Finalize(NULL);
		dlclose(m->dl);
		memset(m, 0, sizeof(*m));
	}
	pthread_mutex_unlock(&modules_mu);
}

/* Finds the one slot whose token carries label. */
static zg_err
find_slot(zg_p11 *p, const zg_pkcs11_config *cfg, zg_errmsg *em)
{
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	size_t matches = 0;
	zg_err err = ZG_ERR_BACKEND_UNAVAILABLE;
	CK_RV rv;

	if ((rv = p->fl->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK)
		return rv_fail(p, "C_GetSlotList", rv, em);
	if (n > 0 && (slots = calloc(n, sizeof(*slots))) == NULL)
		return ZG_ERR_NOMEM;
	if (n > 0 && (rv = p->fl->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
		err = rv_fail(p, "C_GetSlotList", rv, em);
		goto out;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO info;
		char label[33];
		if (p->fl->C_GetTokenInfo(slots[i], &info) != CKR_OK)
			continue;
		/* Token labels are 32 bytes padded with spaces. */
		memcpy(label, info.label, 32);
		label[32] = '\0';
		for (int j = 31; j >= 0 && label[j] == ' '; j--)
			label[j] = '\0';
		if (strcmp(label, cfg->token_label) == 0) {
			p->slot = slots[i];
			matches++;
		}
	}
	if (matches == 0) {
		zg_fail(em, err, "no token labelled \"%s\" in PKCS#11 module %s "
		    "(%lu slots with a token)", p->label, cfg->module_path,
		    (unsigned long)n);
		goto out;
	}
	if (matches > 1) {
		zg_fail(em, err, "%zu tokens are labelled \"%s\" in PKCS#11 "
		    "module %s; give each token a unique label", matches,
		    p->label, cfg->module_path);
		goto out;
	}
	err = ZG_OK;
out:
	free(slots);
	return err;
}

/* Reads the user PIN into pin (a locked buffer of PIN_MAX bytes). */
static zg_err
read_pin(const zg_p11 *p, const zg_pkcs11_config *cfg, char *pin,
    size_t *len, zg_errmsg *em)
{
	const char *src = NULL;
	*len = 0;
	if (cfg->pin_file != NULL) {
		int fd = open(cfg->pin_file, O_RDONLY | O_CLOEXEC);
		ssize_t r = fd < 0 ? -1 : read(fd, pin, PIN_MAX);
		if (fd >= 0)
			close(fd);
		if (r < 0)
			return zg_fail(em, ZG_ERR_CONFIG, "cannot read the PIN file "
			    "%s of PKCS#11 token \"%s\"", cfg->pin_file, p->label);
		while (*len < (size_t)r && pin[*len] != '\n' && pin[*len] != '\r')
			(*len)++;
	} else if (cfg->pin_env != NULL && (src = getenv(cfg->pin_env)) != NULL) {
		/* NOTE: the environment keeps its own copy of the PIN, which
		 * this process cannot wipe safely. */
		*len = strlen(src);
		if (*len > PIN_MAX)
			*len = PIN_MAX;
		memcpy(pin, src, *len);
	}
	if (*len == 0)
		return zg_fail(em, ZG_ERR_CONFIG, "no user PIN for PKCS#11 token "
		    "\"%s\": set pin_file or the environment variable %s",
		    p->label, cfg->pin_env ? cfg->pin_env : "(none configured)");
	return ZG_OK;
}

/* Opens the session pool and logs the user in. */
static zg_err
open_sessions(zg_p11 *p, const zg_pkcs11_config *cfg, zg_errmsg *em)
{
	char *pin = zg_secure_alloc(PIN_MAX);
	size_t pin_len = 0;
	zg_err err;
	CK_RV rv;

	if (pin == NULL)
		return ZG_ERR_NOMEM;
	size_t n = cfg->sessions ? cfg->sessions : 4;
	p->sessions = calloc(n, sizeof(*p->sessions));
	p->idle = calloc(n, sizeof(*p->idle));
	if (p->sessions == NULL || p->idle == NULL) {
		err = ZG_ERR_NOMEM;
		goto out;
	}
	for (; p->nsessions < n; p->nsessions++) {
		rv = p->fl->C_OpenSession(p->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
		    NULL, NULL, &p->sessions[p->nsessions]);
		if (rv != CKR_OK) {
			err = rv_fail(p, "C_OpenSession", rv, em);
			goto out;
		}
		p->idle[p->nidle++] = p->sessions[p->nsessions];
	}
	if ((err = read_pin(p, cfg, pin, &pin_len, em)) != ZG_OK)
		goto out;
	rv = p->fl->C_Login(p->sessions[0], CKU_USER, (unsigned char *)pin,
	    pin_len);
	if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED) {
		err = zg_fail(em, ZG_ERR_BACKEND_UNAVAILABLE, "login to PKCS#11 "
		    "token \"%s\" failed: %s; check the configured user PIN",
		    p->label, rv == CKR_PIN_LOCKED ? "the PIN is locked" :
		    "the PIN is incorrect");
		goto out;
	}
	/* NOTE: when another zg_p11 of this process is already logged in to
	 * the same token, the module returns CKR_USER_ALREADY_LOGGED_IN
	 * without checking this PIN. */
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		err = rv_fail(p, "C_Login", rv, em);
		goto out;
	}
	CK_MECHANISM_INFO info;
	p->has_eddsa = p->fl->C_GetMechanismInfo(p->slot,
	    CKM_EC_EDWARDS_KEY_PAIR_GEN, &info) == CKR_OK;
	err = ZG_OK;
out:
	zg_secure_free(pin, PIN_MAX);
	return err;
}

zg_err
zg_p11_open(const zg_pkcs11_config *cfg, zg_p11 **out, zg_errmsg *em)
{
	zg_p11 *p = calloc(1, sizeof(*p));
	zg_err err;

	if (p == NULL)
		return ZG_ERR_NOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	snprintf(p->label, sizeof(p->label), "%s",
	    cfg->token_label ? cfg->token_label : "");
	if (cfg->token_label == NULL || strlen(cfg->token_label) > 32) {
		zg_fail(em, ZG_ERR_CONFIG, "the PKCS#11 token label must be 1 to "
		    "32 bytes");
		err = ZG_ERR_CONFIG;
		goto fail;
	}
	if ((err = module_get(cfg->module_path, &p->mod, em)) != ZG_OK)
		goto fail;
	p->fl = p->mod->fl;
	if ((err = find_slot(p, cfg, em)) != ZG_OK ||
	    (err = open_sessions(p, cfg, em)) != ZG_OK)
		goto fail;
	zg_log_info("PKCS#11 token ready", ZGF_S("module", cfg->module_path),
	    ZGF_S("token", p->label), ZGF_I("sessions", p->nsessions));
	*out = p;
	return ZG_OK;
fail:
	zg_p11_close(p);
	return err;
}

void
zg_p11_close(zg_p11 *p)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < p->nsessions; i++)
		p->fl->C_CloseSession(p->sessions[i]);
	if (p->mod != NULL)
		module_put(p->mod);
	free(p->sessions);
	free(p->idle);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

CK_SESSION_HANDLE
zg_p11_session_get(zg_p11 *p, CK_FUNCTION_LIST_PTR *fl)
{
	pthread_mutex_lock(&p->mu);
	while (p->nidle == 0)
		pthread_cond_wait(&p->cv, &p->mu);
	CK_SESSION_HANDLE s = p->idle[--p->nidle];
	pthread_mutex_unlock(&p->mu);
	if (fl != NULL)
		*fl = p->fl;
	return s;
}

void
zg_p11_session_put(zg_p11 *p, CK_SESSION_HANDLE s)
{
	pthread_mutex_lock(&p->mu);
	p->idle[p->nidle++] = s;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

zg_err
zg_p11_find(zg_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
    const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE *obj)
{
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_ID, (void *)id, id_len},
	};
	CK_ULONG n = 0;
	CK_RV rv;

	if ((rv = p->fl->C_FindObjectsInit(s, tmpl, 2)) != CKR_OK)
		return rv_fail(p, "C_FindObjectsInit", rv, NULL);
	rv = p->fl->C_FindObjects(s, obj, 1, &n);
	p->fl->C_FindObjectsFinal(s);
	if (rv != CKR_OK)
		return rv_fail(p, "C_FindObjects", rv, NULL);
	return n == 1 ? ZG_OK : ZG_ERR_NOT_FOUND;
}

/*
 * Reads CKA_EC_POINT and removes its DER OCTET STRING wrapping, which
 * PKCS#11 requires; a module that returns the bare point is accepted too.
 */
static zg_err
read_point(zg_p11 *p, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub_obj,
    enum zg_key_alg alg, uint8_t pub[ZG_KEY_PUB_MAX], size_t *pub_len,
    zg_errmsg *em)
{
	uint8_t der[2 + ZG_KEY_PUB_MAX + 8];
	CK_ATTRIBUTE a = {CKA_EC_POINT, der, sizeof(der)};
	size_t want = alg == ZG_KEY_ALG_ED25519 ? 32 : 65;
	const uint8_t *pt = der;
	size_t len;
	CK_RV rv;

	if ((rv = p->fl->C_GetAttributeValue(s, pub_obj, &a, 1)) != CKR_OK)
		return rv_fail(p, "C_GetAttributeValue(CKA_EC_POINT)", rv, em);
	len = a.ulValueLen;
	if (len == want + 2 && der[0] == 0x04 && der[1] == want) {
		pt = der + 2;
		len = want;
	}
	if (len != want || (alg != ZG_KEY_ALG_ED25519 && pt[0] != 0x04))
		return zg_fail(em, ZG_ERR_UPSTREAM, "PKCS#11 token \"%s\" "
		    "returned a public key of an unexpected form", p->label);
	if (alg == ZG_KEY_ALG_SECP256K1 &&
	    zg_secp_parse_public(pt, len, pub) != ZG_OK)
		return zg_fail(em, ZG_ERR_UPSTREAM, "PKCS#11 token \"%s\" "
		    "returned a public key that is not on secp256k1", p->label);
	memcpy(pub, pt, len);
	*pub_len = len;
	return ZG_OK;
}

zg_err
zg_p11_generate(zg_p11 *p, enum zg_key_alg alg, const char *label,
    uint8_t id[ZG_KEY_P11_ID_LEN], uint8_t pub[ZG_KEY_PUB_MAX],
    size_t *pub_len, zg_errmsg *em)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	const uint8_t *params = oid_secp256k1;
	size_t params_len = sizeof(oid_secp256k1);
	CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
	CK_SESSION_HANDLE s;
	zg_err err;
	CK_RV rv;

	if (alg == ZG_KEY_ALG_P256) {
		params = oid_p256;
		params_len = sizeof(oid_p256);
	} else if (alg == ZG_KEY_ALG_ED25519) {
		if (!p->has_eddsa)
			return zg_fail(em, ZG_ERR_INVALID, "PKCS#11 token \"%s\" "
			    "does not support Ed25519 keys "
			    "(CKM_EC_EDWARDS_KEY_PAIR_GEN)", p->label);
		mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		params = oid_ed25519;
		params_len = sizeof(oid_ed25519);
	}
	if ((err = zg_random(id, ZG_KEY_P11_ID_LEN)) != ZG_OK)
		return err;
	CK_ATTRIBUTE pub_tmpl[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_VERIFY, &yes, sizeof(yes)},
		{CKA_EC_PARAMS, (void *)params, params_len},
		{CKA_ID, id, ZG_KEY_P11_ID_LEN},
		{CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_ATTRIBUTE priv_tmpl[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_PRIVATE, &yes, sizeof(yes)},
		{CKA_SENSITIVE, &yes, sizeof(yes)},
		{CKA_EXTRACTABLE, &no, sizeof(no)},
		{CKA_SIGN, &yes, sizeof(yes)},
		{CKA_ID, id, ZG_KEY_P11_ID_LEN},
		{CKA_LABEL, (void *)label, strlen(label)},
	};
	s = zg_p11_session_get(p, NULL);
	rv = p->fl->C_GenerateKeyPair(s, &mech, pub_tmpl, 5, priv_tmpl, 7,
	    &hpub, &hpriv);
	if (rv != CKR_OK) {
		err = rv_fail(p, "C_GenerateKeyPair", rv, em);
		goto out;
	}
	if ((err = read_point(p, s, hpub, alg, pub, pub_len, em)) != ZG_OK) {
		p->fl->C_DestroyObject(s, hpriv);
		p->fl->C_DestroyObject(s, hpub);
	}
out:
	zg_p11_session_put(p, s);
	return err;
}

/* Searches the private key with CKA_ID id into *key. */
static zg_err
find_private(zg_p11 *p, CK_SESSION_HANDLE s, const uint8_t *id,
    size_t id_len, CK_OBJECT_HANDLE *key, zg_errmsg *em)
{
	zg_err err = zg_p11_find(p, s, CKO_PRIVATE_KEY, id, id_len, key);
	if (err == ZG_ERR_NOT_FOUND)
		return zg_fail(em, ZG_ERR_UPSTREAM, "PKCS#11 token \"%s\" has no "
		    "private key with the stored CKA_ID", p->label);
	if (err != ZG_OK)
		return zg_fail(em, err, "PKCS#11 token \"%s\" could not search "
		    "for the key", p->label);
	return ZG_OK;
}

zg_err
zg_p11_sign(zg_p11 *p, enum zg_key_alg alg, const uint8_t *id,
    size_t id_len, CK_OBJECT_HANDLE *handle, const uint8_t *msg, size_t len,
    uint8_t sig[ZG_KEY_SIG_MAX], size_t *sig_len, zg_errmsg *em)
{
	CK_MECHANISM mech = {alg == ZG_KEY_ALG_ED25519 ? CKM_EDDSA : CKM_ECDSA,
	    NULL, 0};
	CK_OBJECT_HANDLE key = *handle;
	CK_ULONG n = ZG_KEY_SIG_MAX;
	CK_SESSION_HANDLE s = zg_p11_session_get(p, NULL);
	zg_err err;
	CK_RV rv;

	if (key == CK_INVALID_HANDLE &&
	    (err = find_private(p, s, id, id_len, &key, em)) != ZG_OK)
		goto out;
	rv = p->fl->C_SignInit(s, &mech, key);
	/* A remembered handle goes stale when the object is destroyed or the
	 * module is reloaded, so search the key again once. */
	if ((rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID) &&
	    key == *handle) {
		if ((err = find_private(p, s, id, id_len, &key, em)) != ZG_OK)
			goto out;
		rv = p->fl->C_SignInit(s, &mech, key);
	}
	if (rv != CKR_OK) {
		err = rv_fail(p, "C_SignInit", rv, em);
		goto out;
	}
	if ((rv = p->fl->C_Sign(s, (uint8_t *)msg, len, sig, &n)) != CKR_OK) {
		err = rv_fail(p, "C_Sign", rv, em);
		goto out;
	}
	if (n != 64) {
		err = zg_fail(em, ZG_ERR_UPSTREAM, "PKCS#11 token \"%s\" returned "
		    "a signature of %lu bytes; expected 64", p->label,
		    (unsigned long)n);
		goto out;
	}
	*sig_len = n;
	*handle = key;
	err = ZG_OK;
out:
	zg_p11_session_put(p, s);
	return err;
}

zg_err
zg_p11_destroy(zg_p11 *p, const uint8_t *id, size_t id_len, zg_errmsg *em)
{
	static const CK_OBJECT_CLASS classes[] = {CKO_PRIVATE_KEY, CKO_PUBLIC_KEY};
	CK_SESSION_HANDLE s = zg_p11_session_get(p, NULL);
	zg_err err = ZG_ERR_NOT_FOUND;

	for (size_t i = 0; i < 2; i++) {
		CK_OBJECT_HANDLE obj;
		zg_err found = zg_p11_find(p, s, classes[i], id, id_len, &obj);
		if (found == ZG_ERR_NOT_FOUND)
			continue;
		if (found != ZG_OK) {
			err = zg_fail(em, found, "PKCS#11 token \"%s\" could not "
			    "search for the key", p->label);
			goto out;
		}
		CK_RV rv = p->fl->C_DestroyObject(s, obj);
		if (rv != CKR_OK) {
			err = rv_fail(p, "C_DestroyObject", rv, em);
			goto out;
		}
		err = ZG_OK;
	}
out:
	zg_p11_session_put(p, s);
	return err;
}
