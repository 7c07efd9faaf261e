/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* How tokens are used (granted versus used scopes, the usage audit) and
 * the revocations an incident needs.  The scope usage rows are written by
 * the module (apitoken_usage.c); this file only reads them. */

#include <stdarg.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "at_scope.h"
#include "at_token.h"
#include "at_usage.h"
#include "at_verify.h"
#include "at_ops_int.h"

#define DAY 86400

/* token id -> apr_hash_t of scope -> at_time_t *, for every token. */
static apr_status_t usage_index(apr_hash_t **idx, at_ops_t *o,
                                const char *token_id)
{
    apr_array_header_t *rows;
    int i;

    if (at_store_scope_usage_list(&rows, o->store, token_id, o->pool)
        != APR_SUCCESS) {
        return fail(o, APR_EGENERAL, "database error reading scope usage: "
                    "%s", at_store_error(o->store));
    }
    *idx = apr_hash_make(o->pool);
    for (i = 0; i < rows->nelts; i++) {
        const at_scope_usage_t *u = APR_ARRAY_IDX(rows, i,
                                                  at_scope_usage_t *);
        apr_hash_t *h = apr_hash_get(*idx, u->token_id, APR_HASH_KEY_STRING);

        if (!h) {
            h = apr_hash_make(o->pool);
            apr_hash_set(*idx, u->token_id, APR_HASH_KEY_STRING, h);
        }
        apr_hash_set(h, u->scope, APR_HASH_KEY_STRING, &u->last_used_at);
    }
    return APR_SUCCESS;
}

static apr_array_header_t *granted_of(at_ops_t *o, const at_token_rec_t *r)
{
    apr_array_header_t *g;
    const char *bad;

    if (at_scopes_parse(&g, r->scopes ? r->scopes : "", &bad, o->pool)
        != APR_SUCCESS) {
        g = apr_array_make(o->pool, 1, sizeof(const char *));
    }
    return g;
}

/* Sorted scope names of a usage hash. */
static apr_array_header_t *used_names(at_ops_t *o, apr_hash_t *h)
{
    apr_array_header_t *a = apr_array_make(o->pool, 4, sizeof(const char *));
    apr_array_header_t *norm;
    apr_hash_index_t *hi;
    const char *bad;

    for (hi = h ? apr_hash_first(o->pool, h) : NULL; hi;
         hi = apr_hash_next(hi)) {
        const void *k;

        apr_hash_this(hi, &k, NULL, NULL);
        APR_ARRAY_PUSH(a, const char *) = k;
    }
    /* Normalising sorts them too. */
    return at_scopes_normalise(&norm, a, &bad, o->pool) == APR_SUCCESS
           ? norm : a;
}

apr_status_t at_usage_scopes(apr_array_header_t **uses, at_ops_t *o,
                             const at_token_rec_t *rec)
{
    apr_array_header_t *granted, *used;
    apr_hash_t *idx, *h;
    apr_status_t rv;
    int i;

    *uses = apr_array_make(o->pool, 4, sizeof(at_scope_use_t *));
    if ((rv = usage_index(&idx, o, rec->id)) != APR_SUCCESS) {
        return rv;
    }
    h = apr_hash_get(idx, rec->id, APR_HASH_KEY_STRING);
    granted = rec->full_access ? apr_array_make(o->pool, 1, sizeof(char *))
                               : granted_of(o, rec);
    for (i = 0; i < granted->nelts; i++) {
        at_scope_use_t *u = apr_pcalloc(o->pool, sizeof(*u));
        const at_time_t *t;

        u->scope = APR_ARRAY_IDX(granted, i, const char *);
        u->granted = 1;
        t = h ? apr_hash_get(h, u->scope, APR_HASH_KEY_STRING) : NULL;
        u->last_used_at = t ? *t : AT_TIME_NONE;
        APR_ARRAY_PUSH(*uses, at_scope_use_t *) = u;
    }
    used = used_names(o, h);
    for (i = 0; i < used->nelts; i++) {
        const char *s = APR_ARRAY_IDX(used, i, const char *);
        at_scope_use_t *u;
        int j, dup = 0;

        for (j = 0; j < granted->nelts && !dup; j++) {
            dup = !strcmp(APR_ARRAY_IDX(granted, j, const char *), s);
        }
        if (dup) {
            continue;
        }
        u = apr_pcalloc(o->pool, sizeof(*u));
        u->scope = s;
        u->granted = rec->full_access;
        u->last_used_at = *(const at_time_t *)apr_hash_get(
                              h, s, APR_HASH_KEY_STRING);
        APR_ARRAY_PUSH(*uses, at_scope_use_t *) = u;
    }
    return APR_SUCCESS;
}

