/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Token operations shared by the tool and the management API.  Every
 * change is one transaction: the change, its audit event and the change
 * marker commit together or not at all. */

#include <string.h>

#include <apr_strings.h>
#include <openssl/crypto.h>

#include "at_nets.h"
#include "at_resource.h"
#include "at_ops.h"
#include "at_scope.h"
#include "at_text.h"
#include "at_ops_int.h"

void at_ops_init(at_ops_t *o, at_store_t *store, const char *actor,
                 at_time_t now, const char *prefix, apr_pool_t *p)
{
    memset(o, 0, sizeof(*o));
    o->store = store;
    o->actor = actor;
    o->now = now;
    o->prefix = prefix && *prefix ? prefix : AT_DEFAULT_PREFIX;
    o->pool = p;
}

const char *at_ops_quote(const char *s, apr_pool_t *p)
{
    return at_text_quote(s, p);
}

/* A store failure as the tool has always worded it; rolls back. */
apr_status_t at_ops_store_fail(at_ops_t *o, apr_status_t rv,
                               const char *what, const char *id)
{
    if (rv == APR_NOTFOUND) {
        fail(o, rv, "no token with id %s", Q(id));
    }
    else if (rv == APR_EEXIST) {
        fail(o, rv, "%s: name already exists for this owner", what);
    }
    else if (rv == APR_EINVAL) {
        fail(o, rv, "%s: invalid value: %s", what, at_store_error(o->store));
    }
    else {
        rv = APR_EGENERAL;
        fail(o, rv, "database error during %s: %s", what,
             at_store_error(o->store));
    }
    at_store_rollback(o->store);
    return rv;
}

apr_status_t at_ops_abort_tx(at_ops_t *o, apr_status_t rv)
{
    at_store_rollback(o->store);
    return rv;
}

apr_status_t at_ops_begin(at_ops_t *o)
{
    if (at_store_begin(o->store, 1) != APR_SUCCESS) {
        return fail(o, APR_EGENERAL, "cannot start a transaction: %s",
                    at_store_error(o->store));
    }
    return APR_SUCCESS;
}

/* One audit event inside the open transaction; rolls back on failure.
 * owner: the token's owner, whose account sees the event. */
apr_status_t at_ops_audit_event(at_ops_t *o, const char *action,
                                const char *token_id, const char *owner,
                                const char *detail)
{
    at_audit_rec_t ev;
    apr_status_t rv;

    memset(&ev, 0, sizeof(ev));
    ev.at = o->now;
    ev.action = action;
    ev.token_id = token_id ? token_id : "";
    ev.owner = owner ? owner : "";
    ev.actor = o->actor;
    ev.detail = detail ? detail : "";
    if ((rv = at_store_audit_add(o->store, &ev)) != APR_SUCCESS) {
        return at_ops_store_fail(o, rv, "audit", token_id);
    }
    return APR_SUCCESS;
}

/* Change marker and commit, after the change's audit events. */
apr_status_t at_ops_commit(at_ops_t *o, const char *token_id)
{
    apr_status_t rv;

    if ((rv = at_store_bump_change(o->store)) != APR_SUCCESS) {
        return at_ops_store_fail(o, rv, "change marker", token_id);
    }
    if (at_store_commit(o->store) != APR_SUCCESS) {
        at_store_rollback(o->store);
        return fail(o, APR_EGENERAL, "commit failed: %s",
                    at_store_error(o->store));
    }
    return APR_SUCCESS;
}

/* Audit event, change marker, commit. */
apr_status_t at_ops_finish(at_ops_t *o, const char *action,
                           const char *token_id, const char *owner,
                           const char *detail)
{
    apr_status_t rv = at_ops_audit_event(o, action, token_id, owner, detail);

    return rv != APR_SUCCESS ? rv : at_ops_commit(o, token_id);
}

