/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The management API's HTTP and JSON input/output: headers, JSON answers
 * and errors, the anti-CSRF checks, the body and its fields, and the
 * setup shared by every operation. */

#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <openssl/crypto.h>

#include "at_token_json.h"
#include "apitoken_manage_internal.h"

APLOG_USE_MODULE(apitoken);

#define BODY_MAX        (64 * 1024)
#define CSRF_HEADER     "X-Requested-With"
#define CSRF_VALUE      "apitoken"
#define SOON_SECONDS    (7 * 86400)

/* ---------------------------------------------------------------------
 * Responses */

void manage_security_headers(request_rec *r)
{
    apr_table_t *h = r->err_headers_out;

    apr_table_setn(h, "Cache-Control", "no-store");
    apr_table_setn(h, "Pragma", "no-cache");
    apr_table_setn(h, "X-Content-Type-Options", "nosniff");
    apr_table_setn(h, "X-Frame-Options", "DENY");
    apr_table_setn(h, "Referrer-Policy", "no-referrer");
    apr_table_setn(h, "Content-Security-Policy",
                   "default-src 'none'; script-src 'self'; style-src 'self'; "
                   "img-src 'self'; connect-src 'self'; form-action 'self'; "
                   "base-uri 'none'; frame-ancestors 'none'");
    apr_table_setn(h, "Cross-Origin-Resource-Policy", "same-origin");
}

int manage_send_text(request_rec *r, int status, const char *ctype,
                     const char *body, apr_size_t len)
{
    r->status = status;
    ap_set_content_type(r, ctype);
    ap_set_content_length(r, len);
    if (!r->header_only) {
        ap_rwrite(body, (int)len, r);
    }
    return OK;
}

int manage_send_json(request_rec *r, int status, at_jbuf_t *b)
{
    apr_size_t len;
    const char *text;

    at_jbuf_raw(b, "\n");
    text = at_jbuf_text(b, &len);
    return manage_send_text(r, status, "application/json; charset=utf-8", text,
                            len);
}

int manage_fail(request_rec *r, int status, const char *code,
                const char *fmt, ...)
{
    at_jbuf_t b;
    va_list ap;
    char *msg;

    va_start(ap, fmt);
    msg = apr_pvsprintf(r->pool, fmt, ap);
    va_end(ap);
    at_jbuf_init(&b, r->pool);
    at_jbuf_raw(&b, "{\"error\": ");
    at_jbuf_str(&b, code);
    at_jbuf_raw(&b, ", \"message\": ");
    at_jbuf_str(&b, msg);
    at_jbuf_raw(&b, "}");
    manage_send_json(r, status, &b);
    /* Not OK: callers stop at the first answer that is not OK. */
    return DONE;
}

/* An at_ops failure as HTTP. */
int manage_ops_fail(mreq_t *m, apr_status_t rv, const at_ops_t *o)
{
    const char *msg = o->error ? o->error : "failed";

    switch (rv) {
    case APR_EINVAL:
        return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "%s", msg);
    case APR_ENOENT:
        return manage_fail(m->r, HTTP_UNPROCESSABLE_ENTITY, "unknown_feature",
                           "%s", msg);
    case APR_NOTFOUND:
        return manage_fail(m->r, HTTP_NOT_FOUND, "not_found", "%s", msg);
    case APR_EEXIST:
        return manage_fail(m->r, HTTP_CONFLICT, "name_exists", "%s", msg);
    case APR_EBUSY:
        return manage_fail(m->r, HTTP_CONFLICT, "conflict", "%s", msg);
    case APR_EACCES:
        return manage_fail(m->r, HTTP_FORBIDDEN, "insufficient_scope", "%s",
                           msg);
    default:
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, m->r, "APT06005: token "
                      "management: %s", msg);
        return manage_fail(m->r, HTTP_SERVICE_UNAVAILABLE,
                           "database_unavailable", "the token database is not "
                           "available; try again later");
    }
}

static const char *manage_status_of(const at_token_rec_t *t, at_time_t now)
{
    const char *st = at_token_rec_status(t, now);

    if (!strcmp(st, "active") && t->expires_at != AT_TIME_NONE
        && t->expires_at - now <= SOON_SECONDS) {
        return "expiring_soon";
    }
    return st;
}

