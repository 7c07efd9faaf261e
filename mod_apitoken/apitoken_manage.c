/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* "Manage API Tokens": a JSON API and a static page served by httpd for
 * the authenticated user's own tokens, on the operations the tool uses
 * (at_ops), so the rules and the audit events are the same.  This file
 * holds the handler: the page, the route table and the checks every API
 * request passes; apitoken_manage_internal.h lists the other files.
 *
 * Safe by default: state changes only by POST/PATCH/DELETE with a JSON
 * body, an anti-CSRF header and a same-origin Origin; no response is
 * cached; another owner's token is "not found"; a caller that signed in
 * with an API token needs the management scope and cannot mint more than
 * it holds; creates are rate-limited per account across processes. */

#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>

#include "at_scope.h"
#include "apitoken_manage.h"
#include "apitoken_manage_internal.h"

APLOG_USE_MODULE(apitoken);

#define ASSET_MAX       (1024 * 1024)

/* ---------------------------------------------------------------------
 * The page */

static int serve_asset(request_rec *r, const manage_conf_t *c)
{
    static const struct {
        const char *name;
        const char *type;
    } assets[] = {
        { "index.html", "text/html; charset=utf-8" },
        { "manage.css", "text/css; charset=utf-8" },
        { "manage.js", "text/javascript; charset=utf-8" },
    };
    const char *slash = strrchr(r->uri, '/');
    const char *base = slash ? slash + 1 : r->uri;
    const char *path;
    apr_finfo_t fi;
    apr_file_t *f;
    apr_size_t got;
    char *buf;
    unsigned int i;

    if (r->method_number != M_GET) {
        apr_table_setn(r->err_headers_out, "Allow", "GET, HEAD");
        return manage_fail(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                           "the page is read with GET");
    }
    if (*base && !strchr(base, '.') && r->parsed_uri.path) {
        /* The location itself without its slash ("/tokens"): the page's
         * relative links need the slash. */
        apr_table_setn(r->headers_out, "Location",
                       ap_construct_url(r->pool, apr_pstrcat(r->pool,
                                        r->parsed_uri.path, "/",
                                        r->args ? "?" : "", r->args, NULL),
                                        r));
        return HTTP_MOVED_PERMANENTLY;
    }
    if (!*base) {
        base = "index.html";
    }
    for (i = 0; i < sizeof(assets) / sizeof(assets[0]); i++) {
        if (!strcmp(base, assets[i].name)) {
            break;
        }
    }
    if (i == sizeof(assets) / sizeof(assets[0])) {
        return manage_fail(r, HTTP_NOT_FOUND, "not_found", "no such page");
    }
    path = apr_pstrcat(r->pool, c->assets ? c->assets : AT_MANAGE_ASSETS,
                       "/", assets[i].name, NULL);
    if (apr_stat(&fi, path, APR_FINFO_SIZE | APR_FINFO_TYPE, r->pool)
        != APR_SUCCESS || fi.filetype != APR_REG || fi.size > ASSET_MAX
        || apr_file_open(&f, path, APR_FOPEN_READ, 0, r->pool)
           != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "APT06006: cannot read "
                      "%s (ApiTokenManageAssets)", path);
        return manage_fail(r, HTTP_NOT_FOUND, "not_found",
                           "page not installed");
    }
    buf = apr_palloc(r->pool, (apr_size_t)fi.size + 1);
    if (apr_file_read_full(f, buf, (apr_size_t)fi.size, &got) != APR_SUCCESS
        && got != (apr_size_t)fi.size) {
        apr_file_close(f);
        return manage_fail(r, HTTP_INTERNAL_SERVER_ERROR, "internal",
                           "cannot read the page");
    }
    apr_file_close(f);
    return manage_send_text(r, HTTP_OK, assets[i].type, buf, got);
}

/* ---------------------------------------------------------------------
 * Routes */

#define ROUTE_DB      1         /* the connection is opened first */
#define ROUTE_CHANGE  2         /* a state change: CSRF checks, JSON body */

/* A route is a collection ("tokens") or one token ("tokens/:id", maybe
 * with an action) and one method; GET also answers HEAD.  A path's other
 * methods get 405 with an Allow of the methods listed for it. */
typedef struct route_t {
    const char *path;
    int method;
    int flags;
    int (*collection)(mreq_t *m);
    int (*member)(mreq_t *m, const char *id);
} route_t;

