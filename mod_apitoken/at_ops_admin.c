/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The administrator's operations, on the same unit of work as the others
 * (at_ops_begin, at_ops_audit_event, at_ops_finish): creating or upgrading
 * the schema, pruning ended tokens, revoking every token of an owner and
 * revoking a leaked token found by its secret. */

#include <string.h>

#include <apr_strings.h>

#include "at_token.h"
#include "at_verify.h"
#include "at_ops_int.h"

static const char *with_reason(at_ops_t *o, const char *what,
                               const char *reason)
{
    return reason && *reason ? apr_pstrcat(o->pool, what, ": ", reason, NULL)
                             : what;
}

apr_status_t at_ops_init_store(at_ops_init_t *res, at_ops_t *o,
                               const char *want_prefix)
{
    const char *prefix = NULL;
    int version = 0;
    apr_int64_t seq;
    apr_status_t rv;

    memset(res, 0, sizeof(*res));
    if (want_prefix && !at_prefix_valid(want_prefix)) {
        return fail(o, APR_EINVAL, "invalid prefix %s (1-%d characters of "
                    "[a-z0-9], starting with a letter)", Q(want_prefix),
                    AT_PREFIX_MAX);
    }
    rv = at_store_get_meta(o->store, &prefix, &version, &seq, o->pool);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return fail(o, APR_EGENERAL, "cannot read schema of %s: %s",
                    o->store->url->redacted, at_store_error(o->store));
    }
    res->created = rv == APR_NOTFOUND;
    if (!res->created && want_prefix && prefix
        && strcmp(prefix, want_prefix)) {
        return fail(o, APR_EEXIST, "the schema already uses prefix %s; it "
                    "cannot be changed", Q(prefix));
    }
    if (!res->created && version > AT_SCHEMA_VERSION) {
        return fail(o, APR_EGENERAL, "schema version %d of %s is newer "
                    "than this tool (%d)", version, o->store->url->redacted,
                    AT_SCHEMA_VERSION);
    }
    res->upgraded = !res->created && version != AT_SCHEMA_VERSION;
    res->prefix = want_prefix ? want_prefix
                              : (!res->created && prefix && *prefix
                                 ? prefix : AT_DEFAULT_PREFIX);
    if (at_store_init_schema(o->store, res->prefix) != APR_SUCCESS) {
        return fail(o, APR_EGENERAL, "cannot create the schema in %s: %s",
                    o->store->url->redacted, at_store_error(o->store));
    }
    if (!res->created && !res->upgraded) {
        return APR_SUCCESS;
    }
    if ((rv = at_ops_begin(o)) != APR_SUCCESS) {
        return rv;
    }
    return at_ops_finish(o, "init", "", "",
                         apr_psprintf(o->pool, "schema version %d, prefix %s",
                                      AT_SCHEMA_VERSION, res->prefix));
}

apr_status_t at_ops_prune(apr_array_header_t **gone, at_ops_t *o,
                          at_time_t before, int dry_run)
{
    apr_array_header_t *all;
    apr_status_t rv;
    int i;

    if ((rv = at_ops_begin(o)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = at_store_list(&all, o->store, NULL, o->pool)) != APR_SUCCESS) {
        return at_ops_store_fail(o, rv, "prune", NULL);
    }
    *gone = apr_array_make(o->pool, 8, sizeof(const char *));
    for (i = 0; i < all->nelts; i++) {
        at_token_rec_t *r = APR_ARRAY_IDX(all, i, at_token_rec_t *);
        at_time_t ended = AT_TIME_NONE;

        if (r->revoked_at != AT_TIME_NONE) {
            ended = r->revoked_at;
        }
        if (r->expires_at != AT_TIME_NONE && r->expires_at <= o->now
            && (ended == AT_TIME_NONE || r->expires_at < ended)) {
            ended = r->expires_at;
        }
        if (ended == AT_TIME_NONE
            || (before != AT_TIME_NONE && ended >= before)) {
            continue;
        }
        if (!dry_run) {
            if ((rv = at_store_remove(o->store, r->id)) != APR_SUCCESS) {
                return at_ops_store_fail(o, rv, "prune", r->id);
            }
            rv = at_ops_audit_event(o, "delete", r->id, r->owner,
                                    apr_psprintf(o->pool, "pruned (%s), "
                                                 "owner %s, name %s",
                                                 at_token_rec_status(r,
                                                                     o->now),
                                                 r->owner, r->name));
            if (rv != APR_SUCCESS) {
                return rv;
            }
        }
        APR_ARRAY_PUSH(*gone, const char *) = r->id;
    }
    if (dry_run) {
        return at_ops_abort_tx(o, APR_SUCCESS);
    }
    return at_ops_finish(o, "prune", "", "",
                         apr_psprintf(o->pool, "%d tokens deleted",
                                      (*gone)->nelts));
}

