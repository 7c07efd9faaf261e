/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The store's tables on the three engines: the DDL of each dialect, the
 * schema and its meta row, and the upgrades from earlier versions. */

#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "at_store_dbi.h"
#include "at_token.h"
#include "at_scope.h"
#include "at_log.h"

#include "at_store_dbi_int.h"

/* Schema 4.  Every table is created "IF NOT EXISTS", so running the DDL
 * again is what upgrades an older schema by new tables; a new column is
 * added by its own step in init_schema_txn. */
#define SCOPE_USAGE_DDL \
    "CREATE TABLE IF NOT EXISTS apitoken_scope_usage (" \
    " token_id VARCHAR(12) NOT NULL," \
    " scope VARCHAR(129) NOT NULL," \
    " last_used_at BIGINT NOT NULL," \
    " PRIMARY KEY (token_id, scope))"

/* The tables are the same on every engine; only the key syntax, the
 * auto-increment column and MySQL's table options differ. */
#define META_DDL \
    "CREATE TABLE IF NOT EXISTS apitoken_meta (" \
    " singleton INTEGER NOT NULL PRIMARY KEY," \
    " schema_version INTEGER NOT NULL," \
    " prefix VARCHAR(16) NOT NULL," \
    " change_seq BIGINT NOT NULL)"

/* Schema 4: the token's resource patterns (at_resource.h); the same text
 * creates the table and upgrades an older one. */
#define RESOURCES_COL "resources TEXT NOT NULL DEFAULT ''"

#define TOKENS_DDL(unique) \
    "CREATE TABLE IF NOT EXISTS apitoken_tokens (" \
    " id VARCHAR(12) NOT NULL PRIMARY KEY," \
    " owner VARCHAR(128) NOT NULL," \
    " name VARCHAR(128) NOT NULL," \
    " digest CHAR(64) NOT NULL," \
    " scopes TEXT NOT NULL," \
    " full_access INTEGER NOT NULL," \
    " created_at BIGINT NOT NULL," \
    " expires_at BIGINT NOT NULL," \
    " revoked_at BIGINT NOT NULL," \
    " last_used_at BIGINT NOT NULL," \
    " last_used_addr VARCHAR(64) NOT NULL," \
    " allowed_nets TEXT NOT NULL," \
    " description TEXT NOT NULL," \
    " prev_digest VARCHAR(64) NOT NULL," \
    " prev_until BIGINT NOT NULL," \
    " " RESOURCES_COL "," \
    " " unique " (owner, name))"

/* Schema 3: the owner of the event's token, so that an account's events
 * are selected by SQL, not found by matching text in the details.  The
 * same column text creates the table and upgrades an older one. */
#define AUDIT_OWNER_COL "owner VARCHAR(128) NOT NULL DEFAULT ''"

#define AUDIT_DDL(seq, tail) \
    "CREATE TABLE IF NOT EXISTS apitoken_audit (" \
    " seq " seq "," \
    " at BIGINT NOT NULL," \
    " action VARCHAR(32) NOT NULL," \
    " token_id VARCHAR(12) NOT NULL," \
    " actor VARCHAR(144) NOT NULL," /* AT_ACTOR_MAX */ \
    " detail TEXT NOT NULL," \
    " " AUDIT_OWNER_COL tail ")"

#define AUDIT_INDEX_DDL \
    "CREATE INDEX IF NOT EXISTS apitoken_audit_token" \
    " ON apitoken_audit (token_id)"

/* SQLite and PostgreSQL; MySQL names the key in its CREATE and ALTER. */
#define AUDIT_OWNER_INDEX_DDL \
    "CREATE INDEX IF NOT EXISTS apitoken_audit_owner" \
    " ON apitoken_audit (owner, seq)"

#define MY_AUDIT_OWNER_KEY "KEY apitoken_audit_owner (owner, seq)"

static const char *const ddl_sqlite[] = {
    META_DDL,
    TOKENS_DDL("UNIQUE") " WITHOUT ROWID",
    AUDIT_DDL("INTEGER PRIMARY KEY AUTOINCREMENT", ""),
    AUDIT_INDEX_DDL,
    SCOPE_USAGE_DDL " WITHOUT ROWID",
    NULL
};

static const char *const ddl_pgsql[] = {
    META_DDL,
    TOKENS_DDL("UNIQUE"),
    AUDIT_DDL("BIGSERIAL PRIMARY KEY", ""),
    AUDIT_INDEX_DDL,
    SCOPE_USAGE_DDL,
    NULL
};

