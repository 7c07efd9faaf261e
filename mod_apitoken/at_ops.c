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

#define SCOPE_SYNTAX "(feature[:level], each [a-z0-9_-]{1,64})"

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
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t max = 120, i = 0, o = 0;
    char *buf;

    if (!s) {
        return "(none)";
    }
    /* At most 4 output bytes per input byte (\xNN), and the last sequence
     * may run 3 bytes past max; quotes, "..." and NUL. */
    buf = apr_palloc(p, (max + 3) * 4 + 8);
    buf[o++] = '\'';
    while (u[i] && i < max) {
        apr_uint32_t cp = 0;
        apr_size_t n = at_utf8_seq(u + i, AT_UTF8_NUL_TERMINATED, &cp);

        if (n == 1 && u[i] >= 0x20 && u[i] != 0x7f && u[i] != '\\'
            && u[i] != '\'') {
            buf[o++] = (char)u[i++];
        }
        else if (n > 1 && !(cp >= 0x80 && cp <= 0x9f)) {
            memcpy(buf + o, u + i, n);
            o += n;
            i += n;
        }
        else {
            /* C0, DEL, invalid UTF-8, and C1 (U+0080 to U+009F, which some
             * terminals obey as escapes) byte by byte: U+009B is \xc2\x9b. */
            apr_size_t k, len = n > 1 ? n : 1;

            for (k = 0; k < len; k++) {
                apr_snprintf(buf + o, 5, "\\x%02x", u[i++]);
                o += 4;
            }
        }
    }
    buf[o++] = '\'';
    if (u[i]) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

static apr_status_t fail(at_ops_t *o, apr_status_t rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static apr_status_t fail(at_ops_t *o, apr_status_t rv, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    o->error = apr_pvsprintf(o->pool, fmt, ap);
    va_end(ap);
    return rv;
}

#define Q(s) at_ops_quote((s), o->pool)

/* A store failure as the tool has always worded it; rolls back. */
static apr_status_t store_fail(at_ops_t *o, apr_status_t rv,
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

static apr_status_t abort_tx(at_ops_t *o, apr_status_t rv)
{
    at_store_rollback(o->store);
    return rv;
}

static apr_status_t begin(at_ops_t *o)
{
    if (at_store_begin(o->store, 1) != APR_SUCCESS) {
        return fail(o, APR_EGENERAL, "cannot start a transaction: %s",
                    at_store_error(o->store));
    }
    return APR_SUCCESS;
}

/* One audit event inside the open transaction; rolls back on failure.
 * owner: the token's owner, whose account sees the event. */
static apr_status_t audit_event(at_ops_t *o, const char *action,
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
        return store_fail(o, rv, "audit", token_id);
    }
    return APR_SUCCESS;
}

/* Change marker and commit, after the change's audit events. */
static apr_status_t commit(at_ops_t *o, const char *token_id)
{
    apr_status_t rv;

    if ((rv = at_store_bump_change(o->store)) != APR_SUCCESS) {
        return store_fail(o, rv, "change marker", token_id);
    }
    if (at_store_commit(o->store) != APR_SUCCESS) {
        at_store_rollback(o->store);
        return fail(o, APR_EGENERAL, "commit failed: %s",
                    at_store_error(o->store));
    }
    return APR_SUCCESS;
}

/* Audit event, change marker, commit. */
static apr_status_t finish(at_ops_t *o, const char *action,
                           const char *token_id, const char *owner,
                           const char *detail)
{
    apr_status_t rv = audit_event(o, action, token_id, owner, detail);

    return rv != APR_SUCCESS ? rv : commit(o, token_id);
}

static apr_status_t check_id(at_ops_t *o, const char *what, const char *id)
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
        return store_fail(o, rv, "lookup", id);
    }
    return APR_SUCCESS;
}

/* begin + load, for the operations on one existing token. */
static apr_status_t open_token(at_ops_t *o, at_token_rec_t **rec,
                               const char *what, const char *id)
{
    apr_status_t rv;

    if ((rv = check_id(o, what, id)) != APR_SUCCESS
        || (rv = begin(o)) != APR_SUCCESS) {
        return rv;
    }
    return load(o, rec, id);
}

static const char *time_text(at_ops_t *o, at_time_t t, const char *dflt)
{
    char *buf;

    if (t == AT_TIME_NONE) {
        return dflt;
    }
    buf = apr_palloc(o->pool, AT_TIME_STRLEN + 1);
    at_time_format(buf, t);
    return buf;
}

/* APR_EACCES (transaction rolled back) when rec reaches beyond what a
 * token caller holds (o->bound, which must be set); see at_ops_bound_t.
 * Runs on the record as it is about to be written, and on the record as
 * it was before a change; subject names the token in the message. */
