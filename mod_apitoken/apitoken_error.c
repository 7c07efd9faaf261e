/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* How we refuse a request: the RFC 6750 challenge in WWW-Authenticate
 * (Proxy-Authenticate for a forward proxy), with error_description where
 * the client may know why, and for clients that ask for JSON the error as
 * a JSON body instead of httpd's page.
 *
 * The body is httpd's own machinery: a refusal is noted on the request
 * (status, error, description, scope); when httpd builds the error
 * response (insert_error_filter) and the status is the one we noted, a
 * JSON text becomes the request's custom response (ap_custom_response) and
 * a filter gives it its content type.  Other errors of the same request
 * (a 503 of ours, a handler's 403 after authz granted, other modules'
 * refusals) carry no note, or a note for another status, and get httpd's
 * page as before. */

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_core.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "at_accept.h"
#include "at_json.h"
#include "at_verify.h"
#include "apitoken_error.h"
#include "apitoken_config.h"

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

#define NOTE_STATUS "apitoken-refusal-status"
#define NOTE_ERROR  "apitoken-refusal-error"
#define NOTE_DESC   "apitoken-refusal-description"
#define NOTE_SCOPE  "apitoken-refusal-scope"

void apitoken_refuse(request_rec *r, int status, const char *error,
                     const char *scope, const char *desc, int in_header)
{
    challenge(r, error, in_header ? desc : NULL, scope);
    /* Noted on this request_rec only: a subrequest's refusal is not the
     * answer of its main request. */
    apr_table_setn(r->notes, NOTE_STATUS, apr_itoa(r->pool, status));
    if (error) {
        apr_table_setn(r->notes, NOTE_ERROR, error);
    }
    else {
        apr_table_unset(r->notes, NOTE_ERROR);
    }
    apr_table_setn(r->notes, NOTE_DESC, desc);
    if (scope) {
        apr_table_setn(r->notes, NOTE_SCOPE, scope);
    }
    else {
        apr_table_unset(r->notes, NOTE_SCOPE);
    }
}

void apitoken_refusal_clear(request_rec *r)
{
    apr_table_unset(r->notes, NOTE_STATUS);
}

/* {"error": ..., "error_description": ...[, "scope": ...]}; error null
 * for the bare challenge (RFC 6750 3.1: no error code then). */
static const char *json_body(request_rec *r)
{
    at_jbuf_t b;

    at_jbuf_init(&b, r->pool);
    at_jbuf_raw(&b, "{\"error\": ");
    at_jbuf_str(&b, apr_table_get(r->notes, NOTE_ERROR));
    at_jbuf_raw(&b, ", \"error_description\": ");
    at_jbuf_str(&b, at_error_text(apr_table_get(r->notes, NOTE_DESC),
                                  r->pool));
    if (apr_table_get(r->notes, NOTE_SCOPE)) {
        at_jbuf_raw(&b, ", \"scope\": ");
        at_jbuf_str(&b, apr_table_get(r->notes, NOTE_SCOPE));
    }
    at_jbuf_raw(&b, "}\n");
    return at_jbuf_text(&b, NULL);
}

static ap_filter_rec_t *json_filter;

/* The custom response is sent as text/html; say what it is.  Also on
 * HEAD, where only the end of the (empty) body passes. */
static apr_status_t json_error_filter(ap_filter_t *f,
                                      apr_bucket_brigade *bb)
{
    ap_set_content_type(f->r, "application/json");
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

static void insert_error_filter(request_rec *r)
{
    const char *st = apr_table_get(r->notes, NOTE_STATUS);

    if (!st || atoi(st) != r->status) {
        return;                      /* not our refusal */
    }
    /* The body depends on Accept: tell caches, whichever we send. */
    apr_table_mergen(r->err_headers_out, "Vary", "Accept");
    if (!at_accept_wants_json(apr_table_get(r->headers_in, "Accept"))) {
        return;
    }
    if (ap_response_code_string(r, ap_index_of_response(r->status))) {
        return;                      /* the administrator's ErrorDocument */
    }
    ap_custom_response(r, r->status, json_body(r));
    ap_add_output_filter_handle(json_filter, NULL, r, r->connection);
}

void apitoken_error_register_hooks(apr_pool_t *p)
{
    json_filter = ap_register_output_filter("APITOKEN_JSON_ERROR",
                                            json_error_filter, NULL,
                                            AP_FTYPE_CONTENT_SET);
    ap_hook_insert_error_filter(insert_error_filter, NULL, NULL,
                                APR_HOOK_MIDDLE);
}