static at_finding_t *finding(at_ops_t *o, apr_array_header_t *out,
                             const at_token_rec_t *r, const char *kind)
{
    at_finding_t *f = apr_pcalloc(o->pool, sizeof(*f));

    f->rec = r;
    f->kind = kind;
    APR_ARRAY_PUSH(out, at_finding_t *) = f;
    return f;
}

/* The scopes of h used at or after since, normalised. */
static apr_array_header_t *used_since(at_ops_t *o, apr_hash_t *h,
                                      at_time_t since)
{
    apr_array_header_t *all = used_names(o, h), *a, *norm;
    const char *bad;
    int i;

    a = apr_array_make(o->pool, 4, sizeof(const char *));
    for (i = 0; i < all->nelts; i++) {
        const char *s = APR_ARRAY_IDX(all, i, const char *);
        const at_time_t *t = apr_hash_get(h, s, APR_HASH_KEY_STRING);

        if (t && *t >= since) {
            APR_ARRAY_PUSH(a, const char *) = s;
        }
    }
    return at_scopes_normalise(&norm, a, &bad, o->pool) == APR_SUCCESS
           ? norm : a;
}

apr_status_t at_usage_audit(apr_array_header_t **findings, at_ops_t *o,
                            const at_usage_audit_req_t *req)
{
    apr_array_header_t *recs;
    apr_hash_t *idx;
    apr_status_t rv;
    int i, j;

    *findings = apr_array_make(o->pool, 8, sizeof(at_finding_t *));
    if ((rv = at_store_list(&recs, o->store, req->owner, o->pool))
        != APR_SUCCESS) {
        return fail(o, APR_EGENERAL, "database error listing tokens: %s",
                    at_store_error(o->store));
    }
    if ((rv = usage_index(&idx, o, NULL)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < recs->nelts; i++) {
        const at_token_rec_t *r = APR_ARRAY_IDX(recs, i, at_token_rec_t *);
        apr_hash_t *h = apr_hash_get(idx, r->id, APR_HASH_KEY_STRING);
        at_time_t age = o->now - r->created_at;

        if (strcmp(at_token_rec_status(r, o->now), "active")) {
            continue;
        }
        if (req->unused_scopes_days >= 0 && !r->full_access
            && age >= (at_time_t)req->unused_scopes_days * DAY) {
            at_time_t since = o->now - (at_time_t)req->unused_scopes_days
                                       * DAY;
            apr_array_header_t *granted = granted_of(o, r);
            apr_array_header_t *unused = apr_array_make(o->pool, 2,
                                                        sizeof(char *));

            for (j = 0; j < granted->nelts; j++) {
                const char *s = APR_ARRAY_IDX(granted, j, const char *);
                const at_time_t *t = h ? apr_hash_get(h, s,
                                                      APR_HASH_KEY_STRING)
                                       : NULL;
                if (!t || *t < since) {
                    APR_ARRAY_PUSH(unused, const char *) = s;
                }
            }
            if (unused->nelts) {
                at_finding_t *f = finding(o, *findings, r,
                                          AT_FINDING_UNUSED_SCOPES);
                f->unused = unused;
                f->suggest = used_since(o, h, since);
            }
        }
        if (req->unused_days >= 0
            && age >= (at_time_t)req->unused_days * DAY
            && (r->last_used_at == AT_TIME_NONE
                || r->last_used_at < o->now - (at_time_t)req->unused_days
                                              * DAY)) {
            finding(o, *findings, r, AT_FINDING_UNUSED);
        }
        if (req->expiring_days >= 0 && r->expires_at != AT_TIME_NONE
            && r->expires_at <= o->now + (at_time_t)req->expiring_days
                                         * DAY) {
            finding(o, *findings, r, AT_FINDING_EXPIRING);
        }
        if (req->full_access && r->full_access) {
            at_finding_t *f = finding(o, *findings, r,
                                      AT_FINDING_FULL_ACCESS);
            f->suggest = used_since(o, h, 0);
        }
    }
    return APR_SUCCESS;
}