/* utf8mb4_bin: ids are case-sensitive base62 and names compare exactly;
 * utf8mb4 so that 4-byte characters (emoji) are stored, not refused. */
#define MY_TAIL " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"

static const char *const ddl_mysql[] = {
    META_DDL MY_TAIL,
    TOKENS_DDL("UNIQUE KEY apitoken_tokens_owner_name") MY_TAIL,
    AUDIT_DDL("BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY",
              ", KEY apitoken_audit_token (token_id), "
              MY_AUDIT_OWNER_KEY) MY_TAIL,
    SCOPE_USAGE_DDL MY_TAIL,
    NULL
};

/* Does apitoken_meta exist?  1 yes, 0 no, -1 error (s->error set). */
static int meta_exists(at_store_t *s)
{
    dbi_impl_t *d = IMPL(s);
    dbi_result r;
    int found;

    if (d->schema_seen) {
        return 1;
    }
    switch (d->kind) {
    case AT_DB_SQLITE3:
        r = at_sql(s, "SELECT name FROM sqlite_master"
                   " WHERE type = 'table'"
                   " AND name = 'apitoken_meta'", AT_SQL_NONE);
        break;
    case AT_DB_PGSQL:
        r = at_sql(s, "SELECT table_name"
                   " FROM information_schema.tables"
                   " WHERE table_schema = current_schema()"
                   " AND table_name = 'apitoken_meta'", AT_SQL_NONE);
        break;
    default:
        r = at_sql(s, "SELECT table_name"
                   " FROM information_schema.tables"
                   " WHERE table_schema = DATABASE()"
                   " AND table_name = 'apitoken_meta'", AT_SQL_NONE);
        break;
    }
    if (r == NULL) {
        db_fail(s, "checking for the schema");
        return -1;
    }
    found = dbi_result_get_numrows(r) > 0;
    dbi_result_free(r);
    if (found) {
        d->schema_seen = 1;
    }
    return found;
}

apr_status_t at_dbi_get_meta(at_store_t *s, const char **prefix,
                             int *version, apr_int64_t *change_seq,
                             apr_pool_t *p)
{
    dbi_result r;
    int ex = meta_exists(s);

    if (ex < 0) {
        return APR_EGENERAL;
    }
    if (ex == 0) {
        return fail(s, APR_NOTFOUND,
                    "no token schema in this database (run init)");
    }
    r = at_sql(s, "SELECT schema_version, prefix, change_seq"
               " FROM apitoken_meta WHERE singleton = 1", AT_SQL_NONE);
    if (r == NULL) {
        return db_fail(s, "reading the schema version");
    }
    if (!dbi_result_next_row(r)) {
        dbi_result_free(r);
        return fail(s, APR_NOTFOUND,
                    "no token schema in this database (run init)");
    }
    if (version) {
        *version = (int)get_ll(r, "schema_version");
    }
    if (prefix) {
        *prefix = get_str(r, "prefix", p);
    }
    if (change_seq) {
        *change_seq = get_ll(r, "change_seq");
    }
    dbi_result_free(r);
    return APR_SUCCESS;
}

/* Has table the column col (both our own literals)?  1 yes, 0 no, -1
 * error. */
static int has_column(at_store_t *s, const char *table, const char *col)
{
    dbi_impl_t *d = IMPL(s);
    dbi_result r;
    int found;

    switch (d->kind) {
    case AT_DB_SQLITE3:
        r = at_sql(s, "SELECT name FROM pragma_table_info(?) WHERE name = ?",
                   AT_SQL_ARGS(AT_SQL_T(table), AT_SQL_T(col)));
        break;
    case AT_DB_PGSQL:
        r = at_sql(s, "SELECT column_name"
                   " FROM information_schema.columns"
                   " WHERE table_schema = current_schema()"
                   " AND table_name = ? AND column_name = ?",
                   AT_SQL_ARGS(AT_SQL_T(table), AT_SQL_T(col)));
        break;
    default:
        r = at_sql(s, "SELECT column_name"
                   " FROM information_schema.columns"
                   " WHERE table_schema = DATABASE()"
                   " AND table_name = ? AND column_name = ?",
                   AT_SQL_ARGS(AT_SQL_T(table), AT_SQL_T(col)));
        break;
    }
    if (r == NULL) {
        db_fail(s, "checking a table's columns");
        return -1;
    }
    found = dbi_result_get_numrows(r) > 0;
    dbi_result_free(r);
    return found;
}

