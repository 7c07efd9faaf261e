/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Operations that make or end a token: create, revoke, rotate, delete. */

#include <string.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include "at_nets.h"
#include "at_resource.h"
#include "at_ops.h"
#include "at_scope.h"

#include "at_ops_int.h"

#define SCOPE_SYNTAX "(feature[:level], each [a-z0-9_-]{1,64})"

/* Normalised set of raw words (NULL = empty). */
apr_status_t at_ops_scopes_of(at_ops_t *o, apr_array_header_t **out,
                              const apr_array_header_t *raw,
                              const char *what)
{
    const char *bad = NULL;
    apr_array_header_t *empty;

    if (!raw) {
        empty = apr_array_make(o->pool, 1, sizeof(const char *));
        raw = empty;
    }
    if (at_scopes_normalise(out, raw, &bad, o->pool) != APR_SUCCESS) {
        return fail(o, APR_EINVAL, "%s: invalid scope %s " SCOPE_SYNTAX,
                    what, Q(bad));
    }
    return APR_SUCCESS;
}

/* A name another writer took after our snapshot (MariaDB's repeatable read
 * hides it) makes the write fail as a database error: ask again outside
 * the transaction before calling it one.  The transaction is rolled
 * back. */
apr_status_t at_ops_name_race(at_ops_t *o, const char *what,
                              const char *owner, const char *name,
                              const char *self_id)
{
    const char *why = apr_pstrdup(o->pool, at_store_error(o->store));
    at_token_rec_t *other;

    at_store_rollback(o->store);
    if (at_store_find_by_name(&other, o->store, owner, name, o->pool)
        == APR_SUCCESS && (!self_id || strcmp(other->id, self_id))) {
        return fail(o, APR_EEXIST, "%s: name %s already exists for owner %s "
                    "(token %s)", what, Q(name), Q(owner), other->id);
    }
    return fail(o, APR_EGENERAL, "database error during %s: %s", what, why);
}

apr_status_t at_ops_check_create(at_create_norm_t *out, at_ops_t *o,
                                 const at_create_req_t *req)
{
    apr_array_header_t *scopes;
    const char *err, *nets = "", *res = "";
    apr_status_t rv;

    o->field = "owner";
    if ((err = at_check_owner(req->owner ? req->owner : "")) != NULL) {
        return fail(o, APR_EINVAL, "create: invalid owner %s: %s",
                    Q(req->owner), err);
    }
    if (o->owner && strcmp(o->owner, req->owner)) {
        return fail(o, APR_EINVAL, "create: owner %s may not be chosen here",
                    Q(req->owner));
    }
    o->field = "name";
    if ((err = at_check_name(req->name ? req->name : "")) != NULL) {
        return fail(o, APR_EINVAL, "create: invalid name %s: %s",
                    Q(req->name), err);
    }
    o->field = "description";
    if (req->description
        && (err = at_check_description(req->description)) != NULL) {
        return fail(o, APR_EINVAL, "create: invalid description %s: %s",
                    Q(req->description), err);
    }
    o->field = "scopes";
    if ((rv = at_ops_scopes_of(o, &scopes, req->scopes, "create"))
            != APR_SUCCESS
        || (rv = at_ops_check_features(o, scopes, "create")) != APR_SUCCESS) {
        return rv;
    }
    o->field = "full_access";
    if (req->full_access && scopes->nelts > 0) {
        return fail(o, APR_EINVAL, "create: give scopes or full access, not "
                    "both");
    }
    if (!req->full_access && scopes->nelts == 0) {
        return fail(o, APR_EINVAL, "create: a restricted token needs at "
                    "least one scope (or full access)");
    }
    o->field = "expires";
    if (req->expires != AT_TIME_NONE && req->expires <= o->now) {
        return fail(o, APR_EINVAL, "create: expiry %s is in the past",
                    at_ops_time_text(o, req->expires, "never"));
    }
    o->field = "nets";
    if (req->nets && (err = at_check_nets(&nets, req->nets, o->pool))
                     != NULL) {
        return fail(o, APR_EINVAL, "create: invalid allowed networks %s: %s",
                    Q(req->nets), err);
    }
    o->field = "resources";
    if (req->resources
        && (rv = at_ops_resources_of(o, &res, "", req->resources, NULL,
                                     "create"))
               != APR_SUCCESS) {
        return rv;
    }
    o->field = NULL;
    out->scopes = scopes;
    out->nets = nets;
    out->resources = res;
    return APR_SUCCESS;
}

