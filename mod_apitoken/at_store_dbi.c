/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* The token store on libdbi: SQLite, PostgreSQL and MariaDB/MySQL.
 *
 * libdbi has no bound parameters, so every statement goes through
 * at_sql(): a constant text with one '?' per typed argument; text is
 * quoted by the driver there and nowhere else, numbers are printed as
 * numbers, and values reach it only after at_check_* / at_id_valid / a
 * hex check.  Every dbi_result is freed on every path. */

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
#include "at_store_dbi_int.h"

/* libdbi keeps its connections in an unlocked list per instance: creating
 * and closing connections from several threads at once corrupts it.  A
 * static initialiser makes the lock safe to take from any thread, first
 * use included. */
static pthread_mutex_t conn_list_mutex = PTHREAD_MUTEX_INITIALIZER;

dbi_result at_sql(at_store_t *s, const char *sql, const at_sql_arg_t *args)
{
    dbi_conn conn = IMPL(s)->conn;
    apr_pool_t *tmp;
    apr_array_header_t *out;
    dbi_result r = NULL;
    const char *p;
    int k = 0, bad = 0;

    apr_pool_create(&tmp, s->pool);
    out = apr_array_make(tmp, 256, 1);
    for (p = sql; *p && !bad; p++) {
        const at_sql_arg_t *a = args ? &args[k] : NULL;
        char num[32];
        char *q = NULL;
        const char *piece;

        if (*p != '?') {
            APR_ARRAY_PUSH(out, char) = *p;
            continue;
        }
        if (!a || !a->type) {
            bad = 1;
            break;
        }
        k++;
        if (a->type == AT_SQL_TEXT) {
            if (dbi_conn_quote_string_copy(conn, a->s ? a->s : "", &q) == 0
                || q == NULL) {
                bad = 1;
                break;
            }
            piece = q;
        }
        else if (a->type == AT_SQL_NUMBER) {
            apr_snprintf(num, sizeof(num), "%" APR_INT64_T_FMT, a->n);
            piece = num;
        }
        else {
            piece = a->s;
        }
        while (*piece) {
            APR_ARRAY_PUSH(out, char) = *piece++;
        }
        free(q);
    }
    if (!bad && args && args[k].type) {
        bad = 1;                 /* more arguments than '?' */
    }
    if (bad) {
        fail(s, APR_EGENERAL, "cannot build a statement");
    }
    else {
        APR_ARRAY_PUSH(out, char) = '\0';
        r = dbi_conn_query(conn, out->elts);
    }
    apr_pool_destroy(tmp);
    return r;
}

apr_status_t at_dbi_begin(at_store_t *s, int write)
{
    dbi_impl_t *d = IMPL(s);
    dbi_result r;

    if (d->in_txn) {
        return fail(s, APR_EGENERAL, "a transaction is already open");
    }
    if (d->kind == AT_DB_SQLITE3) {
        /* IMMEDIATE takes the write lock now, so a writer waits at BEGIN
         * (busy timeout) instead of failing at its first UPDATE. */
        r = write ? at_sql(s, "BEGIN IMMEDIATE", AT_SQL_NONE)
                  : at_sql(s, "BEGIN", AT_SQL_NONE);
    }
    else if (d->kind == AT_DB_MYSQL) {
        r = at_sql(s, "START TRANSACTION", AT_SQL_NONE);
    }
    else {
        r = at_sql(s, "BEGIN", AT_SQL_NONE);
    }
    if (r == NULL) {
        return db_fail(s, "starting a transaction");
    }
    dbi_result_free(r);
    d->in_txn = 1;
    return APR_SUCCESS;
}

apr_status_t at_dbi_commit(at_store_t *s)
{
    dbi_impl_t *d = IMPL(s);
    dbi_result r;

    if (!d->in_txn) {
        return fail(s, APR_EGENERAL, "no transaction is open");
    }
    r = at_sql(s, "COMMIT", AT_SQL_NONE);
    if (r == NULL) {
        /* Leave nothing half open: a failed COMMIT is a rollback. */
        apr_status_t rv = db_fail(s, "committing");
        dbi_result_free(at_sql(s, "ROLLBACK", AT_SQL_NONE));
        d->in_txn = 0;
        return rv;
    }
    dbi_result_free(r);
    d->in_txn = 0;
    return APR_SUCCESS;
}

apr_status_t at_dbi_rollback(at_store_t *s)
{
    dbi_impl_t *d = IMPL(s);
    dbi_result r;

    if (!d->in_txn) {
        return APR_SUCCESS;
    }
    d->in_txn = 0;
    r = at_sql(s, "ROLLBACK", AT_SQL_NONE);
    if (r == NULL) {
        return db_fail(s, "rolling back");
    }
    dbi_result_free(r);
    return APR_SUCCESS;
}

static apr_status_t dbi_bump_change(at_store_t *s)
{
    return exec_free(s, at_sql(s, "UPDATE apitoken_meta"
                               " SET change_seq = change_seq + 1",
                               AT_SQL_NONE),
                     "advancing the change marker");
}

static apr_status_t dbi_ping(at_store_t *s)
{
    if (IMPL(s)->kind == AT_DB_SQLITE3) {
        /* The driver's own ping runs "SELECT 1", and for a result without
         * a table it prints to stdout; a catalogue query is as cheap. */
        return exec_free(s, at_sql(s, "SELECT name FROM sqlite_master"
                                   " WHERE name = ''", AT_SQL_NONE),
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
            dbi_result_free(at_sql(s, "ROLLBACK", AT_SQL_NONE));
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
    at_dbi_init_schema,
    at_dbi_get_meta,
    at_dbi_begin,
    at_dbi_commit,
    at_dbi_rollback,
    at_dbi_lookup,
    at_dbi_find_by_name,
    at_dbi_insert,
    at_dbi_update,
    at_dbi_remove,
    at_dbi_list,
    at_dbi_audit_add,
    at_dbi_audit_list,
    at_dbi_touch,
    dbi_bump_change,
    at_dbi_scope_touch,
    at_dbi_scope_usage_list,
    at_dbi_get_tracking,
    at_dbi_set_tracking
};

dbi_conn at_store_dbi_conn(at_store_t *s)
{
    return s && s->ops == &dbi_ops ? IMPL(s)->conn : NULL;
}

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
        dbi_result r = at_sql(s, "PRAGMA journal_mode=WAL"
                              " -- FROM sqlite_master", AT_SQL_NONE);
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
        if (exec_free(s, at_sql(s, "SET NAMES utf8mb4", AT_SQL_NONE),
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
        if (exec_free(s, at_sql(s, "SET client_min_messages = warning",
                                AT_SQL_NONE),
                      "setting client_min_messages") != APR_SUCCESS) {
            *err = apr_pstrdup(p, s->error);
            dbi_close(s);
            return APR_EGENERAL;
        }
    }
    *out = s;
    return APR_SUCCESS;
}
