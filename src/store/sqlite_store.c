/*
 * The embedded SQLite backend: opening the database, migrations and
 * connection handling. The operations live in sqlite_keys.c (meta values
 * and wrapped keys), sqlite_cred.c (credentials and versions),
 * sqlite_token.c (leases and tokens) and sqlite_audit.c (the audit log).
 * Their shared helpers are in sqlite_util.c.
 *
 * Durability and erasure settings, set on every connection that writes:
 * - journal_mode=WAL lets readers run while the writer commits.
 * - synchronous=FULL syncs the WAL at every commit, so a write that
 *   returned ZG_OK survives a power loss.
 * - secure_delete=ON overwrites deleted content with zeros, so erased key
 *   material does not linger in free pages of the database file. Copies in
 *   the WAL are removed by the checkpoint that cred_revoke runs.
 *   audit_index_catch_up lowers synchronous to NORMAL for its own
 *   transaction only; sqlite_audit.c explains why.
 *
 * Migrations: migrations[i] turns schema version i into i + 1, and PRAGMA
 * user_version stores the version the file has. Pending migrations run in
 * one transaction at open, so a crash leaves the old version intact. A new
 * schema change is a new script appended to migrations[]; a script that
 * has shipped is never edited.
 *
 * Read-only handles (zg_store_sqlite_open_readonly) run no migrations and
 * require the file's user_version to equal the number of migrations.
 */
#include "store/sqlite_internal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"

static const char *const migrations[] = {
	/* 1: the initial schema. */
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value BLOB NOT NULL);"
	"CREATE TABLE wrapped_keys ("
	"  id TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  blob BLOB NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (id, version));"
	"CREATE TABLE credentials ("
	"  id TEXT PRIMARY KEY,"
	"  owner TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  metadata TEXT NOT NULL,"
	"  permissions TEXT NOT NULL,"
	"  current_version INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  expires_at INTEGER,"
	"  revoked_at INTEGER,"
	"  UNIQUE (owner, name));"
	"CREATE INDEX credentials_owner_id ON credentials (owner, id);"
	"CREATE TABLE credential_versions ("
	"  cred_id TEXT NOT NULL REFERENCES credentials (id),"
	"  version INTEGER NOT NULL,"
	"  blob BLOB,"
	"  created_at INTEGER NOT NULL,"
	"  PRIMARY KEY (cred_id, version));"
	"CREATE TABLE leases ("
	"  hash BLOB PRIMARY KEY,"
	"  cred_id TEXT NOT NULL,"
	"  version INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  used_at INTEGER,"
	"  FOREIGN KEY (cred_id, version)"
	"    REFERENCES credential_versions (cred_id, version));"
	"CREATE TABLE tokens ("
	"  id TEXT PRIMARY KEY,"
	"  hash BLOB NOT NULL UNIQUE,"
	"  user_id TEXT NOT NULL,"
	"  admin INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER,"
	"  revoked_at INTEGER);",

	/* 2: the audit log; see sqlite_audit.c. */
	"CREATE TABLE audit_events ("
	"  leaf_index INTEGER PRIMARY KEY,"
	"  canonical BLOB NOT NULL,"
	"  timestamp INTEGER NOT NULL,"
	"  user_hmac BLOB NOT NULL,"
	"  resource_hmac BLOB NOT NULL);"
	"CREATE INDEX audit_events_user"
	"  ON audit_events (user_hmac, leaf_index);"
	"CREATE INDEX audit_events_resource"
	"  ON audit_events (resource_hmac, leaf_index);"
	"CREATE TABLE audit_nodes ("
	"  level INTEGER NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  hash BLOB NOT NULL,"
	"  PRIMARY KEY (level, idx)) WITHOUT ROWID;"
	"CREATE TABLE audit_heads ("
	"  tree_size INTEGER PRIMARY KEY,"
	"  root BLOB NOT NULL,"
	"  timestamp INTEGER NOT NULL,"
	"  signature BLOB NOT NULL,"
	"  key_id TEXT NOT NULL);",

	/*
	 * 3: the search index moves out of the append transaction into
	 * audit_search, which audit_index_catch_up fills behind the log;
	 * see sqlite_audit.c. The backfill indexes every stored event.
	 */
	"DROP INDEX audit_events_user;"
	"DROP INDEX audit_events_resource;"
	"CREATE TABLE audit_search ("
	"  kind INTEGER NOT NULL,"
	"  hmac BLOB NOT NULL,"
	"  leaf_index INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, hmac, leaf_index)) WITHOUT ROWID;"
	"INSERT INTO audit_search (kind, hmac, leaf_index)"
	"  SELECT 0, user_hmac, leaf_index FROM audit_events"
	"  UNION ALL SELECT 1, resource_hmac, leaf_index FROM audit_events"
	"  ORDER BY 1, 2, 3;"
	"CREATE TABLE audit_search_cursor ("
	"  id INTEGER PRIMARY KEY CHECK (id = 0),"
	"  last_indexed INTEGER NOT NULL);"
	"INSERT INTO audit_search_cursor (id, last_indexed)"
	"  SELECT 0, coalesce(max(leaf_index), -1) FROM audit_events;",

	/*
	 * 4: audit_search gets the bucket leaf_index >> 16 after kind in its
	 * key, so the rows of new events cluster; see sqlite_audit_index.c.
	 * The rebuild indexes the events up to the kept cursor.
	 */
	"DROP TABLE audit_search;"
	"CREATE TABLE audit_search ("
	"  kind INTEGER NOT NULL,"
	"  bucket INTEGER NOT NULL,"
	"  hmac BLOB NOT NULL,"
	"  leaf_index INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, bucket, hmac, leaf_index)) WITHOUT ROWID;"
	"INSERT INTO audit_search (kind, bucket, hmac, leaf_index)"
	"  SELECT 0, leaf_index >> 16, user_hmac, leaf_index FROM audit_events"
	"  WHERE leaf_index <= (SELECT last_indexed FROM audit_search_cursor)"
	"  UNION ALL"
	"  SELECT 1, leaf_index >> 16, resource_hmac, leaf_index FROM audit_events"
	"  WHERE leaf_index <= (SELECT last_indexed FROM audit_search_cursor)"
	"  ORDER BY 1, 2, 3, 4;",

	/*
	 * 5: generic objects (roles, grants, service accounts, signing keys,
	 * policies) and named counters; see sqlite_obj.c.
	 */
	"CREATE TABLE objects ("
	"  kind TEXT NOT NULL,"
	"  id TEXT NOT NULL,"
	"  owner TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  blob BLOB,"
	"  rev INTEGER NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (kind, id)) WITHOUT ROWID;"
	"CREATE INDEX objects_owner ON objects (kind, owner, id);"
	"CREATE TABLE counters ("
	"  name TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL) WITHOUT ROWID;",

	/*
	 * 6: role-based access replaces the admin flag of tokens; a token
	 * names the type of its subject and may carry a scope.
	 */
	"ALTER TABLE tokens DROP COLUMN admin;"
	"ALTER TABLE tokens ADD COLUMN subject_type TEXT NOT NULL"
	"  DEFAULT 'user';"
	"ALTER TABLE tokens ADD COLUMN scope TEXT;",
};

