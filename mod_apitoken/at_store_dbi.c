/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* The token store on libdbi: SQLite, PostgreSQL and MariaDB/MySQL.
 *
 * libdbi has no bound parameters, so every statement is built by
 * dbi_conn_queryf from a literal format; data only ever enters as a %s
 * argument produced by dbi_conn_quote_string_copy (quotes included), and
 * only after it passed at_check_* / at_id_valid / a hex check.  Numbers
 * enter as %lld.  Every dbi_result is freed on every path. */

#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "at_store_dbi.h"
#include "at_token.h"
#include "at_scope.h"
#include "at_log.h"

/* libdbi keeps its connections in an unlocked list per instance: creating
 * and closing connections from several threads at once corrupts it.  A
 * static initialiser makes the lock safe to take from any thread, first
 * use included. */
static pthread_mutex_t conn_list_mutex = PTHREAD_MUTEX_INITIALIZER;

#define ERRBUF_LEN 512
#define DETAIL_MAX AT_DESCRIPTION_MAX
#define ADDR_MAX   64

typedef struct dbi_impl_t {
    dbi_conn conn;
    at_db_kind_t kind;
    int in_txn;
    int schema_seen;             /* apitoken_meta known to exist */
    char errbuf[ERRBUF_LEN];     /* fixed: a long-lived store must not grow */
} dbi_impl_t;

#define IMPL(s) ((dbi_impl_t *)(s)->impl)

/* Copy msg into the store's error buffer, with any occurrence of the
 * password replaced: drivers echo connection strings in some errors. */