static apr_status_t check_bound(at_ops_t *o, const at_token_rec_t *rec,
                                const char *what, const char *subject)
{
    const at_ops_bound_t *b = o->bound;
    apr_array_header_t *sc;
    const char *bad = NULL;
    int i;

    if (rec->full_access && !b->full_access) {
        return abort_tx(o, fail(o, APR_EACCES, "%s: %s has full access, "
                                "which the calling token does not hold",
                                what, subject));
    }
    if (!b->full_access) {
        if (at_scopes_parse(&sc, rec->scopes ? rec->scopes : "", &bad,
                            o->pool) != APR_SUCCESS) {
            return abort_tx(o, fail(o, APR_EACCES, "%s: %s has an "
                                    "unreadable scope %s", what, subject,
                                    Q(bad)));
        }
        for (i = 0; i < sc->nelts; i++) {
            const char *s = APR_ARRAY_IDX(sc, i, const char *);

            if (!at_scopes_satisfy(b->scopes, 0, s)) {
                return abort_tx(o, fail(o, APR_EACCES, "%s: %s would have "
                                        "scope %s, which the calling token "
                                        "does not hold", what, subject,
                                        Q(s)));
            }
        }
    }
    if (b->expires != AT_TIME_NONE
        && (rec->expires_at == AT_TIME_NONE
            || rec->expires_at > b->expires)) {
        return abort_tx(o, fail(o, APR_EACCES, "%s: %s would expire %s, "
                                "later than the calling token (%s)", what,
                                subject,
                                rec->expires_at == AT_TIME_NONE ? "never"
                                : time_text(o, rec->expires_at, "never"),
                                time_text(o, b->expires, "never")));
    }
    if (!at_nets_within(rec->allowed_nets, b->nets, o->pool)) {
        return abort_tx(o, fail(o, APR_EACCES, "%s: %s would work from %s, "
                                "beyond the calling token's networks (%s)",
                                what, subject,
                                rec->allowed_nets && *rec->allowed_nets
                                ? Q(rec->allowed_nets) : "any address",
                                b->nets));
    }
    if (!at_resources_covered(rec->resources, b->resources)) {
        return abort_tx(o, fail(o, APR_EACCES, "%s: %s would reach "
                                "resources %s, beyond the calling token's "
                                "(%s)", what, subject,
                                rec->resources && *rec->resources
                                ? Q(rec->resources) : "any resource",
                                b->resources));
    }
    return APR_SUCCESS;
}

/* Normalised resource patterns of raw text, or APR_EINVAL naming the bad
 * one. */