#define MIGRATION_COUNT ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* Runs a PRAGMA that returns one row, and copies its first column. */
static zg_err
pragma_query(sqlite3 *db, const char *sql, char *out, size_t outsz)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc;

	if ((err = zg_sqlite_prepare(db, sql, &stmt, "pragma")) != ZG_OK)
		goto out;
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		err = zg_sqlite_error(db, rc, "pragma");
		goto out;
	}
	err = zg_sqlite_column_text(stmt, 0, out, outsz, "pragma");
out:
	sqlite3_finalize(stmt);
	return err;
}

/*
 * Opens one connection with the settings every connection needs. A reader
 * of a read-only handle opens the file with SQLITE_OPEN_READONLY.
 */
static zg_err
conn_open(const char *path, bool writer, bool readonly, sqlite3 **out)
{
	sqlite3 *db = NULL;
	zg_err err = ZG_ERR_STORE;
	char mode[16];

	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_NOMUTEX |
	    (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE), NULL);
	if (rc != SQLITE_OK) {
		zg_log_error("opening the database failed", ZGF_S("path", path),
		    ZGF_S("sqlite", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
		goto out;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, ZG_SQLITE_BUSY_TIMEOUT_MS);

	if (!writer) {
		/* Readers never write, and query_only makes a stray write fail. */
		err = zg_sqlite_exec(db, "PRAGMA query_only=ON", "open");
		goto out;
	}

	if ((err = pragma_query(db, "PRAGMA journal_mode=WAL", mode,
	    sizeof(mode))) != ZG_OK)
		goto out;
	if (strcmp(mode, "wal") != 0) {
		zg_log_error("switching the database to WAL mode failed",
		    ZGF_S("path", path), ZGF_S("journal_mode", mode));
		err = ZG_ERR_STORE;
		goto out;
	}
	if ((err = zg_sqlite_exec(db, "PRAGMA synchronous=FULL;"
	    "PRAGMA foreign_keys=ON;"
	    "PRAGMA secure_delete=ON", "open")) != ZG_OK)
		goto out;
	err = ZG_OK;
out:
	if (err != ZG_OK) {
		sqlite3_close(db);
		db = NULL;
	}
	*out = db;
	return err;
}

/*
 * Creates the database file with mode 0600 before SQLite opens it. SQLite
 * gives its -wal and -shm files the mode of the database file.
 */
static zg_err
create_db_file(const char *path)
{
	struct stat sb;
	zg_err err = ZG_ERR_IO;

	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		zg_log_error("creating the database file failed", ZGF_S("path", path),
		    ZGF_S("errno", strerror(errno)));
		return ZG_ERR_IO;
	}
	if (fstat(fd, &sb) == -1) {
		zg_log_error("stat of the database file failed", ZGF_S("path", path),
		    ZGF_S("errno", strerror(errno)));
		goto out;
	}
	if ((sb.st_mode & 077) != 0) {
		zg_log_warn("database file was accessible to other users, "
		    "so its mode is set to 0600", ZGF_S("path", path),
		    ZGF_I("mode", sb.st_mode & 07777));
		if (fchmod(fd, 0600) == -1) {
			zg_log_error("chmod of the database file failed",
			    ZGF_S("path", path), ZGF_S("errno", strerror(errno)));
			goto out;
		}
	}
	err = ZG_OK;
out:
	close(fd);
	return err;
}

