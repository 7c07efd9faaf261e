/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The "apitoken-scope" authz provider: Require apitoken-scope S ... grants
 * when the token holds any of the scopes.  The words are parsed once, at
 * configuration time, so a typo stops httpd with the file and line. */

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_request.h>
#include <mod_auth.h>
#include <apr_strings.h>

#include "at_scope.h"
#include "apitoken_authz.h"
#include "apitoken_authn.h"
#include "apitoken_error.h"
#include "apitoken_status.h"

APLOG_USE_MODULE(apitoken);

static const char *scope_parse(cmd_parms *cmd, const char *line,
                               const void **parsed)
{
    apr_array_header_t *scopes;
    const char *bad = NULL;

    if (at_scopes_parse(&scopes, line, &bad, cmd->pool) != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "Require apitoken-scope: invalid "
                            "scope '%s' (expected feature or feature:level, "
                            "each [a-z0-9_-])", bad ? bad : line);
    }
    if (scopes->nelts == 0) {
        return "Require apitoken-scope needs at least one scope";
    }
    *parsed = scopes;
    return NULL;
}

/* Remember which granted scope served the required one, for the scope
 * usage records (apitoken_usage.c); Full Access records the required one.
 * An exact grant wins over a broader one. */
static void note_used(apitoken_req_t *q, const char *need, apr_pool_t *p)
{
    const char *used = q->rec->full_access ? need : NULL;
    int i;

    for (i = 0; !used && i < q->granted->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(q->granted, i, const char *), need)) {
            used = need;
        }
    }
    for (i = 0; !used && i < q->granted->nelts; ++i) {
        const char *g = APR_ARRAY_IDX(q->granted, i, const char *);
        if (at_scope_satisfies(g, need)) {
            used = g;
        }
    }
    if (!used) {
        return;
    }
    if (!q->used_scopes) {
        q->used_scopes = apr_array_make(p, 2, sizeof(const char *));
    }
    for (i = 0; i < q->used_scopes->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(q->used_scopes, i, const char *), used)) {
            return;
        }
    }
    APR_ARRAY_PUSH(q->used_scopes, const char *) = used;
}

static authz_status scope_check(request_rec *r, const char *line,
                                const void *parsed)
{
    const apr_array_header_t *need = parsed;
    apitoken_req_t *q;
    int i;

    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    q = apitoken_req_get(r);
    if (!q || !need) {
        /* Authenticated by something other than a token: no scopes. */
        return AUTHZ_DENIED;
    }
    for (i = 0; i < need->nelts; ++i) {
        if (at_scopes_satisfy(q->granted, q->rec->full_access,
                              APR_ARRAY_IDX(need, i, const char *))) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "APT03001: token %s granted scope %s", q->rec->id,
                          APR_ARRAY_IDX(need, i, const char *));
            note_used(q, APR_ARRAY_IDX(need, i, const char *), r->pool);
            return AUTHZ_GRANTED;
        }
    }
    {
        const char *req = at_scopes_join(need, r->pool);
        q->denied_scopes = q->denied_scopes
            ? apr_pstrcat(r->pool, q->denied_scopes, " ", req, NULL)
            : req;
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "APT03002: insufficient_scope: token %s lacks %s",
                      q->rec->id, req);
        /* Set now: mod_authz_core sends 403 without asking us; the fixups
         * hook removes it if another Require line grants after all. */
        apitoken_refuse(r, HTTP_FORBIDDEN, "insufficient_scope",
                        q->denied_scopes, APITOKEN_DESC_SCOPE, 1);
    }
    return AUTHZ_DENIED;
}

static const authz_provider scope_provider = {
    &scope_check,
    &scope_parse,
};

void apitoken_register_authz(apr_pool_t *p)
{
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "apitoken-scope",
                              AUTHZ_PROVIDER_VERSION, &scope_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}