void manage_json_token(at_jbuf_t *b, const at_token_rec_t *t, at_time_t now,
                       const char *secret)
{
    at_token_json(b, t, now, manage_status_of(t, now), secret, 0);
}

/* One token, with the secret when there is one: wiped from our buffers
 * once written. */
int manage_send_token(mreq_t *m, int status, const at_token_rec_t *t,
                      char *secret)
{
    at_jbuf_t b;
    int rc;

    at_jbuf_init(&b, m->r->pool);
    manage_json_token(&b, t, m->now, secret);
    rc = manage_send_json(m->r, status, &b);
    if (secret) {
        ap_rflush(m->r);
        OPENSSL_cleanse(b.a->elts, b.a->nalloc);
        OPENSSL_cleanse(secret, AT_TOKEN_MAX + 1);
    }
    return rc;
}

/* ---------------------------------------------------------------------
 * Request checks */

const char *manage_query_param(request_rec *r, const char *name,
                               int *bad)
{
    char *args, *pair, *last;

    if (!r->args) {
        return NULL;
    }
    args = apr_pstrdup(r->pool, r->args);
    for (pair = apr_strtok(args, "&", &last); pair;
         pair = apr_strtok(NULL, "&", &last)) {
        char *eq = strchr(pair, '=');

        if (!eq) {
            continue;
        }
        *eq = '\0';
        if (strcmp(pair, name)) {
            continue;
        }
        for (eq++, pair = eq; *pair; pair++) {
            if (*pair == '+') {
                *pair = ' ';
            }
        }
        if (ap_unescape_url(eq) != OK) {
            *bad = 1;
            return NULL;
        }
        return eq;
    }
    return NULL;
}

/* scheme://host[:port] as the client addressed us. */
static int origin_matches(request_rec *r, const char *origin)
{
    const char *host = apr_table_get(r->headers_in, "Host");
    const char *scheme = ap_run_http_scheme(r);
    const char *self;

    if (!host || !scheme) {
        return 0;
    }
    self = apr_pstrcat(r->pool, scheme, "://", host, NULL);
    if (!strcasecmp(origin, self)) {
        return 1;
    }
    /* A default port is left out of Origin but may be in Host. */
    if (!strcasecmp(scheme, "http")) {
        return !strcasecmp(apr_pstrcat(r->pool, origin, ":80", NULL), self);
    }
    return !strcasecmp(apr_pstrcat(r->pool, origin, ":443", NULL), self);
}

int manage_csrf_check(mreq_t *m)
{
    request_rec *r = m->r;
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *xrw = apr_table_get(r->headers_in, CSRF_HEADER);
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");

    if (!xrw || strcmp(xrw, CSRF_VALUE)) {
        return manage_fail(r, HTTP_FORBIDDEN, "csrf", "state changes need "
                           "the header " CSRF_HEADER ": " CSRF_VALUE);
    }
    if (origin && !origin_matches(r, origin)) {
        return manage_fail(r, HTTP_FORBIDDEN, "csrf", "cross-origin request "
                           "refused (Origin %s)",
                           at_ops_quote(origin, r->pool));
    }
    if (site && strcmp(site, "same-origin") && strcmp(site, "none")) {
        return manage_fail(r, HTTP_FORBIDDEN, "csrf", "cross-site request "
                           "refused");
    }
    return OK;
}

static int is_json_type(const char *ct)
{
    apr_size_t n = sizeof("application/json") - 1;

    if (!ct || strncasecmp(ct, "application/json", n)) {
        return 0;
    }
    ct += n;
    while (*ct == ' ' || *ct == '\t') {
        ct++;
    }
    return *ct == '\0' || *ct == ';';
}