static apr_status_t resources_of(at_ops_t *o, const char **norm,
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

/* An existing token, named by its id in the message. */
static apr_status_t within_bound(at_ops_t *o, const at_token_rec_t *rec,
                                 const char *what)
{
    if (!o->bound) {
        return APR_SUCCESS;
    }
    return check_bound(o, rec, what,
                       apr_pstrcat(o->pool, "token ", rec->id, NULL));
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

/* Normalised set of raw words (NULL = empty). */
static apr_status_t scopes_of(at_ops_t *o, apr_array_header_t **out,
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
static apr_status_t name_race(at_ops_t *o, const char *what,
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

apr_status_t at_ops_create(at_token_rec_t **recp, char *token, at_ops_t *o,
                           const at_create_req_t *req)
{
    at_token_rec_t *rec, *dup = NULL;
    apr_array_header_t *scopes;
    at_token_t tok;
    char *digest;
    const char *err, *nets = "", *res = "";
    apr_status_t rv;

    token[0] = '\0';
    if ((err = at_check_owner(req->owner ? req->owner : "")) != NULL) {
        return fail(o, APR_EINVAL, "create: invalid owner %s: %s",
                    Q(req->owner), err);
    }
    if (o->owner && strcmp(o->owner, req->owner)) {
        return fail(o, APR_EINVAL, "create: owner %s may not be chosen here",
                    Q(req->owner));
    }
    if ((err = at_check_name(req->name ? req->name : "")) != NULL) {
        return fail(o, APR_EINVAL, "create: invalid name %s: %s",
                    Q(req->name), err);
    }
    if (req->description
        && (err = at_check_description(req->description)) != NULL) {
        return fail(o, APR_EINVAL, "create: invalid description %s: %s",
                    Q(req->description), err);
    }
    if ((rv = scopes_of(o, &scopes, req->scopes, "create")) != APR_SUCCESS
        || (rv = at_ops_check_features(o, scopes, "create"))
           != APR_SUCCESS) {
        return rv;
    }
    if (req->full_access && scopes->nelts > 0) {
        return fail(o, APR_EINVAL, "create: give scopes or full access, not "
                    "both");
    }
    if (!req->full_access && scopes->nelts == 0) {
        return fail(o, APR_EINVAL, "create: a restricted token needs at "
                    "least one scope (or full access)");
    }
    if (req->expires != AT_TIME_NONE && req->expires <= o->now) {
        return fail(o, APR_EINVAL, "create: expiry %s is in the past",
                    time_text(o, req->expires, "never"));
    }
    if (req->nets && (err = at_check_nets(&nets, req->nets, o->pool))
                     != NULL) {
        return fail(o, APR_EINVAL, "create: invalid allowed networks %s: %s",
                    Q(req->nets), err);
    }
    if (req->resources
        && (rv = resources_of(o, &res, "", req->resources, NULL, "create"))
           != APR_SUCCESS) {
        return rv;
    }

    if ((rv = begin(o)) != APR_SUCCESS) {
        return rv;
    }
    rv = at_store_find_by_name(&dup, o->store, req->owner, req->name,
                               o->pool);
    if (rv == APR_SUCCESS) {
        return abort_tx(o, fail(o, APR_EEXIST, "create: name %s already "
                                "exists for owner %s (token %s)",
                                Q(req->name), Q(req->owner), dup->id));
    }
    if (rv != APR_NOTFOUND) {
        return store_fail(o, rv, "create", NULL);
    }
    if (at_token_generate(&tok, token, o->prefix) != APR_SUCCESS) {
        return abort_tx(o, fail(o, APR_EGENERAL, "create: cannot generate a "
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
    rv = o->bound ? check_bound(o, rec, "create", "the new token")
                  : APR_SUCCESS;
    if (rv != APR_SUCCESS) {
        OPENSSL_cleanse(token, AT_TOKEN_MAX + 1);
        return rv;
    }
    if ((rv = at_store_insert(o->store, rec)) != APR_SUCCESS) {
        OPENSSL_cleanse(token, AT_TOKEN_MAX + 1);
        if (rv == APR_EEXIST) {
            return abort_tx(o, fail(o, APR_EEXIST, "create: name %s already "
                                    "exists for owner %s", Q(req->name),
                                    Q(req->owner)));
        }
        if (rv == APR_EGENERAL) {
            return name_race(o, "create", req->owner, req->name, NULL);
        }
        return store_fail(o, rv, "create", rec->id);
    }
    rv = finish(o, "create", rec->id, rec->owner,
                apr_psprintf(o->pool, "owner %s, name %s, %s, expires %s%s%s",
                             rec->owner, rec->name,
                             rec->full_access ? "full access"
                             : apr_pstrcat(o->pool, "scopes ", rec->scopes,
                                           NULL),
                             time_text(o, rec->expires_at, "never"),
                             *rec->resources ? ", resources " : "",
                             rec->resources));
    if (rv != APR_SUCCESS) {
        OPENSSL_cleanse(token, AT_TOKEN_MAX + 1);
        return rv;
    }
    *recp = rec;
    return APR_SUCCESS;
}

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
    if ((ch->set && (rv = scopes_of(o, &a->set, ch->set, "scope"))
                    != APR_SUCCESS)
        || (rv = scopes_of(o, &a->add, ch->add, "scope")) != APR_SUCCESS
        || (rv = scopes_of(o, &a->rm, ch->remove, "scope"))
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
        return abort_tx(o, fail(o, APR_EGENERAL, "scope: token %s has an "
                                "unreadable scope %s", rec->id, Q(bad)));
    }
    held = cur;
    if (a->set) {
        cur = a->set;
    }
    for (i = 0; i < a->rm->nelts; i++) {
        const char *r = APR_ARRAY_IDX(a->rm, i, const char *);

        if (!has_word(cur, r)) {
            return abort_tx(o, fail(o, APR_EBUSY, "scope: token %s has no "
                                    "scope %s", rec->id, Q(r)));
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
        return abort_tx(o, fail(o, APR_EINVAL, "scope: invalid scope %s",
                                Q(bad)));
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
            return abort_tx(o, rv);
        }
    }
    if (a->full == 1) {
        rec->full_access = 1;
    }
    else if (a->full == 0) {
        rec->full_access = 0;
    }
    if (!rec->full_access && cur->nelts == 0) {
        return abort_tx(o, fail(o, APR_EINVAL, "scope: a restricted token "
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
        return abort_tx(o, fail(o, APR_EEXIST, "rename: name %s already "
                                "exists for owner %s (token %s)", Q(name),
                                Q(rec->owner), other->id));
    }
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return store_fail(o, rv, "rename", rec->id);
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

    if ((rv = resources_of(o, &cur, base, e->add_resources, NULL, what))
        != APR_SUCCESS) {
        return abort_tx(o, rv);
    }
    if (e->remove_resources) {
        const char *left;

        if ((rv = resources_of(o, &del, "", e->remove_resources, NULL, what))
            != APR_SUCCESS) {
            return abort_tx(o, rv);
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
                return abort_tx(o, fail(o, APR_EBUSY, "%s: token %s has no "
                                        "resource %s", what, rec->id,
                                        Q(one)));
            }
        }
        if ((rv = resources_of(o, &left, cur, NULL, del, what))
            != APR_SUCCESS) {
            return abort_tx(o, rv);
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

    if ((rv = check_id(o, what, id)) != APR_SUCCESS) {
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
    if ((rv = open_token(o, &rec, what, id)) != APR_SUCCESS
        || (rv = within_bound(o, rec, what)) != APR_SUCCESS) {
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
    if ((rv = within_bound(o, rec, what)) != APR_SUCCESS) {
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
        return name_race(o, "rename", rec->owner, e->name, rec->id);
    }
    if (rv != APR_SUCCESS) {
        return store_fail(o, rv, what, id);
    }
    if ((name_detail
         && (rv = audit_event(o, "rename", id, rec->owner, name_detail))
            != APR_SUCCESS)
        || (scope_detail
            && (rv = audit_event(o, "scope", id, rec->owner, scope_detail))
               != APR_SUCCESS)
        || (expires_changed
            && (rv = audit_event(o, "expire", id, rec->owner,
                                 apr_pstrcat(o->pool, "expires ",
                                             time_text(o, rec->expires_at,
                                                       "never"), NULL)))
               != APR_SUCCESS)
        || (desc_changed
            && (rv = audit_event(o, "describe", id, rec->owner,
                                 *rec->description ? "description set"
                                 : "description cleared")) != APR_SUCCESS)
        || (nets_changed
            && (rv = audit_event(o, "networks", id, rec->owner,
                                 *nets ? apr_pstrcat(o->pool, "allowed "
                                                     "networks ", nets, NULL)
                                       : "any address")) != APR_SUCCESS)
        || (res_changed
            && (rv = audit_event(o, "resources", id, rec->owner,
                                 *rec->resources
                                 ? apr_pstrcat(o->pool, "resources ",
                                               rec->resources, NULL)
                                 : "any resource")) != APR_SUCCESS)
        || (rv = commit(o, id)) != APR_SUCCESS) {
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

    if ((rv = open_token(o, &rec, "revoke", id)) != APR_SUCCESS
        || (rv = within_bound(o, rec, "revoke")) != APR_SUCCESS) {
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
        return store_fail(o, rv, "revoke", id);
    }
    if ((rv = finish(o, "revoke", id, rec->owner,
                     reason && *reason ? apr_pstrcat(o->pool, "reason: ",
                                                     reason, NULL)
                                       : "")) == APR_SUCCESS) {
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
    if ((rv = open_token(o, &rec, "rotate", id)) != APR_SUCCESS
        || (rv = within_bound(o, rec, "rotate")) != APR_SUCCESS) {
        return rv;
    }
    if (rec->revoked_at != AT_TIME_NONE) {
        return abort_tx(o, fail(o, APR_EBUSY, "rotate: token %s is revoked",
                                id));
    }
    in_grace = rec->prev_digest && *rec->prev_digest
               && rec->prev_until != AT_TIME_NONE && rec->prev_until > o->now;
    if (in_grace && !force) {
        return abort_tx(o, fail(o, APR_EBUSY, "rotate: token %s is in the "
                                "grace period of its last rotation (the "
                                "previous secret works until %s); rotating "
                                "again ends that secret at once and needs "
                                "force", id,
                                time_text(o, rec->prev_until, "-")));
    }
    if (at_token_regenerate(&tok, token, o->prefix, id) != APR_SUCCESS) {
        return abort_tx(o, fail(o, APR_EGENERAL, "rotate: cannot generate a "
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
        return store_fail(o, rv, "rotate", id);
    }
    rv = finish(o, "rotate", id, rec->owner,
                apr_pstrcat(o->pool,
                            grace > 0 ? apr_psprintf(o->pool, "old secret "
                                                     "valid until %s",
                                                     time_text(o,
                                                         rec->prev_until,
                                                         "-"))
                                      : "old secret revoked at once",
                            in_grace ? "; the secret before it ended at once"
                                     : "", NULL));
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

    if ((rv = open_token(o, &rec, "delete", id)) != APR_SUCCESS
        || (rv = within_bound(o, rec, "delete")) != APR_SUCCESS) {
        return rv;
    }
    if ((rv = at_store_remove(o->store, id)) != APR_SUCCESS) {
        return store_fail(o, rv, "delete", id);
    }
    rv = finish(o, "delete", id, rec->owner,
                apr_psprintf(o->pool, "owner %s, name %s", rec->owner,
                             rec->name));
    if (rv == APR_SUCCESS) {
        *recp = rec;
    }
    return rv;
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

    if (token_id && (rv = check_id(o, "log", token_id)) != APR_SUCCESS) {
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