apr_status_t at_ops_revoke_leaked(at_token_rec_t **recp, int *already,
                                  at_ops_t *o, const char *token,
                                  const char *reason)
{
    at_token_rec_t *rec = NULL;
    at_token_t tok;
    at_reason_t why;
    apr_status_t rv;
    const char *detail;

    *already = 0;
    if (reason && at_check_description(reason) != NULL) {
        return fail(o, APR_EINVAL, "invalid reason %s: %s", Q(reason),
                    at_check_description(reason));
    }
    memset(&tok, 0, sizeof(tok));
    if (at_token_parse(&tok, token, strlen(token), o->prefix)
        != AT_TOKEN_OK) {
        at_token_wipe(&tok);
        return fail(o, APR_NOTFOUND, "not a genuine token of this database");
    }
    if ((rv = at_ops_begin(o)) != APR_SUCCESS) {
        at_token_wipe(&tok);
        return rv;
    }
    rv = at_store_lookup(&rec, o->store, tok.id, o->pool);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        at_token_wipe(&tok);
        return at_ops_store_fail(o, rv, "lookup", NULL);
    }
    /* The secret must match: only a wrong secret is refused here, every
     * other reason (revoked, expired, rotated out) comes after it. */
    why = rv == APR_SUCCESS
          ? at_verify_record(rec, &tok, o->now, NULL, NULL, o->pool)
          : AT_REASON_UNKNOWN_ID;
    at_token_wipe(&tok);
    if (why == AT_REASON_UNKNOWN_ID || why == AT_REASON_WRONG_SECRET) {
        return at_ops_abort_tx(o, fail(o, APR_NOTFOUND, "not a genuine "
                                       "token of this database"));
    }
    if (rec->revoked_at != AT_TIME_NONE) {
        *already = 1;
        detail = with_reason(o, "leaked (already revoked)", reason);
    }
    else {
        rec->revoked_at = o->now;
        if ((rv = at_store_update(o->store, rec)) != APR_SUCCESS) {
            return at_ops_store_fail(o, rv, "revoke", rec->id);
        }
        detail = with_reason(o, "leaked", reason);
    }
    if ((rv = at_ops_finish(o, "revoke", rec->id, rec->owner, detail))
        != APR_SUCCESS) {
        return rv;
    }
    *recp = rec;
    return APR_SUCCESS;
}

apr_status_t at_ops_revoke_owner(apr_array_header_t **recsp, at_ops_t *o,
                                 const char *owner, const char *reason)
{
    apr_array_header_t *recs, *done;
    const char *err, *detail;
    apr_status_t rv;
    int i;

    if ((err = at_check_stored_owner(owner)) != NULL) {
        return fail(o, APR_EINVAL, "invalid owner %s: %s", Q(owner), err);
    }
    if (reason && (err = at_check_description(reason)) != NULL) {
        return fail(o, APR_EINVAL, "invalid reason %s: %s", Q(reason), err);
    }
    if ((rv = at_ops_begin(o)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = at_store_list(&recs, o->store, owner, o->pool))
        != APR_SUCCESS) {
        return at_ops_store_fail(o, rv, "list", NULL);
    }
    detail = with_reason(o, "all tokens of the owner", reason);
    done = apr_array_make(o->pool, recs->nelts + 1, sizeof(at_token_rec_t *));
    for (i = 0; i < recs->nelts; i++) {
        at_token_rec_t *r = APR_ARRAY_IDX(recs, i, at_token_rec_t *);

        if (r->revoked_at != AT_TIME_NONE) {
            continue;
        }
        r->revoked_at = o->now;
        if ((rv = at_store_update(o->store, r)) != APR_SUCCESS) {
            return at_ops_store_fail(o, rv, "revoke", r->id);
        }
        if ((rv = at_ops_audit_event(o, "revoke", r->id, r->owner, detail))
            != APR_SUCCESS) {
            return rv;
        }
        APR_ARRAY_PUSH(done, at_token_rec_t *) = r;
    }
    if (!done->nelts) {
        at_ops_abort_tx(o, APR_SUCCESS);
    }
    else if ((rv = at_ops_commit(o, "")) != APR_SUCCESS) {
        return rv;
    }
    *recsp = done;
    return APR_SUCCESS;
}
