/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Token rows: what may reach SQL, the row decoders, lookup, insert,
 * update, remove and list. */

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

#include "at_resource.h"
#include "at_store_dbi_int.h"

#define ADDR_MAX   64

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
int at_dbi_addr_valid(const char *a)
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
    if (r->resources && *r->resources) {
        const char *norm, *bad, *rwhy;

        if (at_resources_parse(&norm, r->resources, &bad, &rwhy, p)
            != APR_SUCCESS || strcmp(norm, r->resources)) {
            return fail(s, APR_EINVAL, "resources are not normalised");
        }
    }
    if (r->last_used_addr && *r->last_used_addr
        && !at_dbi_addr_valid(r->last_used_addr)) {
        return fail(s, APR_EINVAL, "invalid last-used address");
    }
    return APR_SUCCESS;
}

#define TOKEN_COLS AT_TOKEN_COLUMNS

/* SQLite: the same columns in one string (see PACK_SEP), split again by
 * the packed reader. */
#define TOKEN_PACKED "id" J "owner" J "name" J "digest" J "scopes" J \
    "full_access" J "created_at" J "expires_at" J "revoked_at" J \
    "last_used_at" J "prev_until" J "last_used_addr" J "allowed_nets" J \
    "prev_digest" J "resources" J "description AS description"

/* Column readers for at_token_rec_decode: libdbi by index (PostgreSQL,
 * MariaDB), and the packed SQLite row. */
static const char *dbi_text(void *row, int i, apr_pool_t *p)
{
    dbi_result r = row;
    const char *str;

    if (dbi_result_field_is_null_idx(r, (unsigned int)i + 1) == 1) {
        return "";
    }
    str = dbi_result_get_string_idx(r, (unsigned int)i + 1);
    return apr_pstrdup(p, str ? str : "");
}

static apr_int64_t dbi_number(void *row, int i)
{
    return get_ll_idx(row, (unsigned int)i + 1);
}

typedef struct packed_t {
    const char *f[AT_TOKEN_NCOLUMNS];
} packed_t;

static const char *packed_text(void *row, int i, apr_pool_t *p)
{
    return ((packed_t *)row)->f[i];
}

static apr_int64_t packed_number(void *row, int i)
{
    return apr_atoi64(((packed_t *)row)->f[i]);
}

/* NULL when the packed row does not split into the columns (a value with
 * the separator, written behind the store's back). */