static const route_t routes[] = {
    { "features", M_GET, 0, manage_op_features, NULL },
    { "audit", M_GET, ROUTE_DB, manage_op_audit, NULL },
    { "tokens", M_GET, ROUTE_DB, manage_op_list, NULL },
    { "tokens", M_POST, ROUTE_CHANGE, manage_op_create, NULL },
    { "tokens/:id", M_PATCH, ROUTE_CHANGE, NULL, manage_op_patch },
    { "tokens/:id", M_DELETE, ROUTE_CHANGE, NULL, manage_op_delete },
    { "tokens/:id/revoke", M_POST, ROUTE_CHANGE, NULL, manage_op_revoke },
    { "tokens/:id/rotate", M_POST, ROUTE_CHANGE, NULL, manage_op_rotate },
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

static const route_t *route_find(const char *path, int method,
                                 const char **allow, apr_pool_t *p)
{
    const char *methods = NULL;
    unsigned int i;

    for (i = 0; i < N_ROUTES; i++) {
        if (strcmp(routes[i].path, path)) {
            continue;
        }
        if (routes[i].method == method) {
            return &routes[i];
        }
        methods = apr_pstrcat(p, methods ? methods : "",
                              methods ? ", " : "",
                              routes[i].method == M_GET ? "GET, HEAD"
                              : ap_method_name_of(p, routes[i].method),
                              NULL);
    }
    *allow = methods;
    return NULL;
}

static int dispatch(mreq_t *m, const char *route)
{
    request_rec *r = m->r;
    const char *path = route, *id = NULL, *allow = NULL;
    const route_t *rt;
    int rc;

    if (!strncmp(route, "tokens/", 7)) {
        /* One token: "tokens/:id" and what follows the id. */
        char *copy = apr_pstrdup(r->pool, route + 7);
        char *slash = strchr(copy, '/');

        if (slash) {
            *slash = '\0';
        }
        id = copy;
        path = apr_pstrcat(r->pool, "tokens/:id", slash ? "/" : "",
                           slash ? slash + 1 : "", NULL);
    }
    rt = route_find(path, r->method_number, &allow, r->pool);
    if (!rt && !allow) {
        return manage_fail(r, HTTP_NOT_FOUND, "not_found",
                           id ? "no such token" : "no such API");
    }
    if (id && !at_id_valid(id)) {
        return manage_fail(r, HTTP_NOT_FOUND, "not_found", "no such token");
    }
    if (!rt) {
        apr_table_setn(r->err_headers_out, "Allow", allow);
        return manage_fail(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                           "method %s is not allowed here", r->method);
    }
    if (((rt->flags & ROUTE_DB) && (rc = manage_db_open(m)) != OK)
        || ((rt->flags & ROUTE_CHANGE)
            && ((rc = manage_csrf_check(m)) != OK
                || (rc = manage_read_body(m)) != OK))) {
        return rc;
    }
    return rt->member ? rt->member(m, id) : rt->collection(m);
}

/* ---------------------------------------------------------------------
 * The handler */

static const manage_conf_t manage_default = {
    0, NULL, NULL, NULL, MANAGE_DEFAULT_LIMIT, MANAGE_DEFAULT_SCOPE,
    MANAGE_NO_EXPIRY, MANAGE_NO_EXPIRY
};

static int is_admin(const manage_conf_t *c, const char *user)
{
    int i;

    for (i = 0; c->admins && i < c->admins->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(c->admins, i, const char *), user)) {
            return 1;
        }
    }
    return 0;
}

/* The last "/api/" of the URI: routes work under any location. */
static const char *api_route(const char *uri)
{
    const char *hit = NULL, *p = uri;
    int n = 0;

    while ((p = strstr(p, "/api/")) != NULL && n++ < 64) {
        hit = p;
        p++;
    }
    return hit ? hit + 5 : NULL;
}

static int manage_handler(request_rec *r)
{
    apitoken_dir_conf_t *d;
    const manage_conf_t *c;
    const char *route, *want;
    apitoken_req_t *q;
    mreq_t m;
    int rc, bad = 0;

    if (!r->handler || strcmp(r->handler, APITOKEN_MANAGE_HANDLER)) {
        return DECLINED;
    }
    d = ap_get_module_config(r->per_dir_config, &apitoken_module);
    c = d && d->manage ? apitoken_manage_merge(r->pool,
                                               (void *)&manage_default,
                                               d->manage)
                       : &manage_default;
    manage_security_headers(r);
    if (c->enabled != 1) {
        /* SetHandler is also an .htaccess directive: there its author
         * would choose the authentication and so the account. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "APT06051: refused %s: "
                      "SetHandler apitoken-manage where the server "
                      "configuration does not set ApiTokenManage On",
                      r->uri);
        manage_fail(r, HTTP_FORBIDDEN, "not_enabled", "token management is "
                    "not enabled here");
        return OK;
    }
    if (!(route = api_route(r->uri))) {
        rc = serve_asset(r, c);
        return rc == DONE ? OK : rc;
    }

    memset(&m, 0, sizeof(m));
    m.r = r;
    m.conf = c;
    m.now = at_time_now();
    m.track_usage = d && d->track_usage;
    if (!r->user || !*r->user || at_check_owner(r->user)) {
        return manage_fail(r, HTTP_FORBIDDEN, "no_account", "no usable "
                           "authenticated user; protect this location with "
                           "httpd authentication");
    }
    m.account = r->user;
    m.admin = is_admin(c, r->user);
    q = apitoken_req_get(r);
    if (q && q->rec) {
        m.tok = q;
        if (!at_scopes_satisfy(q->granted, q->rec->full_access,
                               c->scope ? c->scope : MANAGE_DEFAULT_SCOPE)) {
            return manage_fail(r, HTTP_FORBIDDEN, "insufficient_scope",
                               "this token lacks the scope %s needed to "
                               "manage tokens",
                               c->scope ? c->scope : MANAGE_DEFAULT_SCOPE);
        }
    }
    want = manage_query_param(r, "owner", &bad);
    if (bad || (want && at_check_owner(want))) {
        return manage_fail(r, HTTP_BAD_REQUEST, "invalid", "invalid owner");
    }
    if (want && strcmp(want, m.account) && !m.admin) {
        return manage_fail(r, HTTP_FORBIDDEN, "forbidden", "only the accounts "
                           "in ApiTokenManageAdmins may manage another "
                           "owner's tokens");
    }
    m.owner = want ? want : m.account;
    rc = dispatch(&m, route);
    if (m.conn && r->status == HTTP_SERVICE_UNAVAILABLE) {
        /* A database error: closed when the request ends, not reused. */
        apitoken_db_mark_bad(m.conn);
    }
    return rc == DONE ? OK : rc;
}

void apitoken_manage_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(manage_limit_pre_config, NULL, NULL,
                       APR_HOOK_MIDDLE);
    ap_hook_post_config(manage_limit_post_config, NULL, NULL,
                        APR_HOOK_MIDDLE);
    ap_hook_child_init(manage_limit_child_init, NULL, NULL,
                       APR_HOOK_MIDDLE);
    ap_hook_handler(manage_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