apr_status_t at_ops_create(at_token_rec_t **recp, char *token, at_ops_t *o,
                           const at_create_req_t *req)
{
    at_token_rec_t *rec, *dup = NULL;
    at_create_norm_t norm;
    apr_array_header_t *scopes;
    at_token_t tok;
    char *digest;
    const char *nets, *res;
    apr_status_t rv;

    token[0] = '\0';
    if ((rv = at_ops_check_create(&norm, o, req)) != APR_SUCCESS) {
        return rv;
    }
    scopes = norm.scopes;
    nets = norm.nets;
    res = norm.resources;

    if ((rv = at_ops_begin(o)) != APR_SUCCESS) {
        return rv;
    }
    rv = at_store_find_by_name(&dup, o->store, req->owner, req->name,
                               o->pool);
    if (rv == APR_SUCCESS) {
        return at_ops_abort_tx(o, fail(o, APR_EEXIST,
                                       "create: name %s already "
                                       "exists for owner %s (token %s)",
                                       Q(req->name), Q(req->owner), dup->id));
    }
    if (rv != APR_NOTFOUND) {
        return at_ops_store_fail(o, rv, "create", NULL);
    }
    if (at_token_generate(&tok, token, o->prefix) != APR_SUCCESS) {
        return at_ops_abort_tx(o, fail(o, APR_EGENERAL,
                                       "create: cannot generate a "
                                       "token (CSPRNG)"));
    }
    digest = apr_palloc(o->pool, AT_DIGEST_HEX_LEN + 1);
    at_token_digest(digest, tok.secret);

    rec = apr_pcalloc(o->pool, sizeof(*rec));
    rec->id = apr_pstrdup(o->pool, tok.id);
    at_token_wipe(&tok);
    rec->owner = apr_pstrdup(o->pool, req->owner);
    rec->name = apr_pstrdup(o->pool, req->name);
    rec->digest = digest;
    rec->scopes = at_scopes_join(scopes, o->pool);
    rec->full_access = req->full_access ? 1 : 0;
    rec->created_at = o->now;
    rec->expires_at = req->expires;
    rec->last_used_addr = "";
    rec->allowed_nets = nets;
    rec->description = req->description
                       ? apr_pstrdup(o->pool, req->description) : "";
    rec->prev_digest = "";
    rec->resources = res;
    if (o->bound) {
        /* A token caller's child lives no longer and works from no more
         * places than the caller. */
        if (rec->expires_at == AT_TIME_NONE) {
            rec->expires_at = o->bound->expires;
        }
        if (!*rec->allowed_nets && o->bound->nets) {
            rec->allowed_nets = o->bound->nets;
        }
        if (!*rec->resources && o->bound->resources) {
            rec->resources = o->bound->resources;
        }
    }
    /* Named "the new token" in the message: its id is not given out. */
    rv = o->bound ? at_ops_check_bound(o, rec, "create", "the new token")
                  : APR_SUCCESS;
    if (rv != APR_SUCCESS) {
        OPENSSL_cleanse(token, AT_TOKEN_MAX + 1);
        return rv;
    }
    if ((rv = at_store_insert(o->store, rec)) != APR_SUCCESS) {
        OPENSSL_cleanse(token, AT_TOKEN_MAX + 1);
        if (rv == APR_EEXIST) {
            return at_ops_abort_tx(o, fail(o, APR_EEXIST,
                                           "create: name %s already "
                                           "exists for owner %s",
                                           Q(req->name), Q(req->owner)));
        }
        if (rv == APR_EGENERAL) {
            return at_ops_name_race(o, "create", req->owner, req->name, NULL);
        }
        return at_ops_store_fail(o, rv, "create", rec->id);
    }
    rv = at_ops_finish(
        o, "create", rec->id, rec->owner,
        apr_psprintf(o->pool, "owner %s, name %s, %s, expires %s%s%s",
                     rec->owner, rec->name,
                     rec->full_access
                         ? "full access"
                         : apr_pstrcat(o->pool, "scopes ", rec->scopes, NULL),
                     at_ops_time_text(o, rec->expires_at, "never"),
                     *rec->resources ? ", resources " : "", rec->resources));
    if (rv != APR_SUCCESS) {
        OPENSSL_cleanse(token, AT_TOKEN_MAX + 1);
        return rv;
    }
    *recp = rec;
    return APR_SUCCESS;
}