static at_token_rec_t *read_packed(dbi_result r, apr_pool_t *p)
{
    char *cur = (char *)get_str(r, "description", p), *sep;
    at_token_row_reader_t rd = { packed_text, packed_number, NULL };
    packed_t row;
    int i;

    for (i = 0; i < AT_TOKEN_NCOLUMNS; i++) {
        row.f[i] = cur;
        sep = strchr(cur, '\037');
        if (i < AT_TOKEN_NCOLUMNS - 1) {
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
    rd.row = &row;
    return at_token_rec_decode(&rd, p);
}

static at_token_rec_t *read_any(at_store_t *s, dbi_result r, apr_pool_t *p)
{
    at_token_row_reader_t rd = { dbi_text, dbi_number, r };

    return IMPL(s)->kind == AT_DB_SQLITE3 ? read_packed(r, p)
                                          : at_token_rec_decode(&rd, p);
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

apr_status_t at_dbi_lookup(at_token_rec_t **rec, at_store_t *s,
                           const char *id, apr_pool_t *p)
{
    *rec = NULL;
    if (!at_id_valid(id)) {
        /* Not a syntax error from the caller's view: nothing has it. */
        return fail(s, APR_NOTFOUND, "no such token");
    }
    return one_rec(rec, s, at_sql(s, "SELECT ? FROM apitoken_tokens"
                                  " WHERE id = ?",
                                  AT_SQL_ARGS(AT_SQL_K(select_cols(s)),
                                              AT_SQL_T(id))), p);
}

apr_status_t at_dbi_find_by_name(at_token_rec_t **rec, at_store_t *s,
                                 const char *owner, const char *name,
                                 apr_pool_t *p)
{
    *rec = NULL;
    if (at_check_stored_owner(owner) != NULL || at_check_name(name) != NULL) {
        return fail(s, APR_NOTFOUND, "no such token");
    }
    return one_rec(rec, s, at_sql(s, "SELECT ? FROM apitoken_tokens"
                                  " WHERE owner = ? AND name = ?",
                                  AT_SQL_ARGS(AT_SQL_K(select_cols(s)),
                                              AT_SQL_T(owner),
                                              AT_SQL_T(name))), p);
}

/* Count of rows that clash with rec's id or (owner, name): used to tell
 * a unique violation from other failures.  -1 on error. */
static long long count_clash(at_store_t *s, const at_token_rec_t *rec,
                             int same_id_ok)
{
    dbi_result r;
    long long n = 0;

    if (same_id_ok) {
        r = at_sql(s, "SELECT id FROM apitoken_tokens"
                   " WHERE owner = ? AND name = ? AND id <> ?",
                   AT_SQL_ARGS(AT_SQL_T(rec->owner), AT_SQL_T(rec->name),
                               AT_SQL_T(rec->id)));
    }
    else {
        r = at_sql(s, "SELECT id FROM apitoken_tokens"
                   " WHERE id = ? OR (owner = ? AND name = ?)",
                   AT_SQL_ARGS(AT_SQL_T(rec->id), AT_SQL_T(rec->owner),
                               AT_SQL_T(rec->name)));
    }
    if (r == NULL) {
        return -1;
    }
    n = (long long)dbi_result_get_numrows(r);
    dbi_result_free(r);
    return n;
}

/* The networks as stored: normalised when they parse. */
static const char *nets_of(const at_token_rec_t *r, apr_pool_t *tmp)
{
    const char *nets = "";

    if (r->allowed_nets && *r->allowed_nets) {
        at_check_nets(&nets, r->allowed_nets, tmp);
    }
    return nets;
}

/* Inside a transaction a savepoint keeps the transaction usable after a
 * failed write (PostgreSQL aborts the whole transaction on any error
 * otherwise), so a unique clash can be looked up and reported. */
static apr_status_t savepoint(at_store_t *s)
{
    if (!IMPL(s)->in_txn) {
        return APR_SUCCESS;
    }
    return exec_free(s, at_sql(s, "SAVEPOINT at_write", AT_SQL_NONE),
                     "setting a savepoint");
}

static void savepoint_end(at_store_t *s, int failed)
{
    if (!IMPL(s)->in_txn) {
        return;
    }
    if (failed) {
        dbi_result_free(at_sql(s, "ROLLBACK TO SAVEPOINT at_write",
                               AT_SQL_NONE));
    }
    dbi_result_free(at_sql(s, "RELEASE SAVEPOINT at_write", AT_SQL_NONE));
}

/* After a failed INSERT/UPDATE: APR_EEXIST when the id or (owner, name)
 * is taken (by another row, for an update), else the driver's error. */
static apr_status_t map_clash(at_store_t *s, const at_token_rec_t *rec,
                              int is_update, const char *what)
{
    char saved[ERRBUF_LEN];
    long long n;

    db_fail(s, what);
    apr_cpystrn(saved, IMPL(s)->errbuf, sizeof(saved));
    savepoint_end(s, 1);
    n = count_clash(s, rec, is_update);
    if (n > 0) {
        return fail(s, APR_EEXIST, is_update
                    ? "owner already has a token with this name"
                    : "token id or owner and name already taken");
    }
    return fail(s, APR_EGENERAL, "%s", saved);
}

apr_status_t at_dbi_insert(at_store_t *s, const at_token_rec_t *rec)
{
    apr_pool_t *tmp;
    dbi_result r;
    apr_status_t rv;

    apr_pool_create(&tmp, s->pool);
    if ((rv = check_rec(s, rec, tmp)) != APR_SUCCESS
        || (rv = savepoint(s)) != APR_SUCCESS) {
        apr_pool_destroy(tmp);
        return rv;
    }
    r = at_sql(s, "INSERT INTO apitoken_tokens (" TOKEN_COLS ") VALUES"
               " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               AT_SQL_ARGS(AT_SQL_T(rec->id), AT_SQL_T(rec->owner),
                           AT_SQL_T(rec->name), AT_SQL_T(rec->digest),
                           AT_SQL_T(rec->scopes),
                           AT_SQL_N(rec->full_access ? 1 : 0),
                           AT_SQL_N(rec->created_at),
                           AT_SQL_N(rec->expires_at),
                           AT_SQL_N(rec->revoked_at),
                           AT_SQL_N(rec->last_used_at),
                           AT_SQL_N(rec->prev_until),
                           AT_SQL_T(rec->last_used_addr),
                           AT_SQL_T(nets_of(rec, tmp)),
                           AT_SQL_T(rec->prev_digest),
                           AT_SQL_T(rec->resources),
                           AT_SQL_T(rec->description)));
    if (r == NULL) {
        rv = map_clash(s, rec, 0, "inserting a token");
    }
    else {
        dbi_result_free(r);
        savepoint_end(s, 0);
    }
    apr_pool_destroy(tmp);
    return rv;
}

/* 1 when a token with the id exists, 0 not, -1 error. */
int at_dbi_id_exists(at_store_t *s, const char *id)
{
    dbi_result r = at_sql(s, "SELECT id FROM apitoken_tokens WHERE id = ?",
                          AT_SQL_ARGS(AT_SQL_T(id)));
    int n;

    if (r == NULL) {
        return -1;
    }
    n = dbi_result_get_numrows(r) > 0;
    dbi_result_free(r);
    return n;
}

apr_status_t at_dbi_update(at_store_t *s, const at_token_rec_t *rec)
{
    apr_pool_t *tmp;
    dbi_result r;
    apr_status_t rv;

    apr_pool_create(&tmp, s->pool);
    if ((rv = check_rec(s, rec, tmp)) != APR_SUCCESS
        || (rv = savepoint(s)) != APR_SUCCESS) {
        apr_pool_destroy(tmp);
        return rv;
    }
    /* created_at is immutable; everything else is rewritten. */
    r = at_sql(s, "UPDATE apitoken_tokens SET owner = ?, name = ?,"
               " digest = ?, scopes = ?, full_access = ?, expires_at = ?,"
               " revoked_at = ?, last_used_at = ?, last_used_addr = ?,"
               " allowed_nets = ?, description = ?, prev_digest = ?,"
               " prev_until = ?, resources = ? WHERE id = ?",
               AT_SQL_ARGS(AT_SQL_T(rec->owner), AT_SQL_T(rec->name),
                           AT_SQL_T(rec->digest), AT_SQL_T(rec->scopes),
                           AT_SQL_N(rec->full_access ? 1 : 0),
                           AT_SQL_N(rec->expires_at),
                           AT_SQL_N(rec->revoked_at),
                           AT_SQL_N(rec->last_used_at),
                           AT_SQL_T(rec->last_used_addr),
                           AT_SQL_T(nets_of(rec, tmp)),
                           AT_SQL_T(rec->description),
                           AT_SQL_T(rec->prev_digest),
                           AT_SQL_N(rec->prev_until),
                           AT_SQL_T(rec->resources), AT_SQL_T(rec->id)));
    if (r == NULL) {
        rv = map_clash(s, rec, 1, "updating a token");
    }
    else {
        /* MySQL counts changed rows, not matched ones, unless told
         * otherwise: an update that changes nothing is not "missing". */
        if (dbi_result_get_numrows_affected(r) == 0) {
            int ex = at_dbi_id_exists(s, rec->id);
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

apr_status_t at_dbi_remove(at_store_t *s, const char *id)
{
    dbi_result r;
    apr_status_t rv;

    if (!at_id_valid(id)) {
        return fail(s, APR_NOTFOUND, "no such token");
    }
    /* The token's scope usage goes with it (the caller's transaction). */
    rv = exec_free(s, at_sql(s, "DELETE FROM apitoken_scope_usage"
                             " WHERE token_id = ?",
                             AT_SQL_ARGS(AT_SQL_T(id))),
                   "deleting a token's scope usage");
    if (rv == APR_SUCCESS) {
        r = at_sql(s, "DELETE FROM apitoken_tokens WHERE id = ?",
                   AT_SQL_ARGS(AT_SQL_T(id)));
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
    return rv;
}

apr_status_t at_dbi_list(apr_array_header_t **recs, at_store_t *s,
                         const char *owner, apr_pool_t *p)
{
    dbi_impl_t *d = IMPL(s);
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
    if (owner) {
        r = at_sql(s, "SELECT ? FROM apitoken_tokens WHERE owner = ??",
                   AT_SQL_ARGS(AT_SQL_K(select_cols(s)), AT_SQL_T(owner),
                               AT_SQL_K(order)));
    }
    else {
        r = at_sql(s, "SELECT ? FROM apitoken_tokens?",
                   AT_SQL_ARGS(AT_SQL_K(select_cols(s)), AT_SQL_K(order)));
    }
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
