/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The "apitoken-scope" authz provider: Require apitoken-scope S ... grants
 * when the token holds any of the scopes.  The words are parsed once, at
 * configuration time, so a typo stops httpd with the file and line.
 * The "apitoken-resource" provider grants when the token is unrestricted
 * or one of its resource patterns matches the request's resource, which
 * ApiTokenResource gives. */

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <http_request.h>
#include <mod_auth.h>
#include <apr_strings.h>

#include "at_resource.h"
#include "at_scope.h"
#include "at_verify.h"
#include "apitoken_authz.h"
#include "apitoken_authn.h"
#include "apitoken_config.h"
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

static const char *resource_parse(cmd_parms *cmd, const char *line,
                                  const void **parsed)
{
    if (line && *line) {
        return "Require apitoken-resource takes no arguments (the "
               "location's ApiTokenResource gives the resource)";
    }
    return NULL;
}

/* The resource as an error_description may carry it: bounded, and
 * at_error_text (apitoken_refuse) turns quotes, backslashes, controls and
 * non-ASCII bytes into '?'. */
static const char *shown_resource(const char *v, apr_pool_t *p)
{
    const char *shown = v ? v : "";

    if (strlen(shown) > APITOKEN_DESC_RESOURCE_MAX) {
        shown = apr_pstrcat(p, apr_pstrmemdup(p, shown,
                                              APITOKEN_DESC_RESOURCE_MAX),
                            "...", NULL);
    }
    return at_error_text(shown, p);
}

static const char *resource_desc(const char *v, const char *why,
                                 apr_pool_t *p)
{
    const char *shown = shown_resource(v, p);

    if (why) {
        return apr_psprintf(p, "the request's resource '%s' is refused: %s",
                            shown, why);
    }
    return apr_psprintf(p, "the token does not give access to resource "
                        "'%s'", shown);
}

static authz_status resource_check(request_rec *r, const char *line,
                                   const void *parsed)
{
    const apitoken_dir_conf_t *conf =
        ap_get_module_config(r->per_dir_config, &apitoken_module);
    const char *v = NULL, *err = NULL, *why;
    apitoken_req_t *q;

    if (!r->user) {
        return AUTHZ_DENIED_NO_USER;
    }
    q = apitoken_req_get(r);
    if (!q) {
        /* Authenticated by something other than a token: no resources. */
        return AUTHZ_DENIED;
    }
    if (!conf || !conf->resource) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "APT03003: Require apitoken-resource without "
                      "ApiTokenResource here: refused");
    }
    else {
        v = ap_expr_str_exec(r, conf->resource, &err);
        if (err) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                          "APT03004: ApiTokenResource: %s", err);
            v = NULL;
        }
    }
    /* Empty or unusable resources are refused even to unrestricted
     * tokens: a location that cannot say what is asked grants nothing. */
    why = at_resource_value_check(v);
    if (!why && (!q->rec->resources || !*q->rec->resources
                 || at_resources_match(q->rec->resources, v))) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "APT03005: token %s granted resource %s", q->rec->id,
                      shown_resource(v, r->pool));
        return AUTHZ_GRANTED;
    }
    q->denied_resource = v ? v : "";
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "APT03006: insufficient_scope: token %s: resource '%s' %s",
                  q->rec->id, shown_resource(v, r->pool),
                  why ? why : "matches none of its patterns");
    apitoken_refuse(r, HTTP_FORBIDDEN, "insufficient_scope", NULL,
                    resource_desc(v, why, r->pool), 1);
    return AUTHZ_DENIED;
}

static const authz_provider resource_provider = {
    &resource_check,
    &resource_parse,
};

void apitoken_register_authz(apr_pool_t *p)
{
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "apitoken-scope",
                              AUTHZ_PROVIDER_VERSION, &scope_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "apitoken-resource",
                              AUTHZ_PROVIDER_VERSION, &resource_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}
