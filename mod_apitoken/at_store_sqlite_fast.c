/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The by-id lookup as a persistent prepared sqlite3 statement (see
 * at_store_sqlite_fast.h).  libdbi 0.9 has no accessor for the native
 * handle; its driver interface (dbi-dev.h, installed with libdbi-dev)
 * keeps it in dbi_conn_t.connection, where the sqlite3 driver stores the
 * sqlite3 * it opened.  libsqlite3 is the library that driver uses. */

#include <string.h>

#include <apr_strings.h>
#include <sqlite3.h>
#include <dbi/dbi-dev.h>

#include "at_store_dbi.h"
#include "at_store_sqlite_fast.h"
#include "at_token.h"

#define ERRBUF_LEN 256
/* The packed libdbi query joins fields with US (0x1f) and calls a row
 * holding one malformed; the same rows are refused here. */
#define PACK_SEP '\037'

struct at_sqlite_fast_t {
    sqlite3 *db;
    sqlite3_stmt *stmt;          /* NULL once closed */
    char errbuf[ERRBUF_LEN];     /* fixed: a long-lived handle must not grow */
};

static const char lookup_sql[] =
    "SELECT " AT_TOKEN_COLUMNS " FROM apitoken_tokens WHERE id = ?1";

static apr_status_t fail(at_sqlite_fast_t *f, apr_status_t rv,
                         const char *what)
{
    apr_snprintf(f->errbuf, sizeof(f->errbuf), "%s: %s", what,
                 f->db ? sqlite3_errmsg(f->db) : "no connection");
    return rv;
}

apr_status_t at_sqlite_fast_open(at_sqlite_fast_t **out, at_store_t *s,
                                 const char **err, apr_pool_t *p)
{
    dbi_conn conn = at_store_dbi_conn(s);
    at_sqlite_fast_t *f;
    const char *driver;

    *out = NULL;
    if (!conn || (driver = dbi_driver_get_name(dbi_conn_get_driver(conn)))
                 == NULL
        || strcmp(driver, "sqlite3")) {
        return APR_ENOTIMPL;
    }
    f = apr_pcalloc(p, sizeof(*f));
    f->db = ((dbi_conn_t *)conn)->connection;
    /* Only an open sqlite3 database has a main file name. */
    if (!f->db || !sqlite3_db_filename(f->db, "main")) {
        return APR_ENOTIMPL;
    }
    if (sqlite3_prepare_v3(f->db, lookup_sql, -1, SQLITE_PREPARE_PERSISTENT,
                           &f->stmt, NULL) != SQLITE_OK) {
        fail(f, APR_EGENERAL, "preparing the token lookup");
        *err = apr_pstrdup(p, f->errbuf);
        f->stmt = NULL;
        return APR_EGENERAL;
    }
    *out = f;
    return APR_SUCCESS;
}

/* Column readers for at_token_rec_decode.  A string is NULL (malformed)
 * when it holds the pack separator. */
static const char *col_str(void *row, int i, apr_pool_t *p)
{
    sqlite3_stmt *st = row;
    const unsigned char *t = sqlite3_column_text(st, i);
    int n = sqlite3_column_bytes(st, i);

    if (!t) {
        return "";
    }
    if (memchr(t, PACK_SEP, (apr_size_t)n)) {
        return NULL;
    }
    return apr_pstrmemdup(p, (const char *)t, (apr_size_t)n);
}

static apr_int64_t col_number(void *row, int i)
{
    return sqlite3_column_int64(row, i);
}

apr_status_t at_sqlite_fast_lookup(at_token_rec_t **out, at_sqlite_fast_t *f,
                                   const char *id, apr_pool_t *p)
{
    sqlite3_stmt *st = f->stmt;
    at_token_row_reader_t rd = { col_str, col_number, st };
    at_token_rec_t *rec;
    apr_status_t rv;
    int rc;

    *out = NULL;
    f->errbuf[0] = '\0';
    if (!st) {
        apr_cpystrn(f->errbuf, "the lookup statement is closed",
                    sizeof(f->errbuf));
        return APR_EGENERAL;
    }
    if (!at_id_valid(id)) {
        apr_cpystrn(f->errbuf, "no such token", sizeof(f->errbuf));
        return APR_NOTFOUND;
    }
    if (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
        rv = fail(f, APR_EGENERAL, "binding the id");
        sqlite3_reset(st);
        return rv;
    }
    rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        apr_cpystrn(f->errbuf, "no such token", sizeof(f->errbuf));
        rv = APR_NOTFOUND;
    }
    else if (rc != SQLITE_ROW) {
        rv = fail(f, APR_EGENERAL, "looking the token up");
    }
    else {
        if ((rec = at_token_rec_decode(&rd, p)) == NULL) {
            apr_cpystrn(f->errbuf, "a token row is malformed",
                        sizeof(f->errbuf));
            rv = APR_EGENERAL;
        }
        else {
            *out = rec;
            rv = APR_SUCCESS;
        }
    }
    /* Reset at once: a statement left stepping holds a read snapshot
     * (WAL), which would keep this connection from seeing new rows. */
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rv;
}

const char *at_sqlite_fast_error(const at_sqlite_fast_t *f)
{
    return f ? f->errbuf : "";
}

void at_sqlite_fast_close(at_sqlite_fast_t *f)
{
    if (f && f->stmt) {
        sqlite3_finalize(f->stmt);
        f->stmt = NULL;
    }
}
