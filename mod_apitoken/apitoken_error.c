/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* How we refuse a request: the RFC 6750 challenge in WWW-Authenticate
 * (Proxy-Authenticate for a forward proxy), with error_description where
 * the client may know why. */

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "at_verify.h"
#include "mod_apitoken.h"

APLOG_USE_MODULE(apitoken);

/* A realm fit for a quoted-string: quotes and backslashes dropped. */
static const char *realm_of(request_rec *r)
{
    const char *name = ap_auth_name(r);
    char *out, *o;

    if (!name || !*name) {
        return "api";
    }
    out = o = apr_palloc(r->pool, strlen(name) + 1);
    for (; *name; ++name) {
        if (*name != '"' && *name != '\\' && !apr_iscntrl(*name)) {
            *o++ = *name;
        }
    }
    *o = '\0';
    return out;
}

static void challenge(request_rec *r, const char *error, const char *desc,
                      const char *scope)
{
    const char *v = apr_psprintf(r->pool, "Bearer realm=\"%s\"",
                                 realm_of(r));
    const char *hdr = (PROXYREQ_PROXY == r->proxyreq) ? "Proxy-Authenticate"
                                                      : "WWW-Authenticate";
    const apitoken_dir_conf_t *conf =
        ap_get_module_config(r->per_dir_config, &apitoken_module);

    if (error) {
        v = apr_psprintf(r->pool, "%s, error=\"%s\"", v, error);
    }
    if (error && desc) {
        v = apr_psprintf(r->pool, "%s, error_description=\"%s\"", v,
                         at_error_text(desc, r->pool));
    }
    if (scope) {
        v = apr_psprintf(r->pool, "%s, scope=\"%s\"", v, scope);
    }
    apr_table_setn(r->err_headers_out, hdr, v);
    /* Clients holding a user and password (git, curl -u) only answer a
     * Basic challenge, so offer it where Basic is accepted. */
    if (conf && conf->accept && conf->accept->basic) {
        apr_table_addn(r->err_headers_out, hdr,
                       apr_psprintf(r->pool, "Basic realm=\"%s\"",
                                    realm_of(r)));
    }
}

void apitoken_set_challenge(request_rec *r, const char *error,
                            const char *scope)
{
    challenge(r, error, NULL, scope);
}

void apitoken_refuse(request_rec *r, int status, const char *error,
                     const char *scope, const char *desc, int in_header)
{
    challenge(r, error, in_header ? desc : NULL, scope);
}
