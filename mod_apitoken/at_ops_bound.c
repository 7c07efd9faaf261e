/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The caller's bound: a token caller of the management API creates,
 * changes and reveals nothing beyond what it holds itself (scopes, expiry,
 * networks). */

#include <string.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include "at_nets.h"
#include "at_resource.h"
#include "at_ops.h"
#include "at_scope.h"

#include "at_ops_int.h"

const char *at_ops_time_text(at_ops_t *o, at_time_t t, const char *dflt)
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
apr_status_t at_ops_check_bound(at_ops_t *o, const at_token_rec_t *rec,
                                const char *what, const char *subject)
{
    const at_ops_bound_t *b = o->bound;
    apr_array_header_t *sc;
    const char *bad = NULL;
    int i;

    if (rec->full_access && !b->full_access) {
        return at_ops_abort_tx(o, fail(o, APR_EACCES,
                                       "%s: %s has full access, "
                                       "which the calling token does not hold",
                                       what, subject));
    }
    if (!b->full_access) {
        if (at_scopes_parse(&sc, rec->scopes ? rec->scopes : "", &bad,
                            o->pool) != APR_SUCCESS) {
            return at_ops_abort_tx(o, fail(o, APR_EACCES,
                                           "%s: %s has an "
                                           "unreadable scope %s",
                                           what, subject, Q(bad)));
        }
        for (i = 0; i < sc->nelts; i++) {
            const char *s = APR_ARRAY_IDX(sc, i, const char *);

            if (!at_scopes_satisfy(b->scopes, 0, s)) {
                return at_ops_abort_tx(o, fail(o, APR_EACCES,
                                               "%s: %s would have "
                                               "scope %s, which the calling "
                                               "token "
                                               "does not hold",
                                               what, subject, Q(s)));
            }
        }
    }
    if (b->expires != AT_TIME_NONE
        && (rec->expires_at == AT_TIME_NONE
            || rec->expires_at > b->expires)) {
        return at_ops_abort_tx(
            o, fail(o, APR_EACCES,
                    "%s: %s would expire %s, "
                    "later than the calling token (%s)",
                    what, subject,
                    rec->expires_at == AT_TIME_NONE
                        ? "never"
                        : at_ops_time_text(o, rec->expires_at, "never"),
                    at_ops_time_text(o, b->expires, "never")));
    }
    if (!at_nets_within(rec->allowed_nets, b->nets, o->pool)) {
        return at_ops_abort_tx(o, fail(o, APR_EACCES,
                                       "%s: %s would work from %s, "
                                       "beyond the calling token's networks "
                                       "(%s)",
                                       what, subject,
                                       rec->allowed_nets && *rec->allowed_nets
                                           ? Q(rec->allowed_nets)
                                           : "any address",
                                       b->nets));
    }
    if (!at_resources_covered(rec->resources, b->resources)) {
        return at_ops_abort_tx(o, fail(o, APR_EACCES,
                                       "%s: %s would reach "
                                       "resources %s, beyond the calling "
                                       "token's "
                                       "(%s)",
                                       what, subject,
                                       rec->resources && *rec->resources
                                           ? Q(rec->resources)
                                           : "any resource",
                                       b->resources));
    }
    return APR_SUCCESS;
}

/* An existing token, named by its id in the message. */
apr_status_t at_ops_within_bound(at_ops_t *o, const at_token_rec_t *rec,
                                 const char *what)
{
    if (!o->bound) {
        return APR_SUCCESS;
    }
    return at_ops_check_bound(o, rec, what,
                              apr_pstrcat(o->pool, "token ", rec->id, NULL));
}
