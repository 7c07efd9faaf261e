/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Operations that change a token in place: rename, scope, expire and
 * edit (several fields in one transaction). */

#include <string.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include "at_nets.h"
#include "at_resource.h"
#include "at_ops.h"
#include "at_scope.h"

#include "at_ops_int.h"

static int has_word(const apr_array_header_t *a, const char *w)
{
    int i;

    for (i = 0; a && i < a->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(a, i, const char *), w)) {
            return 1;
        }
    }
    return 0;
}

/* A scope change with its words normalised and checked, before any
 * transaction. */
typedef struct scope_args_t {
    apr_array_header_t *set;            /* NULL = keep */
    apr_array_header_t *add;
    apr_array_header_t *rm;
    int full;
} scope_args_t;

static apr_status_t scope_args(at_ops_t *o, scope_args_t *a,
                               const at_scope_change_t *ch)
{
    apr_status_t rv;

    memset(a, 0, sizeof(*a));
    a->full = ch->full;
    if ((ch->set && (rv = at_ops_scopes_of(o, &a->set, ch->set, "scope"))
                    != APR_SUCCESS)
        || (rv = at_ops_scopes_of(o, &a->add, ch->add, "scope")) != APR_SUCCESS
        || (rv = at_ops_scopes_of(o, &a->rm, ch->remove, "scope"))
           != APR_SUCCESS) {
        return rv;
    }
    if (a->full == 1 && a->set && a->set->nelts > 0) {
        /* The rule of create: a new scope set and full access exclude each
         * other. */
        return fail(o, APR_EINVAL, "scope: give scopes or full access, not "
                    "both");
    }
    return APR_SUCCESS;
}

/* Apply a checked scope change to rec (inside the transaction). */
static apr_status_t apply_scope(at_ops_t *o, at_token_rec_t *rec,
                                const scope_args_t *a, const char **detail)
{
    apr_array_header_t *cur, *held, *next, *one;
    apr_status_t rv;
    const char *bad;
    int i;

    if (at_scopes_parse(&cur, rec->scopes, &bad, o->pool) != APR_SUCCESS) {
        return at_ops_abort_tx(o, fail(o, APR_EGENERAL,
                                       "scope: token %s has an "
                                       "unreadable scope %s",
                                       rec->id, Q(bad)));
    }
    held = cur;
    if (a->set) {
        cur = a->set;
    }
    for (i = 0; i < a->rm->nelts; i++) {
        const char *r = APR_ARRAY_IDX(a->rm, i, const char *);

        if (!has_word(cur, r)) {
            return at_ops_abort_tx(o, fail(o, APR_EBUSY,
                                           "scope: token %s has no "
                                           "scope %s",
                                           rec->id, Q(r)));
        }
    }
    next = apr_array_make(o->pool, cur->nelts + a->add->nelts + 1,
                          sizeof(const char *));
    for (i = 0; i < cur->nelts; i++) {
        const char *sc = APR_ARRAY_IDX(cur, i, const char *);

        if (!has_word(a->rm, sc)) {
            APR_ARRAY_PUSH(next, const char *) = sc;
        }
    }
    for (i = 0; i < a->add->nelts; i++) {
        APR_ARRAY_PUSH(next, const char *) = APR_ARRAY_IDX(a->add, i,
                                                           const char *);
    }
    if (at_scopes_normalise(&cur, next, &bad, o->pool) != APR_SUCCESS) {
        return at_ops_abort_tx(
            o, fail(o, APR_EINVAL, "scope: invalid scope %s", Q(bad)));
    }
    /* The catalogue judges what is granted anew, on the final set: a scope
     * the token holds already (given by the tool, or before the catalogue
     * changed) is kept when the rest of the set changes. */
    one = apr_array_make(o->pool, 1, sizeof(const char *));
    for (i = 0; o->features && i < cur->nelts; i++) {
        const char *sc = APR_ARRAY_IDX(cur, i, const char *);

        if (has_word(held, sc)) {
            continue;
        }
        apr_array_clear(one);
        APR_ARRAY_PUSH(one, const char *) = sc;
        if ((rv = at_ops_check_features(o, one, "scope")) != APR_SUCCESS) {
            return at_ops_abort_tx(o, rv);
        }
    }
    if (a->full == 1) {
        rec->full_access = 1;
    }
    else if (a->full == 0) {
        rec->full_access = 0;
    }
    if (!rec->full_access && cur->nelts == 0) {
        return at_ops_abort_tx(o, fail(o, APR_EINVAL,
                                       "scope: a restricted token "
                                       "needs at least one scope"));
    }
    rec->scopes = at_scopes_join(cur, o->pool);
    *detail = apr_psprintf(o->pool, "%s, scopes %s",
                           rec->full_access ? "full access" : "restricted",
                           *rec->scopes ? rec->scopes : "-");
    return APR_SUCCESS;
}