static void put_error(char *buf, const char *msg, const at_dburl_t *url)
{
    const char *pw = url ? url->password : NULL;
    apr_size_t pwlen = pw ? strlen(pw) : 0;
    apr_size_t o = 0;
    char c;

    while (*msg && o + 4 < ERRBUF_LEN) {
        if (pwlen >= 1 && strncmp(msg, pw, pwlen) == 0) {
            memcpy(buf + o, "***", 3);
            o += 3;
            msg += pwlen;
            continue;
        }
        /* Driver messages hold newlines and tabs; errors are one line. */
        c = *msg++;
        buf[o++] = (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    }
    while (o > 0 && buf[o - 1] == ' ') {
        o--;
    }
    buf[o] = '\0';
}

static apr_status_t fail(at_store_t *s, apr_status_t rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static apr_status_t fail(at_store_t *s, apr_status_t rv, const char *fmt, ...)
{
    char tmp[ERRBUF_LEN];
    va_list ap;

    va_start(ap, fmt);
    apr_vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    put_error(IMPL(s)->errbuf, tmp, s->url);
    s->error = IMPL(s)->errbuf;
    return rv;
}

/* Report a failed statement: what we were doing and the driver's text. */
static apr_status_t db_fail(at_store_t *s, const char *what)
{
    const char *msg = NULL;

    dbi_conn_error(IMPL(s)->conn, &msg);
    fail(s, APR_EGENERAL, "%s: %s", what,
         (msg && *msg) ? msg : "database error");
    AT_LOG(AT_LOG_DEBUG, "store: %s", s->error);
    return APR_EGENERAL;
}

static void free_quoted(void *q)
{
    free(q);
}

static apr_status_t cleanup_quoted(void *q)
{
    free_quoted(q);
    return APR_SUCCESS;
}

/* The quoted SQL literal of str (quotes included), freed with pool.
 * NULL when the driver refused it (only on allocation failure). */
static const char *quote(at_store_t *s, const char *str, apr_pool_t *pool)
{
    char *q = NULL;

    if (dbi_conn_quote_string_copy(IMPL(s)->conn, str ? str : "", &q) == 0
        || q == NULL) {
        return NULL;
    }
    apr_pool_cleanup_register(pool, q, cleanup_quoted, apr_pool_cleanup_null);
    return q;
}

/* An integer column; drivers type some as strings (pgsql booleans,
 * computed columns) or decimals. */
static apr_int64_t get_ll(dbi_result r, const char *field)
{
    const char *str;

    if (dbi_result_field_is_null(r, field) == 1) {
        return 0;
    }
    switch (dbi_result_get_field_type(r, field)) {
    case DBI_TYPE_INTEGER:
        return (apr_int64_t)dbi_result_get_longlong(r, field);
    case DBI_TYPE_DECIMAL:
        return (apr_int64_t)dbi_result_get_double(r, field);
    case DBI_TYPE_STRING:
        str = dbi_result_get_string(r, field);
        if (str == NULL) {
            return 0;
        }
        if (*str == 't' || *str == 'T') {
            return 1;
        }
        return apr_atoi64(str);
    default:
        return 0;
    }
}

/* A text column copied into pool; "" for NULL. */
static const char *get_str(dbi_result r, const char *field, apr_pool_t *p)
{
    const char *str;

    if (dbi_result_field_is_null(r, field) == 1) {
        return "";
    }
    str = dbi_result_get_string(r, field);
    return apr_pstrdup(p, str ? str : "");
}

/* Run a statement whose result is not read. */
static apr_status_t exec_free(at_store_t *s, dbi_result r, const char *what)
{
    if (r == NULL) {
        return db_fail(s, what);
    }
    dbi_result_free(r);
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Validation of what reaches SQL                                       */

static int hex_valid(const char *h, int allow_empty)
{
    apr_size_t i;

    if (h == NULL || *h == '\0') {
        return allow_empty;
    }
    for (i = 0; h[i]; i++) {
        if (!apr_isxdigit(h[i]) || apr_isupper(h[i])) {
            return 0;
        }
    }
    return i == AT_DIGEST_HEX_LEN;
}

/* Scopes are normalised by at_scope (lower-case words, ':' and '-' '_',
 * separated by single spaces).  Re-checked here as plain characters so
 * nothing else can reach SQL. */
static int scopes_valid(const char *sc)
{
    apr_size_t i;

    if (sc == NULL) {
        return 0;
    }
    for (i = 0; sc[i]; i++) {
        char c = sc[i];
        if (!(apr_islower(c) || apr_isdigit(c) || c == '_' || c == '-'
              || c == ':' || c == ' ')) {
            return 0;
        }
    }
    return i <= 4096;
}

/* A client address as httpd prints it (IPv4, IPv6, maybe a %zone). */
static int addr_valid(const char *a)
{
    apr_size_t i;

    if (a == NULL) {
        return 0;
    }
    for (i = 0; a[i]; i++) {
        if (!(apr_isalnum(a[i]) || a[i] == '.' || a[i] == ':'
              || a[i] == '%' || a[i] == '_' || a[i] == '-')) {
            return 0;
        }
    }
    return i <= ADDR_MAX;
}

static apr_status_t check_rec(at_store_t *s, const at_token_rec_t *r,
                              apr_pool_t *p)
{
    const char *why;

    if (!at_id_valid(r->id)) {
        return fail(s, APR_EINVAL, "invalid token id");
    }
    if ((why = at_check_stored_owner(r->owner)) != NULL) {
        return fail(s, APR_EINVAL, "owner %s", why);
    }
    if ((why = at_check_name(r->name)) != NULL) {
        return fail(s, APR_EINVAL, "name %s", why);
    }
    if (!hex_valid(r->digest, 0) || !hex_valid(r->prev_digest, 1)) {
        return fail(s, APR_EINVAL, "digest is not lower-case hex SHA-256");
    }
    if (!scopes_valid(r->scopes)) {
        return fail(s, APR_EINVAL, "scopes contain an invalid character");
    }
    if ((why = at_check_description(r->description)) != NULL) {
        return fail(s, APR_EINVAL, "description %s", why);
    }
    if (r->allowed_nets
        && (why = at_check_stored_nets(r->allowed_nets, p)) != NULL) {
        return fail(s, APR_EINVAL, "allowed networks: %s", why);
    }
    if (r->last_used_addr && *r->last_used_addr
        && !addr_valid(r->last_used_addr)) {
        return fail(s, APR_EINVAL, "invalid last-used address");
    }
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Schema                                                               */

#define TOKEN_COLS "id, owner, name, digest, scopes, full_access, " \
    "created_at, expires_at, revoked_at, last_used_at, last_used_addr, " \
    "allowed_nets, description, prev_digest, prev_until"

/* The sqlite3 driver learns each result column's type with extra
 * statements, so its cost grows with the column count: a 15-column lookup
 * ran at about 1,700/s, the same row packed into one text column at about
 * 10,000/s.  SQLite lookups therefore select one column, the fields joined
 * by US (0x1f), which no stored value can contain (control characters are
 * refused before they reach SQL).  It ends with, and is named after, a
 * text column because the driver types a computed column by that name. */
#define PACK_SEP "\037"
#define J " || '" PACK_SEP "' || "
#define PACKED_FIELDS 15
#define TOKEN_PACKED "id" J "owner" J "name" J "digest" J "scopes" J \
    "full_access" J "created_at" J "expires_at" J "revoked_at" J \
    "last_used_at" J "prev_until" J "last_used_addr" J "allowed_nets" J \
    "prev_digest" J "description AS description"

/* Schema 3.  Every table is created "IF NOT EXISTS", so running the DDL
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
        r = dbi_conn_queryf(d->conn, "SELECT name FROM sqlite_master"
                            " WHERE type = 'table'"
                            " AND name = 'apitoken_meta'");
        break;
    case AT_DB_PGSQL:
        r = dbi_conn_queryf(d->conn, "SELECT table_name"
                            " FROM information_schema.tables"
                            " WHERE table_schema = current_schema()"
                            " AND table_name = 'apitoken_meta'");
        break;
    default:
        r = dbi_conn_queryf(d->conn, "SELECT table_name"
                            " FROM information_schema.tables"
                            " WHERE table_schema = DATABASE()"
                            " AND table_name = 'apitoken_meta'");
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

static apr_status_t dbi_get_meta(at_store_t *s, const char **prefix,
                                 int *version, apr_int64_t *change_seq,
                                 apr_pool_t *p)
{
    dbi_impl_t *d = IMPL(s);
    dbi_result r;
    int ex = meta_exists(s);

    if (ex < 0) {
        return APR_EGENERAL;
    }
    if (ex == 0) {
        return fail(s, APR_NOTFOUND,
                    "no token schema in this database (run init)");
    }
    r = dbi_conn_queryf(d->conn, "SELECT schema_version, prefix, change_seq"
                        " FROM apitoken_meta WHERE singleton = 1");
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

static apr_status_t dbi_begin(at_store_t *s, int write);
static apr_status_t dbi_commit(at_store_t *s);
static apr_status_t dbi_rollback(at_store_t *s);

/* Has apitoken_audit the owner column?  1 yes, 0 no, -1 error. */
static int audit_has_owner(at_store_t *s)
{
    dbi_impl_t *d = IMPL(s);
    dbi_result r;
    int found;

    switch (d->kind) {
    case AT_DB_SQLITE3:
        r = dbi_conn_queryf(d->conn, "SELECT name"
                            " FROM pragma_table_info('apitoken_audit')"
                            " WHERE name = 'owner'");
        break;
    case AT_DB_PGSQL:
        r = dbi_conn_queryf(d->conn, "SELECT column_name"
                            " FROM information_schema.columns"
                            " WHERE table_schema = current_schema()"
                            " AND table_name = 'apitoken_audit'"
                            " AND column_name = 'owner'");
        break;
    default:
        r = dbi_conn_queryf(d->conn, "SELECT column_name"
                            " FROM information_schema.columns"
                            " WHERE table_schema = DATABASE()"
                            " AND table_name = 'apitoken_audit'"
                            " AND column_name = 'owner'");
        break;
    }
    if (r == NULL) {
        db_fail(s, "checking the audit table");
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
                       ? dbi_conn_queryf(d->conn, "ALTER TABLE apitoken_audit"
                                         " ALTER COLUMN actor TYPE"
                                         " VARCHAR(144)")
                       : dbi_conn_queryf(d->conn, "ALTER TABLE apitoken_audit"
                                         " MODIFY actor VARCHAR(144)"
                                         " NOT NULL"),
                       "widening the audit actor");
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    if ((has = audit_has_owner(s)) < 0) {
        return APR_EGENERAL;
    }
    if (!has) {
        rv = exec_free(s, d->kind == AT_DB_MYSQL
                       ? dbi_conn_queryf(d->conn, "ALTER TABLE apitoken_audit"
                                         " ADD COLUMN %s, ADD %s",
                                         AUDIT_OWNER_COL, MY_AUDIT_OWNER_KEY)
                       : dbi_conn_queryf(d->conn, "ALTER TABLE apitoken_audit"
                                         " ADD COLUMN %s", AUDIT_OWNER_COL),
                       "adding the audit owner");
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    rv = exec_free(s, dbi_conn_queryf(d->conn,
                   "UPDATE apitoken_audit SET owner ="
                   " (SELECT t.owner FROM apitoken_tokens t"
                   " WHERE t.id = apitoken_audit.token_id)"
                   " WHERE owner = '' AND token_id IN"
                   " (SELECT id FROM apitoken_tokens)"),
                   "filling the audit owner from the tokens");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    r = dbi_conn_queryf(d->conn, "SELECT token_id, detail FROM apitoken_audit"
                        " WHERE owner = '' AND action = 'create'"
                        " AND token_id <> '' ORDER BY seq");
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
        const char *qt = quote(s, APR_ARRAY_IDX(found, i, const char *), tmp);
        const char *qo = quote(s, APR_ARRAY_IDX(found, i + 1, const char *),
                               tmp);

        if (!qt || !qo) {
            return fail(s, APR_EGENERAL, "cannot quote a value");
        }
        rv = exec_free(s, dbi_conn_queryf(d->conn,
                       "UPDATE apitoken_audit SET owner = %s"
                       " WHERE token_id = %s AND owner = ''", qo, qt),
                       "filling the audit owner from the create events");
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* The index of the audit owner, once the column exists (MySQL's is made
 * with the column). */
static apr_status_t owner_index(at_store_t *s)
{
    if (IMPL(s)->kind == AT_DB_MYSQL) {
        return APR_SUCCESS;
    }
    return exec_free(s, dbi_conn_queryf(IMPL(s)->conn, "%s",
                                        AUDIT_OWNER_INDEX_DDL),
                     "indexing the audit owner");
}

static apr_status_t init_schema_txn(at_store_t *s, const char *prefix,
                                    apr_pool_t *tmp)
{
    dbi_impl_t *d = IMPL(s);
    const char *const *ddl;
    const char *qprefix;
    apr_status_t rv;
    int version = 0, i;

    ddl = d->kind == AT_DB_SQLITE3 ? ddl_sqlite
        : d->kind == AT_DB_PGSQL ? ddl_pgsql : ddl_mysql;
    for (i = 0; ddl[i] != NULL; i++) {
        /* The DDL is a literal; "%s" keeps it from being a format. */
        rv = exec_free(s, dbi_conn_queryf(d->conn, "%s", ddl[i]),
                       "creating the schema");
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    d->schema_seen = 0;
    rv = dbi_get_meta(s, NULL, &version, NULL, tmp);
    if (rv == APR_NOTFOUND) {
        if ((rv = owner_index(s)) != APR_SUCCESS) {
            return rv;
        }
        if ((qprefix = quote(s, prefix, tmp)) == NULL) {
            return fail(s, APR_EGENERAL, "cannot quote the prefix");
        }
        return exec_free(s, dbi_conn_queryf(d->conn,
                         "INSERT INTO apitoken_meta (singleton,"
                         " schema_version, prefix, change_seq)"
                         " VALUES (1, %d, %s, 0)",
                         AT_SCHEMA_VERSION, qprefix),
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
         * audit owner.  Later steps that alter tables go here, one per
         * version. */
        if (version < 3 && ((rv = upgrade_audit_owner(s, tmp)) != APR_SUCCESS
                            || (rv = owner_index(s)) != APR_SUCCESS)) {
            return rv;
        }
        return exec_free(s, dbi_conn_queryf(d->conn,
                         "UPDATE apitoken_meta SET schema_version = %d",
                         AT_SCHEMA_VERSION), "upgrading the schema");
    }
    return APR_SUCCESS;
}

static apr_status_t dbi_init_schema(at_store_t *s, const char *prefix)
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
    if (own && (rv = dbi_begin(s, 1)) != APR_SUCCESS) {
        return rv;
    }
    apr_pool_create(&tmp, s->pool);
    rv = init_schema_txn(s, prefix, tmp);
    apr_pool_destroy(tmp);
    if (own) {
        if (rv == APR_SUCCESS) {
            rv = dbi_commit(s);
        }
        else {
            const char *keep = apr_pstrdup(s->pool, s->error);
            dbi_rollback(s);
            fail(s, rv, "%s", keep);
        }
    }
    return rv;
}

/* ------------------------------------------------------------------ */
/* Transactions                                                         */

static apr_status_t dbi_begin(at_store_t *s, int write)
{
    dbi_impl_t *d = IMPL(s);
    dbi_result r;

    if (d->in_txn) {
        return fail(s, APR_EGENERAL, "a transaction is already open");
    }
    if (d->kind == AT_DB_SQLITE3) {
        /* IMMEDIATE takes the write lock now, so a writer waits at BEGIN
         * (busy timeout) instead of failing at its first UPDATE. */
        r = write ? dbi_conn_queryf(d->conn, "BEGIN IMMEDIATE")
                  : dbi_conn_queryf(d->conn, "BEGIN");
    }
    else if (d->kind == AT_DB_MYSQL) {
        r = dbi_conn_queryf(d->conn, "START TRANSACTION");
    }
    else {
        r = dbi_conn_queryf(d->conn, "BEGIN");
    }
    if (r == NULL) {
        return db_fail(s, "starting a transaction");
    }
    dbi_result_free(r);
    d->in_txn = 1;
    return APR_SUCCESS;
}

static apr_status_t dbi_commit(at_store_t *s)
{
    dbi_impl_t *d = IMPL(s);
    dbi_result r;

    if (!d->in_txn) {
        return fail(s, APR_EGENERAL, "no transaction is open");
    }
    r = dbi_conn_queryf(d->conn, "COMMIT");
    if (r == NULL) {
        /* Leave nothing half open: a failed COMMIT is a rollback. */
        apr_status_t rv = db_fail(s, "committing");
        dbi_result_free(dbi_conn_queryf(d->conn, "ROLLBACK"));
        d->in_txn = 0;
        return rv;
    }
    dbi_result_free(r);
    d->in_txn = 0;
    return APR_SUCCESS;
}

static apr_status_t dbi_rollback(at_store_t *s)
{
    dbi_impl_t *d = IMPL(s);
    dbi_result r;

    if (!d->in_txn) {
        return APR_SUCCESS;
    }
    d->in_txn = 0;
    r = dbi_conn_queryf(d->conn, "ROLLBACK");
    if (r == NULL) {
        return db_fail(s, "rolling back");
    }
    dbi_result_free(r);
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Tokens                                                               */

static at_token_rec_t *read_rec(dbi_result r, apr_pool_t *p)
{
    at_token_rec_t *rec = apr_pcalloc(p, sizeof(*rec));

    rec->id = get_str(r, "id", p);
    rec->owner = get_str(r, "owner", p);
    rec->name = get_str(r, "name", p);
    rec->digest = get_str(r, "digest", p);
    rec->scopes = get_str(r, "scopes", p);
    rec->full_access = get_ll(r, "full_access") != 0;
    rec->created_at = get_ll(r, "created_at");
    rec->expires_at = get_ll(r, "expires_at");
    rec->revoked_at = get_ll(r, "revoked_at");
    rec->last_used_at = get_ll(r, "last_used_at");
    rec->last_used_addr = get_str(r, "last_used_addr", p);
    rec->allowed_nets = get_str(r, "allowed_nets", p);
    rec->description = get_str(r, "description", p);
    rec->prev_digest = get_str(r, "prev_digest", p);
    rec->prev_until = get_ll(r, "prev_until");
    return rec;
}

/* A row selected as TOKEN_PACKED; NULL when it does not split into the
 * expected fields (a value written behind the store's back). */
static at_token_rec_t *read_packed(dbi_result r, apr_pool_t *p)
{
    const char *packed = get_str(r, "description", p);
    char *f[PACKED_FIELDS], *cur = apr_pstrdup(p, packed), *sep;
    at_token_rec_t *rec;
    int i;

    for (i = 0; i < PACKED_FIELDS; i++) {
        f[i] = cur;
        sep = strchr(cur, '\037');
        if (i < PACKED_FIELDS - 1) {
            if (sep == NULL) {
                return NULL;
            }
            *sep = '\0';
            cur = sep + 1;
        }
        else if (sep != NULL) {
            return NULL;
        }
    }
    rec = apr_pcalloc(p, sizeof(*rec));
    rec->id = f[0];
    rec->owner = f[1];
    rec->name = f[2];
    rec->digest = f[3];
    rec->scopes = f[4];
    rec->full_access = apr_atoi64(f[5]) != 0;
    rec->created_at = apr_atoi64(f[6]);
    rec->expires_at = apr_atoi64(f[7]);
    rec->revoked_at = apr_atoi64(f[8]);
    rec->last_used_at = apr_atoi64(f[9]);
    rec->prev_until = apr_atoi64(f[10]);
    rec->last_used_addr = f[11];
    rec->allowed_nets = f[12];
    rec->prev_digest = f[13];
    rec->description = f[14];
    return rec;
}

static at_token_rec_t *read_any(at_store_t *s, dbi_result r, apr_pool_t *p)
{
    return IMPL(s)->kind == AT_DB_SQLITE3 ? read_packed(r, p)
                                          : read_rec(r, p);
}

/* First row of r as a record (APR_NOTFOUND when none); frees r. */
static apr_status_t one_rec(at_token_rec_t **rec, at_store_t *s,
                            dbi_result r, apr_pool_t *p)
{
    *rec = NULL;
    if (r == NULL) {
        return db_fail(s, "looking up a token");
    }
    if (!dbi_result_next_row(r)) {
        dbi_result_free(r);
        return fail(s, APR_NOTFOUND, "no such token");
    }
    *rec = read_any(s, r, p);
    dbi_result_free(r);
    if (*rec == NULL) {
        return fail(s, APR_EGENERAL, "a token row is malformed");
    }
    return APR_SUCCESS;
}

/* Our own constant column list, passed as a %s argument. */
static const char *select_cols(at_store_t *s)
{
    return IMPL(s)->kind == AT_DB_SQLITE3 ? TOKEN_PACKED : TOKEN_COLS;
}

static apr_status_t dbi_lookup(at_token_rec_t **rec, at_store_t *s,
                               const char *id, apr_pool_t *p)
{
    apr_pool_t *tmp;
    const char *qid;
    apr_status_t rv;

    *rec = NULL;
    if (!at_id_valid(id)) {
        /* Not a syntax error from the caller's view: nothing has it. */
        return fail(s, APR_NOTFOUND, "no such token");
    }
    apr_pool_create(&tmp, p);
    if ((qid = quote(s, id, tmp)) == NULL) {
        rv = fail(s, APR_EGENERAL, "cannot quote the id");
    }
    else {
        rv = one_rec(rec, s, dbi_conn_queryf(IMPL(s)->conn,
                     "SELECT %s FROM apitoken_tokens WHERE id = %s",
                     select_cols(s), qid), p);
    }
    apr_pool_destroy(tmp);
    return rv;
}

static apr_status_t dbi_find_by_name(at_token_rec_t **rec, at_store_t *s,
                                     const char *owner, const char *name,
                                     apr_pool_t *p)
{
    apr_pool_t *tmp;
    const char *qo, *qn;
    apr_status_t rv;

    *rec = NULL;
    if (at_check_stored_owner(owner) != NULL || at_check_name(name) != NULL) {
        return fail(s, APR_NOTFOUND, "no such token");
    }
    apr_pool_create(&tmp, p);
    qo = quote(s, owner, tmp);
    qn = quote(s, name, tmp);
    if (qo == NULL || qn == NULL) {
        rv = fail(s, APR_EGENERAL, "cannot quote the owner or name");
    }
    else {
        rv = one_rec(rec, s, dbi_conn_queryf(IMPL(s)->conn,
                     "SELECT %s FROM apitoken_tokens"
                     " WHERE owner = %s AND name = %s",
                     select_cols(s), qo, qn), p);
    }
    apr_pool_destroy(tmp);
    return rv;
}

/* Count of rows matching a condition built from quoted values: used to
 * tell a unique violation from other failures.  -1 on error. */
static long long count_clash(at_store_t *s, const char *qid, const char *qo,
                             const char *qn, int same_id_ok)
{
    dbi_result r;
    long long n = 0;

    if (same_id_ok) {
        r = dbi_conn_queryf(IMPL(s)->conn, "SELECT id FROM apitoken_tokens"
                            " WHERE owner = %s AND name = %s AND id <> %s",
                            qo, qn, qid);
    }
    else {
        r = dbi_conn_queryf(IMPL(s)->conn, "SELECT id FROM apitoken_tokens"
                            " WHERE id = %s OR (owner = %s AND name = %s)",
                            qid, qo, qn);
    }
    if (r == NULL) {
        return -1;
    }
    n = (long long)dbi_result_get_numrows(r);
    dbi_result_free(r);
    return n;
}

typedef struct quoted_rec_t {
    const char *id, *owner, *name, *digest, *scopes, *addr, *nets, *desc,
               *prev;
} quoted_rec_t;

static apr_status_t quote_rec(quoted_rec_t *q, at_store_t *s,
                              const at_token_rec_t *r, apr_pool_t *tmp)
{
    const char *nets = "";

    if (r->allowed_nets && *r->allowed_nets) {
        at_check_nets(&nets, r->allowed_nets, tmp);
    }
    q->id = quote(s, r->id, tmp);
    q->owner = quote(s, r->owner, tmp);
    q->name = quote(s, r->name, tmp);
    q->digest = quote(s, r->digest, tmp);
    q->scopes = quote(s, r->scopes, tmp);
    q->addr = quote(s, r->last_used_addr, tmp);
    q->nets = quote(s, nets, tmp);
    q->desc = quote(s, r->description, tmp);
    q->prev = quote(s, r->prev_digest, tmp);
    if (!q->id || !q->owner || !q->name || !q->digest || !q->scopes
        || !q->addr || !q->nets || !q->desc || !q->prev) {
        return fail(s, APR_EGENERAL, "cannot quote a value");
    }
    return APR_SUCCESS;
}

/* Inside a transaction a savepoint keeps the transaction usable after a
 * failed write (PostgreSQL aborts the whole transaction on any error
 * otherwise), so a unique clash can be looked up and reported. */
static apr_status_t savepoint(at_store_t *s)
{
    if (!IMPL(s)->in_txn) {
        return APR_SUCCESS;
    }
    return exec_free(s, dbi_conn_queryf(IMPL(s)->conn, "SAVEPOINT at_write"),
                     "setting a savepoint");
}

static void savepoint_end(at_store_t *s, int failed)
{
    if (!IMPL(s)->in_txn) {
        return;
    }
    if (failed) {
        dbi_result_free(dbi_conn_queryf(IMPL(s)->conn,
                                        "ROLLBACK TO SAVEPOINT at_write"));
    }
    dbi_result_free(dbi_conn_queryf(IMPL(s)->conn,
                                    "RELEASE SAVEPOINT at_write"));
}

/* After a failed INSERT/UPDATE: APR_EEXIST when the id or (owner, name)
 * is taken (by another row, for an update), else the driver's error. */
static apr_status_t map_clash(at_store_t *s, const quoted_rec_t *q,
                              int is_update, const char *what)
{
    char saved[ERRBUF_LEN];
    long long n;

    db_fail(s, what);
    apr_cpystrn(saved, IMPL(s)->errbuf, sizeof(saved));
    savepoint_end(s, 1);
    n = count_clash(s, q->id, q->owner, q->name, is_update);
    if (n > 0) {
        return fail(s, APR_EEXIST, is_update
                    ? "owner already has a token with this name"
                    : "token id or owner and name already taken");
    }
    return fail(s, APR_EGENERAL, "%s", saved);
}

static apr_status_t dbi_insert(at_store_t *s, const at_token_rec_t *rec)
{
    dbi_impl_t *d = IMPL(s);
    apr_pool_t *tmp;
    quoted_rec_t q;
    dbi_result r;
    apr_status_t rv;

    apr_pool_create(&tmp, s->pool);
    if ((rv = check_rec(s, rec, tmp)) != APR_SUCCESS
        || (rv = quote_rec(&q, s, rec, tmp)) != APR_SUCCESS
        || (rv = savepoint(s)) != APR_SUCCESS) {
        apr_pool_destroy(tmp);
        return rv;
    }
    r = dbi_conn_queryf(d->conn,
        "INSERT INTO apitoken_tokens (" TOKEN_COLS ") VALUES"
        " (%s, %s, %s, %s, %s, %d, %lld, %lld, %lld, %lld, %s, %s, %s, %s,"
        " %lld)",
        q.id, q.owner, q.name, q.digest, q.scopes, rec->full_access ? 1 : 0,
        (long long)rec->created_at, (long long)rec->expires_at,
        (long long)rec->revoked_at, (long long)rec->last_used_at,
        q.addr, q.nets, q.desc, q.prev, (long long)rec->prev_until);
    if (r == NULL) {
        rv = map_clash(s, &q, 0, "inserting a token");
    }
    else {
        dbi_result_free(r);
        savepoint_end(s, 0);
    }
    apr_pool_destroy(tmp);
    return rv;
}

/* 1 when a token with the quoted id exists, 0 not, -1 error. */
static int id_exists(at_store_t *s, const char *qid)
{
    dbi_result r = dbi_conn_queryf(IMPL(s)->conn,
                                   "SELECT id FROM apitoken_tokens"
                                   " WHERE id = %s", qid);
    int n;

    if (r == NULL) {
        return -1;
    }
    n = dbi_result_get_numrows(r) > 0;
    dbi_result_free(r);
    return n;
}

static apr_status_t dbi_update(at_store_t *s, const at_token_rec_t *rec)
{
    dbi_impl_t *d = IMPL(s);
    apr_pool_t *tmp;
    quoted_rec_t q;
    dbi_result r;
    apr_status_t rv;

    apr_pool_create(&tmp, s->pool);
    if ((rv = check_rec(s, rec, tmp)) != APR_SUCCESS
        || (rv = quote_rec(&q, s, rec, tmp)) != APR_SUCCESS
        || (rv = savepoint(s)) != APR_SUCCESS) {
        apr_pool_destroy(tmp);
        return rv;
    }
    /* created_at is immutable; everything else is rewritten. */
    r = dbi_conn_queryf(d->conn,
        "UPDATE apitoken_tokens SET owner = %s, name = %s, digest = %s,"
        " scopes = %s, full_access = %d, expires_at = %lld,"
        " revoked_at = %lld, last_used_at = %lld, last_used_addr = %s,"
        " allowed_nets = %s, description = %s, prev_digest = %s,"
        " prev_until = %lld WHERE id = %s",
        q.owner, q.name, q.digest, q.scopes, rec->full_access ? 1 : 0,
        (long long)rec->expires_at, (long long)rec->revoked_at,
        (long long)rec->last_used_at, q.addr, q.nets, q.desc, q.prev,
        (long long)rec->prev_until, q.id);
    if (r == NULL) {
        rv = map_clash(s, &q, 1, "updating a token");
    }
    else {
        /* MySQL counts changed rows, not matched ones, unless told
         * otherwise: an update that changes nothing is not "missing". */
        if (dbi_result_get_numrows_affected(r) == 0) {
            int ex = id_exists(s, q.id);
            rv = ex < 0 ? db_fail(s, "updating a token")
               : ex == 0 ? fail(s, APR_NOTFOUND, "no such token")
               : APR_SUCCESS;
        }
        dbi_result_free(r);
        savepoint_end(s, 0);
    }
    apr_pool_destroy(tmp);
    return rv;
}

static apr_status_t dbi_remove(at_store_t *s, const char *id)
{
    apr_pool_t *tmp;
    const char *qid;
    dbi_result r;
    apr_status_t rv;

    if (!at_id_valid(id)) {
        return fail(s, APR_NOTFOUND, "no such token");
    }
    apr_pool_create(&tmp, s->pool);
    if ((qid = quote(s, id, tmp)) == NULL) {
        apr_pool_destroy(tmp);
        return fail(s, APR_EGENERAL, "cannot quote the id");
    }
    /* The token's scope usage goes with it (the caller's transaction). */
    rv = exec_free(s, dbi_conn_queryf(IMPL(s)->conn,
                                      "DELETE FROM apitoken_scope_usage"
                                      " WHERE token_id = %s", qid),
                   "deleting a token's scope usage");
    if (rv == APR_SUCCESS) {
        r = dbi_conn_queryf(IMPL(s)->conn,
                            "DELETE FROM apitoken_tokens WHERE id = %s",
                            qid);
        if (r == NULL) {
            rv = db_fail(s, "deleting a token");
        }
        else {
            if (dbi_result_get_numrows_affected(r) == 0) {
                rv = fail(s, APR_NOTFOUND, "no such token");
            }
            dbi_result_free(r);
        }
    }
    apr_pool_destroy(tmp);
    return rv;
}

static apr_status_t dbi_list(apr_array_header_t **recs, at_store_t *s,
                             const char *owner, apr_pool_t *p)
{
    dbi_impl_t *d = IMPL(s);
    apr_pool_t *tmp;
    const char *qo = NULL;
    /* Byte order on every engine (PostgreSQL would sort by locale). */
    const char *order = d->kind == AT_DB_PGSQL
        ? " ORDER BY owner COLLATE \"C\", name COLLATE \"C\""
        : " ORDER BY owner, name";
    dbi_result r;
    apr_size_t n = 0;

    *recs = apr_array_make(p, 16, sizeof(at_token_rec_t *));
    if (owner != NULL && at_check_stored_owner(owner) != NULL) {
        return APR_SUCCESS;       /* nobody can own such a token */
    }
    apr_pool_create(&tmp, p);
    if (owner != NULL && (qo = quote(s, owner, tmp)) == NULL) {
        apr_pool_destroy(tmp);
        return fail(s, APR_EGENERAL, "cannot quote the owner");
    }
    if (qo) {
        r = dbi_conn_queryf(d->conn, "SELECT %s FROM apitoken_tokens"
                            " WHERE owner = %s%s", select_cols(s), qo,
                            order);
    }
    else {
        r = dbi_conn_queryf(d->conn, "SELECT %s FROM apitoken_tokens%s",
                            select_cols(s), order);
    }
    apr_pool_destroy(tmp);
    if (r == NULL) {
        return db_fail(s, "listing tokens");
    }
    /* Bounded by the rows the driver already fetched. */
    while (dbi_result_next_row(r) && n++ < dbi_result_get_numrows(r)) {
        at_token_rec_t *rec = read_any(s, r, p);
        if (rec == NULL) {
            dbi_result_free(r);
            return fail(s, APR_EGENERAL, "a token row is malformed");
        }
        APR_ARRAY_PUSH(*recs, at_token_rec_t *) = rec;
    }
    dbi_result_free(r);
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Audit                                                                */

static int action_valid(const char *a)
{
    apr_size_t i;

    if (a == NULL || *a == '\0') {
        return 0;
    }
    for (i = 0; a[i]; i++) {
        if (!(apr_islower(a[i]) || apr_isdigit(a[i]) || a[i] == '_'
              || a[i] == '-')) {
            return 0;
        }
    }
    return i <= 32;
}

static apr_status_t dbi_audit_add(at_store_t *s, const at_audit_rec_t *ev)
{
    apr_pool_t *tmp;
    const char *qa, *qt, *qw, *qd, *qo, *why;
    const char *tid = ev->token_id ? ev->token_id : "";
    const char *owner = ev->owner ? ev->owner : "";
    const char *actor = ev->actor ? ev->actor : "";
    char *detail;
    apr_size_t len;
    dbi_result r;
    apr_status_t rv = APR_SUCCESS;

    if (!action_valid(ev->action)) {
        return fail(s, APR_EINVAL, "invalid audit action");
    }
    if (*tid && !at_id_valid(tid)) {
        return fail(s, APR_EINVAL, "invalid token id");
    }
    if (*actor && (why = at_check_actor(actor)) != NULL) {
        return fail(s, APR_EINVAL, "audit actor %s", why);
    }
    if (*owner && (why = at_check_stored_owner(owner)) != NULL) {
        return fail(s, APR_EINVAL, "audit owner %s", why);
    }
    apr_pool_create(&tmp, s->pool);
    /* An over-long detail is cut at a character boundary, not refused:
     * the change it records must not fail for it. */
    detail = apr_pstrdup(tmp, ev->detail ? ev->detail : "");
    len = strlen(detail);
    if (len > DETAIL_MAX) {
        len = DETAIL_MAX;
        while (len > 0 && ((unsigned char)detail[len] & 0xc0) == 0x80) {
            len--;
        }
        detail[len] = '\0';
    }
    if ((why = at_check_description(detail)) != NULL) {
        apr_pool_destroy(tmp);
        return fail(s, APR_EINVAL, "audit detail %s", why);
    }
    qa = quote(s, ev->action, tmp);
    qt = quote(s, tid, tmp);
    qw = quote(s, actor, tmp);
    qd = quote(s, detail, tmp);
    qo = quote(s, owner, tmp);
    if (!qa || !qt || !qw || !qd || !qo) {
        rv = fail(s, APR_EGENERAL, "cannot quote a value");
    }
    else {
        r = dbi_conn_queryf(IMPL(s)->conn,
                            "INSERT INTO apitoken_audit (at, action,"
                            " token_id, owner, actor, detail)"
                            " VALUES (%lld, %s, %s, %s, %s, %s)",
                            (long long)ev->at, qa, qt, qo, qw, qd);
        rv = exec_free(s, r, "recording an audit event");
    }
    apr_pool_destroy(tmp);
    return rv;
}

#define AUDIT_COLS "seq, at, action, token_id, owner, actor, detail"

static apr_status_t dbi_audit_list(apr_array_header_t **evs, at_store_t *s,
                                   const char *token_id, const char *owner,
                                   apr_pool_t *p)
{
    apr_pool_t *tmp;
    const char *qt = NULL, *qo = NULL;
    dbi_conn conn = IMPL(s)->conn;
    dbi_result r;
    apr_size_t n = 0;

    *evs = apr_array_make(p, 16, sizeof(at_audit_rec_t *));
    /* Values that could not have been stored match nothing. */
    if ((token_id && !at_id_valid(token_id))
        || (owner && at_check_stored_owner(owner))) {
        return APR_SUCCESS;
    }
    apr_pool_create(&tmp, p);
    if ((token_id && (qt = quote(s, token_id, tmp)) == NULL)
        || (owner && (qo = quote(s, owner, tmp)) == NULL)) {
        apr_pool_destroy(tmp);
        return fail(s, APR_EGENERAL, "cannot quote a value");
    }
    if (qt && qo) {
        r = dbi_conn_queryf(conn, "SELECT " AUDIT_COLS " FROM apitoken_audit"
                            " WHERE token_id = %s AND owner = %s"
                            " ORDER BY seq", qt, qo);
    }
    else if (qt) {
        r = dbi_conn_queryf(conn, "SELECT " AUDIT_COLS " FROM apitoken_audit"
                            " WHERE token_id = %s ORDER BY seq", qt);
    }
    else if (qo) {
        r = dbi_conn_queryf(conn, "SELECT " AUDIT_COLS " FROM apitoken_audit"
                            " WHERE owner = %s ORDER BY seq", qo);
    }
    else {
        r = dbi_conn_queryf(conn, "SELECT " AUDIT_COLS " FROM apitoken_audit"
                            " ORDER BY seq");
    }
    apr_pool_destroy(tmp);
    if (r == NULL) {
        return db_fail(s, "reading the audit log");
    }
    while (dbi_result_next_row(r) && n++ < dbi_result_get_numrows(r)) {
        at_audit_rec_t *ev = apr_pcalloc(p, sizeof(*ev));
        ev->seq = get_ll(r, "seq");
        ev->at = get_ll(r, "at");
        ev->action = get_str(r, "action", p);
        ev->token_id = get_str(r, "token_id", p);
        ev->owner = get_str(r, "owner", p);
        ev->actor = get_str(r, "actor", p);
        ev->detail = get_str(r, "detail", p);
        APR_ARRAY_PUSH(*evs, at_audit_rec_t *) = ev;
    }
    dbi_result_free(r);
    return APR_SUCCESS;
}

/* ------------------------------------------------------------------ */
/* Small writes, liveness, close                                        */

static apr_status_t dbi_touch(at_store_t *s, const char *id, at_time_t when,
                              const char *addr)
{
    apr_pool_t *tmp;
    const char *qid, *qa;
    dbi_result r;
    apr_status_t rv = APR_SUCCESS;

    if (!at_id_valid(id)) {
        return fail(s, APR_NOTFOUND, "no such token");
    }
    if (addr == NULL) {
        addr = "";
    }
    if (!addr_valid(addr)) {
        return fail(s, APR_EINVAL, "invalid client address");
    }
    apr_pool_create(&tmp, s->pool);
    qid = quote(s, id, tmp);
    qa = quote(s, addr, tmp);
    if (!qid || !qa) {
        rv = fail(s, APR_EGENERAL, "cannot quote a value");
    }
    else if ((r = dbi_conn_queryf(IMPL(s)->conn,
                                  "UPDATE apitoken_tokens SET"
                                  " last_used_at = %lld, last_used_addr = %s"
                                  " WHERE id = %s",
                                  (long long)when, qa, qid)) == NULL) {
        rv = db_fail(s, "recording the last use");
    }
    else {
        if (dbi_result_get_numrows_affected(r) == 0) {
            rv = fail(s, APR_NOTFOUND, "no such token");
        }
        dbi_result_free(r);
    }
    apr_pool_destroy(tmp);
    return rv;
}

/* UPDATE, else INSERT ... SELECT from the token row (so nothing is written
 * for a token deleted meanwhile); a duplicate key from a concurrent insert
 * is answered by the UPDATE once more.  MySQL counts only changed rows as
 * affected, so "0 rows" may also mean "same second": the insert then finds
 * the row and adds nothing. */
static apr_status_t dbi_scope_touch(at_store_t *s, const char *id,
                                    const char *scope, at_time_t when)
{
    dbi_conn conn = IMPL(s)->conn;
    apr_pool_t *tmp;
    const char *qid, *qsc;
    dbi_result r;
    apr_status_t rv = APR_SUCCESS;
    int attempt, ex;

    if (!at_id_valid(id)) {
        return fail(s, APR_NOTFOUND, "no such token");
    }
    if (scope == NULL || !at_scope_valid(scope)) {
        return fail(s, APR_EINVAL, "invalid scope");
    }
    apr_pool_create(&tmp, s->pool);
    qid = quote(s, id, tmp);
    qsc = quote(s, scope, tmp);
    if (!qid || !qsc) {
        apr_pool_destroy(tmp);
        return fail(s, APR_EGENERAL, "cannot quote a value");
    }
    for (attempt = 0; attempt < 2; ++attempt) {
        r = dbi_conn_queryf(conn, "UPDATE apitoken_scope_usage"
                            " SET last_used_at = %lld"
                            " WHERE token_id = %s AND scope = %s"
                            " AND last_used_at < %lld",
                            (long long)when, qid, qsc, (long long)when);
        if (r == NULL) {
            rv = db_fail(s, "recording a scope's use");
            break;
        }
        if (dbi_result_get_numrows_affected(r) > 0) {
            dbi_result_free(r);
            break;
        }
        dbi_result_free(r);
        if (attempt > 0) {
            break;   /* a concurrent writer recorded a newer time */
        }
        r = dbi_conn_queryf(conn, "INSERT INTO apitoken_scope_usage"
                            " (token_id, scope, last_used_at)"
                            " SELECT id, %s, %lld FROM apitoken_tokens"
                            " WHERE id = %s AND NOT EXISTS"
                            " (SELECT 1 FROM apitoken_scope_usage"
                            " WHERE token_id = %s AND scope = %s)",
                            qsc, (long long)when, qid, qid, qsc);
        if (r == NULL) {
            continue;    /* lost the insert race: update again */
        }
        if (dbi_result_get_numrows_affected(r) == 0) {
            ex = id_exists(s, qid);
            if (ex < 0) {
                rv = db_fail(s, "recording a scope's use");
            }
            else if (ex == 0) {
                rv = fail(s, APR_NOTFOUND, "no such token");
            }
        }
        dbi_result_free(r);
        break;
    }
    apr_pool_destroy(tmp);
    return rv;
}

static apr_status_t dbi_scope_usage_list(apr_array_header_t **rows,
                                         at_store_t *s, const char *token_id,
                                         apr_pool_t *p)
{
    dbi_impl_t *d = IMPL(s);
    const char *order = d->kind == AT_DB_PGSQL
        ? " ORDER BY token_id COLLATE \"C\", scope COLLATE \"C\""
        : " ORDER BY token_id, scope";
    apr_pool_t *tmp;
    const char *qt;
    dbi_result r;
    apr_size_t n = 0;

    *rows = apr_array_make(p, 8, sizeof(at_scope_usage_t *));
    if (token_id != NULL) {
        if (!at_id_valid(token_id)) {
            return APR_SUCCESS;
        }
        apr_pool_create(&tmp, p);
        if ((qt = quote(s, token_id, tmp)) == NULL) {
            apr_pool_destroy(tmp);
            return fail(s, APR_EGENERAL, "cannot quote the id");
        }
        r = dbi_conn_queryf(d->conn, "SELECT token_id, scope, last_used_at"
                            " FROM apitoken_scope_usage WHERE token_id = %s"
                            "%s", qt, order);
        apr_pool_destroy(tmp);
    }
    else {
        r = dbi_conn_queryf(d->conn, "SELECT token_id, scope, last_used_at"
                            " FROM apitoken_scope_usage"
                            " WHERE token_id <> ''%s", order);
    }
    if (r == NULL) {
        return db_fail(s, "reading scope usage");
    }
    while (dbi_result_next_row(r) && n++ < dbi_result_get_numrows(r)) {
        at_scope_usage_t *u = apr_pcalloc(p, sizeof(*u));
        u->token_id = get_str(r, "token_id", p);
        u->scope = get_str(r, "scope", p);
        u->last_used_at = get_ll(r, "last_used_at");
        APR_ARRAY_PUSH(*rows, at_scope_usage_t *) = u;
    }
    dbi_result_free(r);
    return APR_SUCCESS;
}

/* The tracking state is a row of apitoken_scope_usage under the empty
 * token id, which no token can have (ids are 12 base62 characters), so
 * no schema change is needed; its time is signed: > 0 on, < 0 off. */
#define TRACKING_ROW " FROM apitoken_scope_usage" \
                     " WHERE token_id = '' AND scope = 'usage_tracking'"

static apr_status_t dbi_get_tracking(at_store_t *s, at_time_t *since)
{
    dbi_result r;

    *since = 0;
    r = dbi_conn_queryf(IMPL(s)->conn, "SELECT last_used_at" TRACKING_ROW);
    if (r == NULL) {
        return db_fail(s, "reading the usage tracking state");
    }
    if (dbi_result_next_row(r)) {
        *since = get_ll(r, "last_used_at");
    }
    dbi_result_free(r);
    return APR_SUCCESS;
}

static apr_status_t dbi_set_tracking(at_store_t *s, int on, at_time_t now)
{
    dbi_conn conn = IMPL(s)->conn;
    long long v = on ? (long long)now : -(long long)now;
    apr_status_t rv;

    if (now <= 0) {
        return fail(s, APR_EINVAL, "invalid time");
    }
    /* Only a change of state moves the time ("on since"). */
    rv = exec_free(s, dbi_conn_queryf(conn, "UPDATE apitoken_scope_usage"
                                      " SET last_used_at = %lld"
                                      " WHERE token_id = '' AND scope ="
                                      " 'usage_tracking' AND last_used_at %s 0",
                                      v, on ? "<=" : ">="),
                   "recording the usage tracking state");
    if (rv != APR_SUCCESS) {
        return rv;
    }
    /* The first record; a concurrent writer winning it is no error. */
    dbi_result_free(dbi_conn_queryf(conn, "INSERT INTO apitoken_scope_usage"
                                    " (token_id, scope, last_used_at)"
                                    " SELECT '', 'usage_tracking', %lld"
                                    " FROM apitoken_meta WHERE NOT EXISTS"
                                    " (SELECT 1" TRACKING_ROW ")", v));
    return APR_SUCCESS;
}

static apr_status_t dbi_bump_change(at_store_t *s)
{
    return exec_free(s, dbi_conn_queryf(IMPL(s)->conn,
                     "UPDATE apitoken_meta SET change_seq = change_seq + 1"),
                     "advancing the change marker");
}

static apr_status_t dbi_ping(at_store_t *s)
{
    if (IMPL(s)->kind == AT_DB_SQLITE3) {
        /* The driver's own ping runs "SELECT 1", and for a result without
         * a table it prints to stdout; a catalogue query is as cheap. */
        return exec_free(s, dbi_conn_queryf(IMPL(s)->conn,
                         "SELECT name FROM sqlite_master WHERE name = ''"),
                         "database connection lost");
    }
    if (dbi_conn_ping(IMPL(s)->conn) != 1) {
        return db_fail(s, "database connection lost");
    }
    return APR_SUCCESS;
}

static void close_conn(dbi_conn conn)
{
    pthread_mutex_lock(&conn_list_mutex);
    dbi_conn_close(conn);
    pthread_mutex_unlock(&conn_list_mutex);
}

static void dbi_close(at_store_t *s)
{
    dbi_impl_t *d = IMPL(s);

    if (d->conn) {
        if (d->in_txn) {
            dbi_result_free(dbi_conn_queryf(d->conn, "ROLLBACK"));
            d->in_txn = 0;
        }
        close_conn(d->conn);
        d->conn = NULL;
    }
    apr_pool_destroy(s->pool);
}

static const at_store_ops_t dbi_ops = {
    "dbi",
    dbi_close,
    dbi_ping,
    dbi_init_schema,
    dbi_get_meta,
    dbi_begin,
    dbi_commit,
    dbi_rollback,
    dbi_lookup,
    dbi_find_by_name,
    dbi_insert,
    dbi_update,
    dbi_remove,
    dbi_list,
    dbi_audit_add,
    dbi_audit_list,
    dbi_touch,
    dbi_bump_change,
    dbi_scope_touch,
    dbi_scope_usage_list,
    dbi_get_tracking,
    dbi_set_tracking
};

dbi_conn at_store_dbi_conn(at_store_t *s)
{
    return s && s->ops == &dbi_ops ? IMPL(s)->conn : NULL;
}

/* ------------------------------------------------------------------ */
/* Opening                                                              */

apr_status_t at_dbi_init(dbi_inst *inst, const char *driverdir,
                         const char **err)
{
    int n;

    if (driverdir == NULL) {
        driverdir = AT_DBI_DRIVERDIR;
    }
    n = dbi_initialize_r(driverdir, inst);
    if (n <= 0) {
        if (n == 0) {
            dbi_shutdown_r(*inst);
        }
        *inst = NULL;
        if (err) {
            *err = n == 0 ? "no libdbi driver found in the driver directory"
                          : "libdbi could not read its driver directory";
        }
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

/* The SQLite file and directory, checked before libdbi sees them: its
 * own errors say only that no connection could be made, and opening a
 * missing file would silently create an empty database. */
static const char *sqlite_precheck(const at_dburl_t *url, int flags,
                                   int *writable, apr_pool_t *p)
{
    struct stat st;
    const char *dir = url->sqlite_dir, *path = url->path;
    int dir_w;

    *writable = 0;
    if (stat(dir, &st) != 0) {
        return apr_psprintf(p, "directory %s: %s", dir, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return apr_psprintf(p, "%s is not a directory", dir);
    }
    if (access(dir, X_OK) != 0) {
        return apr_psprintf(p, "directory %s is not searchable by uid %ld",
                            dir, (long)geteuid());
    }
    dir_w = access(dir, W_OK) == 0;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT) {
            return apr_psprintf(p, "database file %s: %s", path,
                                strerror(errno));
        }
        if (!(flags & AT_STORE_CREATE)) {
            return apr_psprintf(p, "database file %s does not exist"
                                " (create it with init)", path);
        }
        if (!dir_w) {
            return apr_psprintf(p, "cannot create %s: directory %s is not"
                                " writable by uid %ld", path, dir,
                                (long)geteuid());
        }
        *writable = 1;
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        return apr_psprintf(p, "%s is not a regular file", path);
    }
    if (access(path, R_OK) != 0) {
        return apr_psprintf(p, "database file %s is not readable by uid %ld",
                            path, (long)geteuid());
    }
    /* WAL readers write the -shm index (and create -wal/-shm when they
     * are missing): without a writable directory even reads fail. */
    if (!dir_w) {
        const char *shm = apr_pstrcat(p, path, "-shm", NULL);
        const char *wal = apr_pstrcat(p, path, "-wal", NULL);
        if (access(shm, R_OK | W_OK) != 0 || access(wal, R_OK | W_OK) != 0) {
            return apr_psprintf(p, "directory %s is not writable by uid %ld"
                                " (SQLite in WAL mode needs to create %s-wal"
                                " and %s-shm there)", dir, (long)geteuid(),
                                url->dbname, url->dbname);
        }
    }
    *writable = access(path, W_OK) == 0 && dir_w;
    return NULL;
}

apr_status_t at_store_dbi_open(at_store_t **out, dbi_inst inst,
                               const at_dburl_t *url, int flags,
                               const char **err, apr_pool_t *p)
{
    apr_pool_t *pool;
    at_store_t *s;
    dbi_impl_t *d;
    dbi_conn conn;
    const char *why = NULL, *msg = NULL;
    int writable = 0, rc;

    *out = NULL;
    if (inst == NULL) {
        *err = "libdbi is not initialised";
        return APR_EGENERAL;
    }
    if (url->kind == AT_DB_SQLITE3
        && (why = sqlite_precheck(url, flags, &writable, p)) != NULL) {
        *err = why;
        return APR_EGENERAL;
    }

    apr_pool_create(&pool, p);
    s = apr_pcalloc(pool, sizeof(*s));
    d = apr_pcalloc(pool, sizeof(*d));
    s->ops = &dbi_ops;
    s->url = url;
    s->pool = pool;
    s->impl = d;
    d->kind = url->kind;

    pthread_mutex_lock(&conn_list_mutex);
    conn = dbi_conn_new_r(url->driver, inst);
    pthread_mutex_unlock(&conn_list_mutex);
    if (conn == NULL) {
        *err = apr_psprintf(p, "libdbi driver %s is not installed",
                            url->driver);
        apr_pool_destroy(pool);
        return APR_EGENERAL;
    }
    d->conn = conn;

    switch (url->kind) {
    case AT_DB_SQLITE3:
        dbi_conn_set_option(conn, "sqlite3_dbdir", url->sqlite_dir);
        dbi_conn_set_option(conn, "dbname", url->dbname);
        dbi_conn_set_option_numeric(conn, "sqlite3_timeout",
                                    url->timeout_ms > 0 ? url->timeout_ms
                                                        : 5000);
        break;
    case AT_DB_PGSQL:
    case AT_DB_MYSQL:
        if (url->host) {
            dbi_conn_set_option(conn, "host", url->host);
        }
        if (url->port > 0) {
            dbi_conn_set_option_numeric(conn, "port", url->port);
        }
        if (url->user) {
            dbi_conn_set_option(conn, "username", url->user);
        }
        if (url->password) {
            dbi_conn_set_option(conn, "password", url->password);
        }
        dbi_conn_set_option(conn, "dbname", url->dbname);
        dbi_conn_set_option(conn, "encoding", "UTF-8");
        /* Seconds; a dead host must not hang a request or the tool. */
        dbi_conn_set_option_numeric(conn, "timeout", 10);
        if (url->kind == AT_DB_MYSQL) {
            /* Affected rows = matched rows, like the other engines. */
            dbi_conn_set_option_numeric(conn, "mysql_client_found_rows", 1);
        }
        break;
    }

    pthread_mutex_lock(&conn_list_mutex);
    rc = dbi_conn_connect(conn);
    pthread_mutex_unlock(&conn_list_mutex);
    if (rc < 0) {
        char buf[ERRBUF_LEN];
        dbi_conn_error(conn, &msg);
        put_error(buf, (msg && *msg) ? msg : "no further detail", url);
        *err = apr_psprintf(p, "cannot connect to %s: %s", url->redacted,
                            buf);
        close_conn(conn);
        apr_pool_destroy(pool);
        return APR_EGENERAL;
    }

    if (url->kind == AT_DB_SQLITE3 && writable) {
        /* Readers (httpd) never wait for the tool's write transaction.
         * The comment naming a table is for the sqlite3 driver: for a
         * result without one it prints "no tables in statement" on
         * stdout, which would corrupt the tool's --json output. */
        dbi_result r = dbi_conn_queryf(conn, "PRAGMA journal_mode=WAL"
                                       " -- FROM sqlite_master");
        const char *mode;

        if (r == NULL) {
            db_fail(s, "enabling WAL");
            *err = apr_pstrdup(p, s->error);
            dbi_close(s);
            return APR_EGENERAL;
        }
        if (dbi_result_next_row(r)
            && (mode = dbi_result_get_string_idx(r, 1)) != NULL
            && strcmp(mode, "wal") != 0) {
            AT_LOG(AT_LOG_WARN, "store: %s stays in journal mode %s (WAL"
                   " not possible here): readers wait for writers",
                   url->path, mode);
        }
        dbi_result_free(r);
    }
    else if (url->kind == AT_DB_MYSQL) {
        /* The driver's "UTF-8" is MySQL's 3-byte utf8: emoji need
         * utf8mb4 on the connection as well as in the tables. */
        if (exec_free(s, dbi_conn_queryf(conn, "SET NAMES utf8mb4"),
                      "setting the connection character set")
            != APR_SUCCESS) {
            *err = apr_pstrdup(p, s->error);
            dbi_close(s);
            return APR_EGENERAL;
        }
    }
    else if (url->kind == AT_DB_PGSQL) {
        /* libpq prints NOTICEs ("relation already exists, skipping" from
         * an idempotent init) on stderr; only warnings and errors count. */
        if (exec_free(s, dbi_conn_queryf(conn,
                      "SET client_min_messages = warning"),
                      "setting client_min_messages") != APR_SUCCESS) {
            *err = apr_pstrdup(p, s->error);
            dbi_close(s);
            return APR_EGENERAL;
        }
    }
    *out = s;
    return APR_SUCCESS;
}
