/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_STORE_DBI_INT_H
#define AT_STORE_DBI_INT_H

/* What the files of the store on libdbi share (at_store_dbi.c: errors,
 * quoting, transactions, connections; at_store_dbi_schema.c: DDL and
 * upgrades; at_store_dbi_tokens.c: token rows; at_store_dbi_audit.c: audit
 * events and usage rows): the connection state, the column lists and the
 * small helpers every statement uses.  Not for use outside the store. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr.h>
#include <apr_strings.h>

#include "at_log.h"
#include "at_sql.h"
#include "at_store_dbi.h"

#define ERRBUF_LEN 512

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
static APR_INLINE void put_error(char *buf, const char *msg,
                                 const at_dburl_t *url)
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

static APR_INLINE apr_status_t fail(at_store_t *s, apr_status_t rv,
                                     const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static APR_INLINE apr_status_t fail(at_store_t *s, apr_status_t rv,
                                     const char *fmt, ...)
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
static APR_INLINE apr_status_t db_fail(at_store_t *s, const char *what)
{
    const char *msg = NULL;

    dbi_conn_error(IMPL(s)->conn, &msg);
    fail(s, APR_EGENERAL, "%s: %s", what,
         (msg && *msg) ? msg : "database error");
    AT_LOG(AT_LOG_DEBUG, "store: %s", s->error);
    return APR_EGENERAL;
}

/* An integer column by index (from 1); drivers type some as strings
 * (pgsql booleans, computed columns) or decimals. */
static APR_INLINE apr_int64_t get_ll_idx(dbi_result r, unsigned int idx)
{
    const char *str;

    if (dbi_result_field_is_null_idx(r, idx) == 1) {
        return 0;
    }
    switch (dbi_result_get_field_type_idx(r, idx)) {
    case DBI_TYPE_INTEGER:
        return (apr_int64_t)dbi_result_get_longlong_idx(r, idx);
    case DBI_TYPE_DECIMAL:
        return (apr_int64_t)dbi_result_get_double_idx(r, idx);
    case DBI_TYPE_STRING:
        str = dbi_result_get_string_idx(r, idx);
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

/* The same by name; 0 for a column the result does not have. */
static APR_INLINE apr_int64_t get_ll(dbi_result r, const char *field)
{
    unsigned int idx = dbi_result_get_field_idx(r, field);

    return idx ? get_ll_idx(r, idx) : 0;
}

/* A text column copied into pool; "" for NULL. */
static APR_INLINE const char *get_str(dbi_result r, const char *field,
                                       apr_pool_t *p)
{
    const char *str;

    if (dbi_result_field_is_null(r, field) == 1) {
        return "";
    }
    str = dbi_result_get_string(r, field);
    return apr_pstrdup(p, str ? str : "");
}

/* Run a statement whose result is not read. */
static APR_INLINE apr_status_t exec_free(at_store_t *s, dbi_result r,
                                          const char *what)
{
    if (r == NULL) {
        return db_fail(s, what);
    }
    dbi_result_free(r);
    return APR_SUCCESS;
}

/* The sqlite3 driver learns each result column's type with extra
 * statements, so its cost grows with the column count: a 15-column lookup
 * ran at about 1,700/s, the same row packed into one text column at about
 * 10,000/s.  SQLite lookups therefore select one column, the fields joined
 * by US (0x1f), which no stored value can contain (control characters are
 * refused before they reach SQL).  It ends with, and is named after, a
 * text column because the driver types a computed column by that name. */
#define PACK_SEP "\037"

#define J " || '" PACK_SEP "' || "

/* A client address as httpd prints it (IPv4, IPv6, maybe a %zone). */
int at_dbi_addr_valid(const char *a);

apr_status_t at_dbi_get_meta(at_store_t *s, const char **prefix,
                             int *version, apr_int64_t *change_seq,
                             apr_pool_t *p);

apr_status_t at_dbi_begin(at_store_t *s, int write);

apr_status_t at_dbi_commit(at_store_t *s);

apr_status_t at_dbi_rollback(at_store_t *s);

apr_status_t at_dbi_init_schema(at_store_t *s, const char *prefix);

apr_status_t at_dbi_lookup(at_token_rec_t **rec, at_store_t *s,
                           const char *id, apr_pool_t *p);

apr_status_t at_dbi_find_by_name(at_token_rec_t **rec, at_store_t *s,
                                 const char *owner, const char *name,
                                 apr_pool_t *p);

apr_status_t at_dbi_insert(at_store_t *s, const at_token_rec_t *rec);

apr_status_t at_dbi_get_tracking(at_store_t *s, at_time_t *since);
apr_status_t at_dbi_set_tracking(at_store_t *s, int on, at_time_t now);

/* 1 when a token with the id exists, 0 not, -1 error. */
int at_dbi_id_exists(at_store_t *s, const char *qid);

apr_status_t at_dbi_update(at_store_t *s, const at_token_rec_t *rec);

apr_status_t at_dbi_remove(at_store_t *s, const char *id);

apr_status_t at_dbi_list(apr_array_header_t **recs, at_store_t *s,
                         const char *owner, apr_pool_t *p);

apr_status_t at_dbi_audit_add(at_store_t *s, const at_audit_rec_t *ev);

apr_status_t at_dbi_audit_list(apr_array_header_t **evs, at_store_t *s,
                               const char *token_id, const char *owner,
                               apr_pool_t *p);

apr_status_t at_dbi_touch(at_store_t *s, const char *id, at_time_t when,
                          const char *addr);

/* UPDATE, else INSERT ... SELECT from the token row (so nothing is written
 * for a token deleted meanwhile); a duplicate key from a concurrent insert
 * is answered by the UPDATE once more.  MySQL counts only changed rows as
 * affected, so "0 rows" may also mean "same second": the insert then finds
 * the row and adds nothing. */
apr_status_t at_dbi_scope_touch(at_store_t *s, const char *id,
                                const char *scope, at_time_t when);

apr_status_t at_dbi_scope_usage_list(apr_array_header_t **rows,
                                     at_store_t *s, const char *token_id,
                                     apr_pool_t *p);

#endif