/* Apply a new name to rec (inside the transaction). */
static apr_status_t apply_name(at_ops_t *o, at_token_rec_t *rec,
                               const char *name, const char **detail)
{
    at_token_rec_t *other;
    apr_status_t rv;

    rv = at_store_find_by_name(&other, o->store, rec->owner, name, o->pool);
    if (rv == APR_SUCCESS && strcmp(other->id, rec->id)) {
        return at_ops_abort_tx(o, fail(o, APR_EEXIST,
                                       "rename: name %s already "
                                       "exists for owner %s (token %s)",
                                       Q(name), Q(rec->owner), other->id));
    }
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return at_ops_store_fail(o, rv, "rename", rec->id);
    }
    *detail = apr_psprintf(o->pool, "name %s -> %s", rec->name, name);
    rec->name = apr_pstrdup(o->pool, name);
    return APR_SUCCESS;
}

static int differ(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "") != 0;
}

/* Apply e's resource change to rec (inside the transaction): the new set
 * or the current one, plus the added, minus the removed patterns, each of
 * which the token must have. */
static apr_status_t apply_resources(at_ops_t *o, at_token_rec_t *rec,
                                    const at_token_edit_t *e,
                                    const char *what)
{
    const char *base = e->resources ? e->resources
                       : rec->resources ? rec->resources : "";
    const char *cur, *del = NULL, *w;
    apr_status_t rv;

    if ((rv = at_ops_resources_of(o, &cur, base, e->add_resources, NULL, what))
        != APR_SUCCESS) {
        return at_ops_abort_tx(o, rv);
    }
    if (e->remove_resources) {
        const char *left;

        if ((rv = at_ops_resources_of(o, &del, "", e->remove_resources, NULL,
                                      what))
            != APR_SUCCESS) {
            return at_ops_abort_tx(o, rv);
        }
        for (w = del; *w; w += strcspn(w, " "), w += strspn(w, " ")) {
            apr_size_t n = strcspn(w, " ");
            const char *one = apr_pstrmemdup(o->pool, w, n);
            const char *c;

            for (c = cur; *c; c += strcspn(c, " "), c += strspn(c, " ")) {
                if (strcspn(c, " ") == n && !strncmp(c, w, n)) {
                    break;
                }
            }
            if (!*c) {
                return at_ops_abort_tx(o, fail(o, APR_EBUSY,
                                               "%s: token %s has no "
                                               "resource %s",
                                               what, rec->id, Q(one)));
            }
        }
        if ((rv = at_ops_resources_of(o, &left, cur, NULL, del, what))
            != APR_SUCCESS) {
            return at_ops_abort_tx(o, rv);
        }
        cur = left;
    }
    rec->resources = cur;
    return APR_SUCCESS;
}

/* The one body of rename, scope, expire and edit: check the arguments,
 * load the token, check it is within the caller, apply every change,
 * check the result is within the caller, write it with one audit event
 * per changed field, commit. */