/* Reads the schema version of the database, PRAGMA user_version. */
static zg_err
schema_version(sqlite3 *db, int *version, const char *op)
{
	sqlite3_stmt *stmt = NULL;
	zg_err err;
	int rc;

	*version = 0;
	if ((err = zg_sqlite_prepare(db, "PRAGMA user_version", &stmt, op)) !=
	    ZG_OK)
		return err;
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*version = sqlite3_column_int(stmt, 0);
	else
		err = zg_sqlite_error(db, rc, op);
	sqlite3_finalize(stmt);
	return err;
}

/* Applies pending migrations in one transaction. */
static zg_err
migrate(sqlite3 *db, const char *path)
{
	zg_err err;
	int have;

	if ((err = zg_sqlite_exec(db, "BEGIN IMMEDIATE", "migrate")) != ZG_OK)
		return err;
	if ((err = schema_version(db, &have, "migrate")) != ZG_OK)
		goto out;

	if (have < 0 || have > MIGRATION_COUNT) {
		zg_log_error("database schema is newer than this zguard "
		    "supports. Upgrade zguard or restore a matching backup",
		    ZGF_S("path", path), ZGF_I("schema_version", have),
		    ZGF_I("supported_version", MIGRATION_COUNT));
		err = ZG_ERR_STORE;
		goto out;
	}
	for (int i = have; i < MIGRATION_COUNT; i++) {
		if ((err = zg_sqlite_exec(db, migrations[i], "migrate")) !=
		    ZG_OK)
			goto out;
	}
	if (have < MIGRATION_COUNT) {
		char sql[64];
		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d",
		    MIGRATION_COUNT);
		if ((err = zg_sqlite_exec(db, sql, "migrate")) != ZG_OK)
			goto out;
	}
	if ((err = zg_sqlite_exec(db, "COMMIT", "migrate")) != ZG_OK)
		goto out;
	if (have < MIGRATION_COUNT)
		zg_log_info("database schema migrated", ZGF_S("path", path),
		    ZGF_I("from", have), ZGF_I("to", MIGRATION_COUNT));
	err = ZG_OK;
out:
	if (err != ZG_OK)
		zg_sqlite_rollback(db);
	return err;
}

zg_sqlite_conn *
zg_sqlite_writer_acquire_conn(zg_sqlite_store *s)
{
	pthread_mutex_lock(&s->writer_lock);
	return &s->writer;
}

sqlite3 *
zg_sqlite_writer_acquire(zg_sqlite_store *s)
{
	return zg_sqlite_writer_acquire_conn(s)->db;
}

void
zg_sqlite_writer_release(zg_sqlite_store *s)
{
	pthread_mutex_unlock(&s->writer_lock);
}