/* Read and parse the JSON body (an object; empty = {}). */
int manage_read_body(mreq_t *m)
{
    request_rec *r = m->r;
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    char *buf = apr_palloc(r->pool, BODY_MAX + 1);
    apr_size_t len = 0;
    const char *err;
    long n;
    int rc;

    if (!is_json_type(apr_table_get(r->headers_in, "Content-Type"))) {
        return manage_fail(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                           "unsupported_media_type", "the request body must "
                           "be application/json");
    }
    if (cl && apr_atoi64(cl) > BODY_MAX) {
        /* Reading a huge body only to discard it is not worth it. */
        if (apr_atoi64(cl) > 16 * BODY_MAX) {
            r->connection->keepalive = AP_CONN_CLOSE;
        }
        return manage_fail(r, HTTP_REQUEST_ENTITY_TOO_LARGE, "too_large",
                           "the request body is larger than %d bytes",
                           BODY_MAX);
    }
    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return manage_fail(r, HTTP_BAD_REQUEST, "bad_request", "unreadable "
                           "body");
    }
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, buf + len, BODY_MAX + 1 - len))
               > 0) {
            len += (apr_size_t)n;
            if (len > BODY_MAX) {
                return manage_fail(r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                                   "too_large", "the request body is larger "
                                   "than %d bytes", BODY_MAX);
            }
        }
        if (n < 0) {
            return manage_fail(r, HTTP_BAD_REQUEST, "bad_request",
                               "unreadable body");
        }
    }
    if (len == 0) {
        buf = "{}";
        len = 2;
    }
    if (at_json_parse(&m->body, buf, len, 16, &err, r->pool)
        != APR_SUCCESS) {
        return manage_fail(r, HTTP_BAD_REQUEST, "bad_json", "the body is not "
                           "valid JSON: %s", err);
    }
    if (m->body->type != AT_JSON_OBJECT) {
        return manage_fail(r, HTTP_BAD_REQUEST, "bad_json", "the body must be "
                           "a JSON object");
    }
    return OK;
}

/* Every member of the body must be one of the names given. */
int manage_only_fields(mreq_t *m, const char *const *names)
{
    int i, j;

    for (i = 0; i < m->body->items->nelts; i++) {
        const at_json_t *v = APR_ARRAY_IDX(m->body->items, i, at_json_t *);
        int known = 0;

        for (j = 0; names[j]; j++) {
            known |= !strcmp(names[j], v->key);
        }
        if (!known) {
            return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "unknown "
                               "field %s", at_ops_quote(v->key, m->r->pool));
        }
    }
    return OK;
}

/* A string field: OK with *out set (NULL when absent or null), or an error
 * response. */
int manage_field_str(mreq_t *m, const char *key, const char **out)
{
    const at_json_t *v = at_json_get(m->body, key);

    *out = NULL;
    if (!v || v->type == AT_JSON_NULL) {
        return OK;
    }
    if (v->type != AT_JSON_STRING) {
        return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "field %s must "
                           "be a string", key);
    }
    *out = v->str;
    return OK;
}

int manage_field_bool(mreq_t *m, const char *key, int *out)
{
    const at_json_t *v = at_json_get(m->body, key);

    if (!v) {
        return OK;
    }
    if (v->type != AT_JSON_TRUE && v->type != AT_JSON_FALSE) {
        return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "field %s must "
                           "be true or false", key);
    }
    *out = v->type == AT_JSON_TRUE;
    return OK;
}

/* A list field: a JSON array of strings, or one string.  The words are
 * not split or judged here: the core reads them as the tool reads its
 * repeated options (each may hold a space, comma or tab separated list),
 * so there is one grammar, and the caller check runs on its result. */
int manage_field_words(mreq_t *m, const char *key, apr_array_header_t **out)
{
    const at_json_t *v = at_json_get(m->body, key);
    int i;

    *out = NULL;
    if (!v || v->type == AT_JSON_NULL) {
        return OK;
    }
    *out = apr_array_make(m->r->pool, 4, sizeof(const char *));
    if (v->type == AT_JSON_STRING) {
        APR_ARRAY_PUSH(*out, const char *) = v->str;
        return OK;
    }
    if (v->type != AT_JSON_ARRAY || v->items->nelts > 256) {
        return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "field %s must "
                           "be an array of at most 256 strings", key);
    }
    for (i = 0; i < v->items->nelts; i++) {
        const at_json_t *w = APR_ARRAY_IDX(v->items, i, at_json_t *);

        if (w->type != AT_JSON_STRING) {
            return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "field %s "
                               "must be an array of strings", key);
        }
        APR_ARRAY_PUSH(*out, const char *) = w->str;
    }
    return OK;
}