apr_status_t at_ops_check_id(at_ops_t *o, const char *what, const char *id)
{
    if (!id || !at_id_valid(id)) {
        return fail(o, APR_EINVAL, "%s: invalid token id %s (%d characters "
                    "of [0-9A-Za-z])", what, Q(id), AT_ID_LEN);
    }
    return APR_SUCCESS;
}

/* Look the token up inside the transaction; another owner's token is
 * "not found", so ids do not tell whether they exist. */
static apr_status_t load(at_ops_t *o, at_token_rec_t **rec, const char *id)
{
    apr_status_t rv = at_store_lookup(rec, o->store, id, o->pool);

    if (rv == APR_SUCCESS && o->owner && strcmp((*rec)->owner, o->owner)) {
        rv = APR_NOTFOUND;
    }
    if (rv != APR_SUCCESS) {
        return at_ops_store_fail(o, rv, "lookup", id);
    }
    return APR_SUCCESS;
}

/* begin + load, for the operations on one existing token. */
apr_status_t at_ops_open_token(at_ops_t *o, at_token_rec_t **rec,
                               const char *what, const char *id)
{
    apr_status_t rv;

    if ((rv = at_ops_check_id(o, what, id)) != APR_SUCCESS
        || (rv = at_ops_begin(o)) != APR_SUCCESS) {
        return rv;
    }
    return load(o, rec, id);
}

/* Normalised resource patterns of raw text, or APR_EINVAL naming the bad
 * one. */
apr_status_t at_ops_resources_of(at_ops_t *o, const char **norm,
                                 const char *set, const char *add,
                                 const char *del, const char *what)
{
    const char *bad = NULL, *why = NULL;

    if (at_resources_edit(norm, set, add, del, &bad, &why, o->pool)
        != APR_SUCCESS) {
        /* The pattern twice, as for networks: the page keeps the why. */
        return fail(o, APR_EINVAL, "%s: invalid resource pattern %s: %s %s",
                    what, Q(bad), Q(bad), why);
    }
    return APR_SUCCESS;
}

apr_status_t at_ops_check_features(at_ops_t *o,
                                   const apr_array_header_t *scopes,
                                   const char *what)
{
    int i;

    if (!o->features || !scopes) {
        return APR_SUCCESS;
    }
    for (i = 0; i < scopes->nelts; i++) {
        const char *s = APR_ARRAY_IDX(scopes, i, const char *);
        const char *colon = strchr(s, ':');
        const char *feature = colon ? apr_pstrmemdup(o->pool, s, colon - s)
                                    : s;

        if (!apr_hash_get(o->features, feature, APR_HASH_KEY_STRING)) {
            return fail(o, APR_ENOENT, "%s: unknown feature %s in scope %s",
                        what, Q(feature), Q(s));
        }
    }
    return APR_SUCCESS;
}

apr_status_t at_ops_list(apr_array_header_t **recs, at_ops_t *o,
                         const char *owner)
{
    apr_status_t rv = at_store_list(recs, o->store, owner, o->pool);

    if (rv != APR_SUCCESS) {
        return fail(o, APR_EGENERAL, "database error during list: %s",
                    at_store_error(o->store));
    }
    return APR_SUCCESS;
}

apr_status_t at_ops_audit(apr_array_header_t **evs, at_ops_t *o,
                          const char *token_id)
{
    apr_status_t rv;

    if (token_id
        && (rv = at_ops_check_id(o, "log", token_id)) != APR_SUCCESS) {
        return rv;
    }
    /* The owner is a column of its own: an account whose name starts
     * with another's cannot match the other's events. */
    if ((rv = at_store_audit_list(evs, o->store, token_id, o->owner,
                                  o->pool)) != APR_SUCCESS) {
        return fail(o, APR_EGENERAL, "database error during log: %s",
                    at_store_error(o->store));
    }
    if (o->owner && token_id && (*evs)->nelts == 0) {
        return fail(o, APR_NOTFOUND, "no token with id %s", Q(token_id));
    }
    return APR_SUCCESS;
}