zg_err
zg_sqlite_reader_acquire(zg_sqlite_store *s, zg_sqlite_conn **conn)
{
	*conn = NULL;
	pthread_mutex_lock(&s->reader_lock);
	for (;;) {
		int unopened = -1;
		for (int i = 0; i < ZG_SQLITE_READERS; i++) {
			if (s->reader_busy[i])
				continue;
			if (s->readers[i].db != NULL) {
				s->reader_busy[i] = true;
				*conn = &s->readers[i];
				pthread_mutex_unlock(&s->reader_lock);
				return ZG_OK;
			}
			if (unopened < 0)
				unopened = i;
		}
		if (unopened >= 0) {
			/* Reserve the slot, then open without holding the lock. */
			s->reader_busy[unopened] = true;
			pthread_mutex_unlock(&s->reader_lock);
			sqlite3 *db = NULL;
			zg_err err = conn_open(s->path, false, s->readonly, &db);
			pthread_mutex_lock(&s->reader_lock);
			if (err != ZG_OK) {
				s->reader_busy[unopened] = false;
				pthread_cond_signal(&s->reader_free);
			} else {
				s->readers[unopened].db = db;
				*conn = &s->readers[unopened];
			}
			pthread_mutex_unlock(&s->reader_lock);
			return err;
		}
		pthread_cond_wait(&s->reader_free, &s->reader_lock);
	}
}

void
zg_sqlite_reader_release(zg_sqlite_store *s, zg_sqlite_conn *conn)
{
	if (conn == NULL)
		return;
	ptrdiff_t i = conn - s->readers;
	assert(i >= 0 && i < ZG_SQLITE_READERS);
	pthread_mutex_lock(&s->reader_lock);
	s->reader_busy[i] = false;
	pthread_cond_signal(&s->reader_free);
	pthread_mutex_unlock(&s->reader_lock);
}

/* Frees a handle whose connections are closed or were never opened. */
static void
store_free(zg_sqlite_store *s, int locks)
{
	if (locks > 2)
		pthread_cond_destroy(&s->reader_free);
	if (locks > 1)
		pthread_mutex_destroy(&s->reader_lock);
	if (locks > 0)
		pthread_mutex_destroy(&s->writer_lock);
	free(s->path);
	free(s);
}

void
zg_sqlite_close(zg_store *st)
{
	zg_sqlite_store *s = zg_sqlite_from(st);

	if (s == NULL)
		return;
	/* sqlite3_close fails while a statement of the connection is open. */
	for (int i = 0; i < ZG_SQLITE_READERS; i++) {
		zg_sqlite_conn_clear(&s->readers[i]);
		sqlite3_close(s->readers[i].db);
	}
	zg_sqlite_conn_clear(&s->writer);
	/* The last connection to close checkpoints and removes the WAL. */
	if (sqlite3_close(s->writer.db) != SQLITE_OK)
		zg_log_error("closing the database failed", ZGF_S("path", s->path),
		    ZGF_S("sqlite", sqlite3_errmsg(s->writer.db)));
	store_free(s, 3);
}

static const zg_store_ops sqlite_ops = {
	.close = zg_sqlite_close,
	.meta_get = zg_sqlite_meta_get,
	.meta_put = zg_sqlite_meta_put,
	.wkey_insert = zg_sqlite_wkey_insert,
	.wkey_list = zg_sqlite_wkey_list,
	.wkey_delete = zg_sqlite_wkey_delete,
	.root_rotate = zg_sqlite_root_rotate,
	.cred_insert = zg_sqlite_cred_insert,
	.cred_get = zg_sqlite_cred_get,
	.cred_list = zg_sqlite_cred_list,
	.cred_add_version = zg_sqlite_cred_add_version,
	.cred_get_version = zg_sqlite_cred_get_version,
	.cred_revoke = zg_sqlite_cred_revoke,
	.lease_insert = zg_sqlite_lease_insert,
	.lease_redeem = zg_sqlite_lease_redeem,
	.token_insert = zg_sqlite_token_insert,
	.token_get_by_hash = zg_sqlite_token_get_by_hash,
	.token_get = zg_sqlite_token_get,
	.token_revoke = zg_sqlite_token_revoke,
	.audit_append = zg_sqlite_audit_append,
	.audit_size = zg_sqlite_audit_size,
	.audit_node_get = zg_sqlite_audit_node_get,
	.audit_nodes_range = zg_sqlite_audit_nodes_range,
	.audit_events = zg_sqlite_audit_events,
	.audit_events_visit = zg_sqlite_audit_events_visit,
	.audit_search = zg_sqlite_audit_search,
	.audit_index_catch_up = zg_sqlite_audit_index_catch_up,
	.audit_head_put = zg_sqlite_audit_head_put,
	.audit_head_latest = zg_sqlite_audit_head_latest,
	.audit_heads = zg_sqlite_audit_heads,
	.obj_put = zg_sqlite_obj_put,
	.obj_get = zg_sqlite_obj_get,
	.obj_list = zg_sqlite_obj_list,
	.obj_delete = zg_sqlite_obj_delete,
	.obj_apply = zg_sqlite_obj_apply,
	.counter_add = zg_sqlite_counter_add,
};