static apr_status_t edit_token(at_token_rec_t **recp, at_ops_t *o,
                               const char *what, const char *id,
                               const at_token_edit_t *e)
{
    const char *name_detail = NULL, *scope_detail = NULL, *err, *nets = "";
    at_token_rec_t *rec, old;
    scope_args_t sa;
    apr_status_t rv;
    int expires_changed, desc_changed, nets_changed, res_changed;
    int res_edit = e->resources || e->add_resources || e->remove_resources;

    if ((rv = at_ops_check_id(o, what, id)) != APR_SUCCESS) {
        return rv;
    }
    if (e->name && (err = at_check_name(e->name)) != NULL) {
        return fail(o, APR_EINVAL, "rename: invalid name %s: %s",
                    Q(e->name), err);
    }
    if (e->scope && (rv = scope_args(o, &sa, e->scope)) != APR_SUCCESS) {
        return rv;
    }
    if (e->description && *e->description
        && (err = at_check_description(e->description)) != NULL) {
        return fail(o, APR_EINVAL, "%s: invalid description %s: %s", what,
                    Q(e->description), err);
    }
    if (e->nets && (err = at_check_nets(&nets, e->nets, o->pool)) != NULL) {
        return fail(o, APR_EINVAL, "%s: invalid allowed networks %s: %s",
                    what, Q(e->nets), err);
    }
    o->unchanged = 0;
    if ((rv = at_ops_open_token(o, &rec, what, id)) != APR_SUCCESS
        || (rv = at_ops_within_bound(o, rec, what)) != APR_SUCCESS) {
        return rv;
    }
    old = *rec;
    if ((e->name && (rv = apply_name(o, rec, e->name, &name_detail))
                    != APR_SUCCESS)
        || (e->scope && (rv = apply_scope(o, rec, &sa, &scope_detail))
                        != APR_SUCCESS)) {
        return rv;
    }
    if (e->expires_set) {
        rec->expires_at = e->expires;
    }
    if (e->description) {
        rec->description = apr_pstrdup(o->pool, e->description);
    }
    if (e->nets) {
        rec->allowed_nets = nets;
    }
    if (res_edit && (rv = apply_resources(o, rec, e, what)) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = at_ops_within_bound(o, rec, what)) != APR_SUCCESS) {
        return rv;
    }
    /* A field set to what it holds is no change: no event for it, and no
     * write at all when nothing changes. */
    if (!differ(old.name, rec->name)) {
        name_detail = NULL;
    }
    if (old.full_access == rec->full_access
        && !differ(old.scopes, rec->scopes)) {
        scope_detail = NULL;
    }
    expires_changed = e->expires_set && old.expires_at != rec->expires_at;
    desc_changed = e->description && differ(old.description,
                                            rec->description);
    nets_changed = e->nets && differ(old.allowed_nets, rec->allowed_nets);
    res_changed = res_edit && differ(old.resources, rec->resources);
    if (!name_detail && !scope_detail && !expires_changed && !desc_changed
        && !nets_changed && !res_changed) {
        at_store_rollback(o->store);
        o->unchanged = 1;
        *recp = rec;
        return APR_SUCCESS;
    }
    rv = at_store_update(o->store, rec);
    if (rv == APR_EGENERAL && e->name) {
        return at_ops_name_race(o, "rename", rec->owner, e->name, rec->id);
    }
    if (rv != APR_SUCCESS) {
        return at_ops_store_fail(o, rv, what, id);
    }
    if ((name_detail
         && (rv = at_ops_audit_event(o, "rename", id, rec->owner, name_detail))
                != APR_SUCCESS)
        || (scope_detail
            && (rv = at_ops_audit_event(o, "scope", id, rec->owner,
                                        scope_detail))
                   != APR_SUCCESS)
        || (expires_changed
            && (rv = at_ops_audit_event(
                    o, "expire", id, rec->owner,
                    apr_pstrcat(o->pool, "expires ",
                                at_ops_time_text(o, rec->expires_at, "never"),
                                NULL)))
                   != APR_SUCCESS)
        || (desc_changed
            && (rv = at_ops_audit_event(o, "describe", id, rec->owner,
                                        *rec->description ? "description set"
                                                          : "description "
                                                            "cleared"))
                   != APR_SUCCESS)
        || (nets_changed
            && (rv = at_ops_audit_event(o, "networks", id, rec->owner,
                                        *nets ? apr_pstrcat(o->pool,
                                                            "allowed "
                                                            "networks ",
                                                            nets, NULL)
                                              : "any address"))
                   != APR_SUCCESS)
        || (res_changed
            && (rv = at_ops_audit_event(
                    o, "resources", id, rec->owner,
                    *rec->resources ? apr_pstrcat(o->pool, "resources ",
                                                  rec->resources, NULL)
                                    : "any resource"))
                   != APR_SUCCESS)
        || (rv = at_ops_commit(o, id)) != APR_SUCCESS) {
        return rv;
    }
    *recp = rec;
    return APR_SUCCESS;
}

apr_status_t at_ops_edit(at_token_rec_t **recp, at_ops_t *o, const char *id,
                         const at_token_edit_t *e)
{
    if (!e->name && !e->scope && !e->expires_set && !e->description
        && !e->nets && !e->resources && !e->add_resources
        && !e->remove_resources) {
        return fail(o, APR_EINVAL, "edit: nothing to change");
    }
    return edit_token(recp, o, "edit", id, e);
}

apr_status_t at_ops_rename(at_token_rec_t **recp, at_ops_t *o,
                           const char *id, const char *name)
{
    at_token_edit_t e;

    memset(&e, 0, sizeof(e));
    e.name = name ? name : "";
    return edit_token(recp, o, "rename", id, &e);
}

apr_status_t at_ops_scope(at_token_rec_t **recp, at_ops_t *o, const char *id,
                          const at_scope_change_t *ch)
{
    at_token_edit_t e;

    memset(&e, 0, sizeof(e));
    e.scope = ch;
    return edit_token(recp, o, "scope", id, &e);
}

apr_status_t at_ops_expire(at_token_rec_t **recp, at_ops_t *o,
                           const char *id, at_time_t expires)
{
    at_token_edit_t e;

    memset(&e, 0, sizeof(e));
    e.expires_set = 1;
    e.expires = expires;
    return edit_token(recp, o, "expire", id, &e);
}
