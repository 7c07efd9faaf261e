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
    if (r->last_used_addr && *r->last_used_addr
        && !at_dbi_addr_valid(r->last_used_addr)) {
        return fail(s, APR_EINVAL, "invalid last-used address");
    }
    return APR_SUCCESS;
}

#define TOKEN_COLS "id, owner, name, digest, scopes, full_access, " \
    "created_at, expires_at, revoked_at, last_used_at, last_used_addr, " \
    "allowed_nets, description, prev_digest, prev_until"

#define PACKED_FIELDS 15

#define TOKEN_PACKED "id" J "owner" J "name" J "digest" J "scopes" J \
    "full_access" J "created_at" J "expires_at" J "revoked_at" J \
    "last_used_at" J "prev_until" J "last_used_addr" J "allowed_nets" J \
    "prev_digest" J "description AS description"

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

apr_status_t at_dbi_lookup(at_token_rec_t **rec, at_store_t *s,
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

apr_status_t at_dbi_find_by_name(at_token_rec_t **rec, at_store_t *s,
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

apr_status_t at_dbi_insert(at_store_t *s, const at_token_rec_t *rec)
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
int at_dbi_id_exists(at_store_t *s, const char *qid)
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

apr_status_t at_dbi_update(at_store_t *s, const at_token_rec_t *rec)
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
            int ex = at_dbi_id_exists(s, q.id);
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

apr_status_t at_dbi_list(apr_array_header_t **recs, at_store_t *s,
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