/* The owner named by a create event's detail, "owner O, name N, ...", or
 * NULL.  Owners and names may both contain ", name ", so a detail in which
 * it occurs more than once could be either account's: NULL then, and the
 * event is left to nobody rather than given to the wrong one. */
static const char *owner_of_create(const char *detail, apr_pool_t *p)
{
    static const char sep[] = ", name ";
    const char *first, *owner;

    if (strncmp(detail, "owner ", 6)
        || (first = strstr(detail + 6, sep)) == NULL
        || strstr(first + 1, sep) != NULL) {
        return NULL;
    }
    owner = apr_pstrmemdup(p, detail + 6, first - (detail + 6));
    return at_check_stored_owner(owner) ? NULL : owner;
}

/* 2 -> 3: widen apitoken_audit.actor to AT_ACTOR_MAX (SQLite does not
 * enforce the length); add apitoken_audit.owner and fill it for the
 * existing events:
 * from the token while it exists, else from the token's create event.
 * Each step only touches rows still without an owner, so an upgrade cut
 * short (MySQL commits DDL at once) is finished by the next init. */
static apr_status_t upgrade_audit_owner(at_store_t *s, apr_pool_t *tmp)
{
    dbi_impl_t *d = IMPL(s);
    apr_array_header_t *found;
    apr_status_t rv;
    dbi_result r;
    int has, i;

    if (d->kind != AT_DB_SQLITE3) {
        rv = exec_free(s, d->kind == AT_DB_PGSQL
                       ? at_sql(s, "ALTER TABLE apitoken_audit"
                                " ALTER COLUMN actor TYPE"
                                " VARCHAR(144)", AT_SQL_NONE)
                       : at_sql(s, "ALTER TABLE apitoken_audit"
                                " MODIFY actor VARCHAR(144)"
                                " NOT NULL", AT_SQL_NONE),
                       "widening the audit actor");
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    if ((has = has_column(s, "apitoken_audit", "owner")) < 0) {
        return APR_EGENERAL;
    }
    if (!has) {
        rv = exec_free(s, d->kind == AT_DB_MYSQL
                       ? at_sql(s, "ALTER TABLE apitoken_audit ADD COLUMN "
                                AUDIT_OWNER_COL ", ADD " MY_AUDIT_OWNER_KEY,
                                AT_SQL_NONE)
                       : at_sql(s, "ALTER TABLE apitoken_audit ADD COLUMN "
                                AUDIT_OWNER_COL, AT_SQL_NONE),
                       "adding the audit owner");
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    rv = exec_free(s, at_sql(s,
                             "UPDATE apitoken_audit SET owner ="
                             " (SELECT t.owner FROM apitoken_tokens t"
                             " WHERE t.id = apitoken_audit.token_id)"
                             " WHERE owner = '' AND token_id IN"
                             " (SELECT id FROM apitoken_tokens)", AT_SQL_NONE),
                   "filling the audit owner from the tokens");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    r = at_sql(s, "SELECT token_id, detail FROM apitoken_audit"
               " WHERE owner = '' AND action = 'create'"
               " AND token_id <> '' ORDER BY seq", AT_SQL_NONE);
    if (r == NULL) {
        return db_fail(s, "reading the create events");
    }
    /* Read them all first: the updates below must not run while the
     * result is open. */
    found = apr_array_make(tmp, 16, sizeof(const char *));
    while (dbi_result_next_row(r)) {
        const char *tid = get_str(r, "token_id", tmp);
        const char *owner = owner_of_create(get_str(r, "detail", tmp), tmp);

        if (owner && at_id_valid(tid)) {
            APR_ARRAY_PUSH(found, const char *) = tid;
            APR_ARRAY_PUSH(found, const char *) = owner;
        }
    }
    dbi_result_free(r);
    for (i = 0; i + 1 < found->nelts; i += 2) {
        rv = exec_free(s, at_sql(s, "UPDATE apitoken_audit SET owner = ?"
                                 " WHERE token_id = ? AND owner = ''",
                                 AT_SQL_ARGS(AT_SQL_T(APR_ARRAY_IDX(found,
                                                      i + 1, const char *)),
                                             AT_SQL_T(APR_ARRAY_IDX(found, i,
                                                      const char *)))),
                       "filling the audit owner from the create events");
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* 3 -> 4: apitoken_tokens.resources, "" (unrestricted) for every
 * existing token.  Only added when missing, so a cut-short upgrade is
 * finished by the next init. */
static apr_status_t upgrade_resources(at_store_t *s)
{
    int has = has_column(s, "apitoken_tokens", "resources");

    if (has < 0) {
        return APR_EGENERAL;
    }
    if (has) {
        return APR_SUCCESS;
    }
    return exec_free(s, at_sql(s, "ALTER TABLE apitoken_tokens ADD COLUMN "
                               RESOURCES_COL, AT_SQL_NONE),
                     "adding the token resources");
}

/* The index of the audit owner, once the column exists (MySQL's is made
 * with the column). */
static apr_status_t owner_index(at_store_t *s)
{
    if (IMPL(s)->kind == AT_DB_MYSQL) {
        return APR_SUCCESS;
    }
    return exec_free(s, at_sql(s, AUDIT_OWNER_INDEX_DDL, AT_SQL_NONE),
                     "indexing the audit owner");
}

static apr_status_t init_schema_txn(at_store_t *s, const char *prefix,
                                    apr_pool_t *tmp)
{
    dbi_impl_t *d = IMPL(s);
    const char *const *ddl;
    apr_status_t rv;
    int version = 0, i;

    ddl = d->kind == AT_DB_SQLITE3 ? ddl_sqlite
        : d->kind == AT_DB_PGSQL ? ddl_pgsql : ddl_mysql;
    for (i = 0; ddl[i] != NULL; i++) {
        rv = exec_free(s, at_sql(s, ddl[i], AT_SQL_NONE),
                       "creating the schema");
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    d->schema_seen = 0;
    rv = at_dbi_get_meta(s, NULL, &version, NULL, tmp);
    if (rv == APR_NOTFOUND) {
        if ((rv = owner_index(s)) != APR_SUCCESS) {
            return rv;
        }
        return exec_free(s, at_sql(s, "INSERT INTO apitoken_meta (singleton,"
                                   " schema_version, prefix, change_seq)"
                                   " VALUES (1, ?, ?, 0)",
                                   AT_SQL_ARGS(AT_SQL_N(AT_SCHEMA_VERSION),
                                               AT_SQL_T(prefix))),
                         "recording the schema version");
    }
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (version > AT_SCHEMA_VERSION) {
        return fail(s, APR_EGENERAL, "the database has schema version %d,"
                    " newer than this build's %d", version,
                    AT_SCHEMA_VERSION);
    }
    if (version < AT_SCHEMA_VERSION) {
        /* 1 -> 2: apitoken_scope_usage, made by the DDL above.  2 -> 3: the
         * audit owner.  3 -> 4: the token resources.  Later steps that
         * alter tables go here, one per version. */
        if (version < 3 && ((rv = upgrade_audit_owner(s, tmp)) != APR_SUCCESS
                            || (rv = owner_index(s)) != APR_SUCCESS)) {
            return rv;
        }
        if (version < 4 && (rv = upgrade_resources(s)) != APR_SUCCESS) {
            return rv;
        }
        return exec_free(s, at_sql(s, "UPDATE apitoken_meta"
                                   " SET schema_version = ?",
                                   AT_SQL_ARGS(AT_SQL_N(AT_SCHEMA_VERSION))),
                         "upgrading the schema");
    }
    return APR_SUCCESS;
}

apr_status_t at_dbi_init_schema(at_store_t *s, const char *prefix)
{
    dbi_impl_t *d = IMPL(s);
    apr_pool_t *tmp;
    apr_status_t rv;
    int own = !d->in_txn;

    if (prefix == NULL) {
        prefix = AT_DEFAULT_PREFIX;
    }
    if (!at_prefix_valid(prefix)) {
        return fail(s, APR_EINVAL, "invalid token prefix");
    }
    /* One transaction, so two concurrent inits cannot both insert the
     * meta row (MySQL commits DDL implicitly; the primary key on
     * singleton catches that race). */
    if (own && (rv = at_dbi_begin(s, 1)) != APR_SUCCESS) {
        return rv;
    }
    apr_pool_create(&tmp, s->pool);
    rv = init_schema_txn(s, prefix, tmp);
    apr_pool_destroy(tmp);
    if (own) {
        if (rv == APR_SUCCESS) {
            rv = at_dbi_commit(s);
        }
        else {
            const char *keep = apr_pstrdup(s->pool, s->error);
            at_dbi_rollback(s);
            fail(s, rv, "%s", keep);
        }
    }
    return rv;
}