/* Allocates a handle for DIR/zguard.db with its locks, but no connection. */
static zg_err
store_alloc(const char *dir, bool readonly, zg_sqlite_store **out)
{
	zg_sqlite_store *s = NULL;
	int locks = 0;
	zg_err err = ZG_ERR_NOMEM;

	*out = NULL;
	if (!sqlite3_threadsafe()) {
		zg_log_error("SQLite was built without thread safety",
		    ZGF_S("sqlite_version", sqlite3_libversion()));
		return ZG_ERR_STORE;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return ZG_ERR_NOMEM;
	s->base.ops = readonly ? &zg_sqlite_readonly_ops : &sqlite_ops;
	s->readonly = readonly;
	size_t plen = strlen(dir) + sizeof("/zguard.db");
	if ((s->path = malloc(plen)) == NULL)
		goto out;
	snprintf(s->path, plen, "%s/zguard.db", dir);

	err = ZG_ERR_INTERNAL;
	if (pthread_mutex_init(&s->writer_lock, NULL) != 0)
		goto out;
	locks++;
	if (pthread_mutex_init(&s->reader_lock, NULL) != 0)
		goto out;
	locks++;
	if (pthread_cond_init(&s->reader_free, NULL) != 0)
		goto out;
	locks++;
	/* success */
	*out = s;
	s = NULL;
	err = ZG_OK;
out:
	if (s != NULL)
		store_free(s, locks);
	return err;
}

zg_err
zg_store_sqlite_open(const char *dir, zg_store **out)
{
	zg_sqlite_store *s = NULL;
	zg_err err;

	*out = NULL;
	if ((err = store_alloc(dir, false, &s)) != ZG_OK)
		return err;
	if ((err = create_db_file(s->path)) != ZG_OK)
		goto out;
	if ((err = conn_open(s->path, true, false, &s->writer.db)) != ZG_OK)
		goto out;
	if ((err = migrate(s->writer.db, s->path)) != ZG_OK)
		goto out;
	/* success */
	*out = &s->base;
	s = NULL;
	err = ZG_OK;
out:
	if (s != NULL)
		zg_sqlite_close(&s->base);
	return err;
}

/*
 * A read-only connection to a WAL database still needs the -shm file, and
 * SQLite creates it when it is missing, so the data directory must then be
 * writable. The unit tests open a handle beside an open read-write handle
 * and after it closed, with SQLite 3.40.1.
 */
zg_err
zg_store_sqlite_open_readonly(const char *dir, zg_store **out)
{
	zg_sqlite_store *s = NULL;
	zg_sqlite_conn *conn = NULL;
	struct stat sb;
	zg_err err;
	int have;

	*out = NULL;
	if ((err = store_alloc(dir, true, &s)) != ZG_OK)
		return err;
	if (stat(s->path, &sb) == -1) {
		err = errno == ENOENT ? ZG_ERR_NOT_FOUND : ZG_ERR_IO;
		zg_log_error("opening the database read-only failed",
		    ZGF_S("path", s->path), ZGF_S("errno", strerror(errno)));
		goto out;
	}
	/* The first reader checks the schema and stays open for later reads. */
	if ((err = zg_sqlite_reader_acquire(s, &conn)) != ZG_OK)
		goto out;
	err = schema_version(conn->db, &have, "open_readonly");
	zg_sqlite_reader_release(s, conn);
	if (err != ZG_OK)
		goto out;
	if (have != MIGRATION_COUNT) {
		zg_log_error("database schema version does not match this "
		    "zguard. Start the zguard daemon once to migrate it, "
		    "or use a matching zguard", ZGF_S("path", s->path),
		    ZGF_I("schema_version", have),
		    ZGF_I("supported_version", MIGRATION_COUNT));
		err = ZG_ERR_STORE;
		goto out;
	}
	/* success */
	*out = &s->base;
	s = NULL;
	err = ZG_OK;
out:
	if (s != NULL)
		zg_sqlite_close(&s->base);
	return err;
}