apr_status_t at_ops_revoke(at_token_rec_t **recp, at_ops_t *o,
                           const char *id, const char *reason)
{
    at_token_rec_t *rec;
    const char *err;
    apr_status_t rv;

    if (reason && (err = at_check_description(reason)) != NULL) {
        return fail(o, APR_EINVAL, "revoke: invalid reason %s: %s",
                    Q(reason), err);
    }

    if ((rv = at_ops_open_token(o, &rec, "revoke", id)) != APR_SUCCESS
        || (rv = at_ops_within_bound(o, rec, "revoke")) != APR_SUCCESS) {
        return rv;
    }
    if (rec->revoked_at != AT_TIME_NONE) {
        /* Already revoked: keep the original time, change nothing. */
        at_store_rollback(o->store);
        *recp = rec;
        return APR_SUCCESS;
    }
    rec->revoked_at = o->now;
    if ((rv = at_store_update(o->store, rec)) != APR_SUCCESS) {
        return at_ops_store_fail(o, rv, "revoke", id);
    }
    if ((rv = at_ops_finish(
             o, "revoke", id, rec->owner,
             reason && *reason ? apr_pstrcat(o->pool, "reason: ", reason, NULL)
                               : ""))
        == APR_SUCCESS) {
        *recp = rec;
    }
    return rv;
}

apr_status_t at_ops_rotate(at_token_rec_t **recp, char *token, at_ops_t *o,
                           const char *id, apr_int64_t grace, int force,
                           int *ended)
{
    char *digest = apr_palloc(o->pool, AT_DIGEST_HEX_LEN + 1);
    at_token_rec_t *rec;
    at_token_t tok;
    apr_status_t rv;
    int in_grace;

    token[0] = '\0';
    if (grace < 0) {
        return fail(o, APR_EINVAL, "rotate: invalid grace %" APR_INT64_T_FMT
                    ": negative", grace);
    }
    if (grace > AT_GRACE_MAX) {
        return fail(o, APR_EINVAL, "rotate: invalid grace %" APR_INT64_T_FMT
                    " seconds: at most %d (366 days)", grace, AT_GRACE_MAX);
    }
    /* The new secret is handed out: only for a token within the caller. */
    if ((rv = at_ops_open_token(o, &rec, "rotate", id)) != APR_SUCCESS
        || (rv = at_ops_within_bound(o, rec, "rotate")) != APR_SUCCESS) {
        return rv;
    }
    if (rec->revoked_at != AT_TIME_NONE) {
        return at_ops_abort_tx(
            o, fail(o, APR_EBUSY, "rotate: token %s is revoked", id));
    }
    in_grace = rec->prev_digest && *rec->prev_digest
               && rec->prev_until != AT_TIME_NONE && rec->prev_until > o->now;
    if (in_grace && !force) {
        return at_ops_abort_tx(
            o, fail(o, APR_EBUSY,
                    "rotate: token %s is in the "
                    "grace period of its last rotation (the "
                    "previous secret works until %s); rotating "
                    "again ends that secret at once and needs "
                    "force",
                    id, at_ops_time_text(o, rec->prev_until, "-")));
    }
    if (at_token_regenerate(&tok, token, o->prefix, id) != APR_SUCCESS) {
        return at_ops_abort_tx(o, fail(o, APR_EGENERAL,
                                       "rotate: cannot generate a "
                                       "token (CSPRNG)"));
    }
    at_token_digest(digest, tok.secret);
    at_token_wipe(&tok);
    if (grace > 0) {
        rec->prev_digest = rec->digest;
        rec->prev_until = o->now + grace;
    }
    else {
        rec->prev_digest = "";
        rec->prev_until = AT_TIME_NONE;
    }
    rec->digest = digest;
    if ((rv = at_store_update(o->store, rec)) != APR_SUCCESS) {
        OPENSSL_cleanse(token, AT_TOKEN_MAX + 1);
        return at_ops_store_fail(o, rv, "rotate", id);
    }
    rv = at_ops_finish(
        o, "rotate", id, rec->owner,
        apr_pstrcat(
            o->pool,
            grace > 0 ? apr_psprintf(o->pool,
                                     "old secret "
                                     "valid until %s",
                                     at_ops_time_text(o, rec->prev_until, "-"))
                      : "old secret revoked at once",
            in_grace ? "; the secret before it ended at once" : "", NULL));
    if (rv != APR_SUCCESS) {
        OPENSSL_cleanse(token, AT_TOKEN_MAX + 1);
        return rv;
    }
    if (ended) {
        *ended = in_grace;
    }
    *recp = rec;
    return APR_SUCCESS;
}

apr_status_t at_ops_delete(at_token_rec_t **recp, at_ops_t *o,
                           const char *id)
{
    at_token_rec_t *rec;
    apr_status_t rv;

    if ((rv = at_ops_open_token(o, &rec, "delete", id)) != APR_SUCCESS
        || (rv = at_ops_within_bound(o, rec, "delete")) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = at_store_remove(o->store, id)) != APR_SUCCESS) {
        return at_ops_store_fail(o, rv, "delete", id);
    }
    rv = at_ops_finish(o, "delete", id, rec->owner,
                       apr_psprintf(o->pool, "owner %s, name %s", rec->owner,
                                    rec->name));
    if (rv == APR_SUCCESS) {
        *recp = rec;
    }
    return rv;
}