/* "expires": null/"never" = never, a date, or "+30d". */
int manage_field_expiry(mreq_t *m, at_time_t *out, int *given)
{
    const at_json_t *v = at_json_get(m->body, "expires");
    const char *err = NULL;

    *out = AT_TIME_NONE;
    *given = v != NULL;
    if (!v || v->type == AT_JSON_NULL) {
        return OK;
    }
    if (v->type != AT_JSON_STRING) {
        return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "field expires "
                           "must be a date string or null");
    }
    if (at_time_parse(out, v->str, m->now, &err) != APR_SUCCESS) {
        return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "invalid expiry "
                           "%s: %s", at_ops_quote(v->str, m->r->pool),
                           err ? err : "not a date");
    }
    return OK;
}

/* What a create without "expires" gets: ApiTokenManageDefaultExpiry,
 * never later than the maximum. */
at_time_t manage_default_expiry(const mreq_t *m)
{
    apr_int64_t d = m->conf->default_expiry, max = m->conf->max_expiry;

    if (max > 0 && (d <= 0 || d > max)) {
        d = max;
    }
    return d > 0 ? m->now + d : AT_TIME_NONE;
}

/* ApiTokenManageMaxExpiry: an expiry must come by the end of the UTC day
 * the maximum reaches, so "90 days" admits that day's date as well. */
int manage_check_expiry(mreq_t *m, at_time_t t)
{
    apr_int64_t max = m->conf->max_expiry;
    apr_int64_t days = (max + 86399) / 86400;
    at_time_t latest;

    if (max <= 0) {
        return OK;
    }
    latest = (m->now + max) / 86400 * 86400 + 86399;
    if (t == AT_TIME_NONE || t > latest) {
        return manage_fail(m->r, HTTP_BAD_REQUEST, "expiry_too_far",
                           "tokens here must expire within %"
                           APR_INT64_T_FMT " day%s (ApiTokenManageMaxExpiry)",
                           days, days == 1 ? "" : "s");
    }
    return OK;
}

void manage_ops_setup(mreq_t *m, at_ops_t *o)
{
    int i;

    at_ops_init(o, m->store, apr_pstrcat(m->r->pool, "web:", m->account,
                                         NULL), m->now, m->prefix,
                m->r->pool);
    o->owner = m->owner;
    if (m->tok) {
        /* A token caller acts within what it holds; the core checks every
         * token it creates, changes or rotates against this. */
        at_ops_bound_t *b = apr_pcalloc(m->r->pool, sizeof(*b));

        b->full_access = m->tok->rec->full_access;
        b->scopes = m->tok->granted;
        b->expires = m->tok->rec->expires_at;
        b->nets = m->tok->rec->allowed_nets;
        b->resources = m->tok->rec->resources;
        o->bound = b;
    }
    if (m->conf->features && m->conf->features->nelts > 0) {
        o->features = apr_hash_make(m->r->pool);
        for (i = 0; i < m->conf->features->nelts; i++) {
            apr_hash_set(o->features,
                         APR_ARRAY_IDX(m->conf->features, i, feature_t).name,
                         APR_HASH_KEY_STRING, "");
        }
    }
}

int manage_db_open(mreq_t *m)
{
    if (apitoken_db_acquire(&m->conn, &m->store, m->r) != APR_SUCCESS) {
        m->conn = NULL;
        return manage_fail(m->r, HTTP_SERVICE_UNAVAILABLE,
                           "database_unavailable", "the token database is not "
                           "available; try again later");
    }
    if (apitoken_db_prefix(&m->prefix, m->conn, m->r) != APR_SUCCESS) {
        apitoken_db_mark_bad(m->conn);
        m->conn = NULL;
        return manage_fail(m->r, HTTP_SERVICE_UNAVAILABLE,
                           "database_unavailable", "the token database is not "
                           "available; try again later");
    }
    return OK;
}

