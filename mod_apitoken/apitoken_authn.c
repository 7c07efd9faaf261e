/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* check_authn for AuthType apitoken: find the credential in the forms the
 * location accepts, parse it, look the id up, decide with at_verify_record
 * and hand the identity to the backend.  The token string is never logged:
 * only its 12-character id once it has parsed. */

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <apr_strings.h>
#include <apr_lib.h>
#include <apr_cstr.h>

#include "at_cred.h"
#include "at_scope.h"
#include "at_token.h"
#include "at_verify.h"
#include "apitoken_authn.h"
#include "apitoken_config.h"
#include "apitoken_error.h"
#include "apitoken_record.h"
#include "apitoken_status.h"

APLOG_USE_MODULE(apitoken);

int apitoken_is_ours(request_rec *r)
{
    const char *t = ap_auth_type(r);

    return t && !strcasecmp(t, APITOKEN_AUTH_TYPE);
}

/* What a successful authentication leaves on the request
 * (r->request_config). */
struct apitoken_req_t {
    const at_token_rec_t *rec;
    const apr_array_header_t *granted;  /* normalised scope strings */
    const char *denied_scopes;      /* required scopes a provider refused */
    const char *denied_resource;    /* resource apitoken-resource refused */
    const char *cred_header;        /* header that carried the credential */
    apr_array_header_t *used_scopes;    /* granted scopes a Require used */
    int authorised;                     /* authz let the request through */
    const request_rec *scrubbed;        /* headers_in scrubbed for this one */
};

apitoken_req_t *apitoken_req_get(request_rec *r)
{
    int n;

    for (n = 0; r && n < 32; ++n) {
        apitoken_req_t *q = ap_get_module_config(r->request_config,
                                                 &apitoken_module);
        if (q) {
            return q;
        }
        r = r->prev ? r->prev : r->main;
    }
    return NULL;
}

const at_token_rec_t *apitoken_req_record(const apitoken_req_t *q)
{
    return q->rec;
}

const apr_array_header_t *apitoken_req_granted(const apitoken_req_t *q)
{
    return q->granted;
}

const apr_array_header_t *apitoken_req_used_scopes(const apitoken_req_t *q)
{
    return q->used_scopes;
}

const char *apitoken_req_denied_scopes(const apitoken_req_t *q)
{
    return q->denied_scopes;
}

int apitoken_req_authorised(const apitoken_req_t *q)
{
    return q->authorised;
}

void apitoken_req_add_used_scope(apitoken_req_t *q, const char *scope,
                                 apr_pool_t *p)
{
    int i;

    if (!q->used_scopes) {
        q->used_scopes = apr_array_make(p, 2, sizeof(const char *));
    }
    for (i = 0; i < q->used_scopes->nelts; ++i) {
        if (!strcmp(APR_ARRAY_IDX(q->used_scopes, i, const char *), scope)) {
            return;
        }
    }
    APR_ARRAY_PUSH(q->used_scopes, const char *) = scope;
}

void apitoken_req_add_denied_scopes(apitoken_req_t *q, const char *scopes,
                                    apr_pool_t *p)
{
    q->denied_scopes = q->denied_scopes
        ? apr_pstrcat(p, q->denied_scopes, " ", scopes, NULL) : scopes;
}

void apitoken_req_set_denied_resource(apitoken_req_t *q,
                                      const char *resource)
{
    q->denied_resource = resource ? resource : "";
}

/* The identity in the environment of CGI, SSI, proxies' headers, ...
 * joined: the granted scopes already joined, or NULL. */
static void set_env(request_rec *r, const apitoken_req_t *q,
                    const char *joined)
{
    apr_table_setn(r->subprocess_env, "APITOKEN_ID", q->rec->id);
    apr_table_setn(r->subprocess_env, "APITOKEN_NAME", q->rec->name);
    apr_table_setn(r->subprocess_env, "APITOKEN_SCOPES",
                   q->rec->full_access ? "*"
                   : joined ? joined : at_scopes_join(q->granted, r->pool));
}

/* mod_authz_core calls this when a Require fails with 401. */
int apitoken_note_auth_failure(request_rec *r, const char *auth_type)
{
    apitoken_req_t *q;

    if (!auth_type || strcasecmp(auth_type, APITOKEN_AUTH_TYPE)) {
        return DECLINED;
    }
    q = apitoken_req_get(r);
    if (q && q->denied_scopes) {
        apitoken_refuse(r, HTTP_UNAUTHORIZED, "insufficient_scope",
                        q->denied_scopes, APITOKEN_DESC_SCOPE, 1);
    }
    else if (q) {
        /* A good token the Require lines refused for another reason. */
        apitoken_refuse(r, HTTP_UNAUTHORIZED, "insufficient_scope", NULL,
                        "the token does not give access to this resource",
                        1);
    }
    else {
        apitoken_refuse(r, HTTP_UNAUTHORIZED, NULL, NULL,
                        APITOKEN_DESC_NO_CREDENTIALS, 0);
    }
    return OK;
}

static int bad_request(request_rec *r, const char *why)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "APT02001: invalid_request: %s", why);
    apitoken_status_request(r, APITOKEN_ST_DENIED_INVALID_REQUEST);
    apitoken_refuse(r, HTTP_BAD_REQUEST, "invalid_request", NULL, why, 0);
    return HTTP_BAD_REQUEST;
}

/* rec: the record the presented secret was checked against, or NULL. */
static int invalid_token(request_rec *r, const at_token_rec_t *rec,
                         const char *id, at_reason_t why)
{
    const char *desc = rec ? at_reason_description(why, rec, r->useragent_ip,
                                                   r->pool)
                           : NULL;

    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                  "APT02002: invalid_token: token %s: %s",
                  id ? id : "(unparsable)", at_reason_str(why));
    apitoken_status_request(r, apitoken_status_denied(why));
    /* Only a client that has shown the secret learns why (desc set). */
    apitoken_refuse(r, HTTP_UNAUTHORIZED, "invalid_token", NULL,
                    desc ? desc : APITOKEN_DESC_INVALID_TOKEN, desc != NULL);
    return HTTP_UNAUTHORIZED;
}

typedef struct count_t {
    int n;
    const char *first;
} count_t;

static int count_cb(void *baton, const char *key, const char *val)
{
    count_t *c = baton;

    if (!c->n++) {
        c->first = val;
    }
    return 1;
}

/* Does key, upper-cased with '-' read as '_' (what CGI does), equal want,
 * or start with it when prefix is set?  No copy: this runs on every
 * header of every request. */
static int cgi_name_is(const char *key, const char *want, int prefix)
{
    for (; *want; ++key, ++want) {
        char c = (*key == '-') ? '_' : (char)apr_toupper(*key);

        if (c != *want) {
            return 0;          /* also at the end of key: '\0' != *want */
        }
    }
    return prefix || !*key;
}

/* The header names a backend or CGI could mistake for our identity:
 * REMOTE_USER, X_REMOTE_USER, AUTH_USER, X_AUTH_USER, and anything
 * starting APITOKEN_ or X_APITOKEN_ (in CGI's spelling). */
static int is_spoof_name(const char *key)
{
    switch (apr_toupper(*key)) {
    case 'R':
        return cgi_name_is(key, "REMOTE_USER", 0);
    case 'A':
        return cgi_name_is(key, "AUTH_USER", 0)
               || cgi_name_is(key, "APITOKEN_", 1);
    case 'X':
        return cgi_name_is(key, "X_REMOTE_USER", 0)
               || cgi_name_is(key, "X_AUTH_USER", 0)
               || cgi_name_is(key, "X_APITOKEN_", 1);
    default:
        return 0;
    }
}

/* Drop the identity headers a client sent; after the walk, as unsetting
 * moves the table's entries. */
static void drop_headers(request_rec *r, const apr_array_header_t *names)
{
    int i;

    for (i = 0; names && i < names->nelts; ++i) {
        const char *name = APR_ARRAY_IDX(names, i, const char *);
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "APT02003: dropped inbound identity header %s", name);
        apr_table_unset(r->headers_in, name);
    }
}

static void drop_spoofed(request_rec *r)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    apr_array_header_t *names = NULL;
    int i;

    for (i = 0; i < arr->nelts; ++i) {
        if (e[i].key && is_spoof_name(e[i].key)) {
            if (!names) {
                names = apr_array_make(r->pool, 2, sizeof(char *));
            }
            APR_ARRAY_PUSH(names, const char *) = e[i].key;
        }
    }
    drop_headers(r, names);
}

/* Fixups run after a successful authz, just before the handler: drop
 * identity headers a client sent, whether or not authn ran here. */
int apitoken_fixups(request_rec *r)
{
    apitoken_req_t *q;

    if (!apitoken_is_ours(r)) {
        return DECLINED;
    }
    q = apitoken_req_get(r);
    if (!q || q->scrubbed != r) {
        /* Not scrubbed by our check_authn of this very request (another
         * provider authenticated it, or it is a subrequest). */
        drop_spoofed(r);
    }
    /* Authz let the request through: an error from here on is not ours. */
    apitoken_refusal_clear(r);
    if (q && r->user && !q->authorised) {
        /* Fixups run only once authz has let the request through. */
        q->authorised = 1;
        apitoken_status_request(r, APITOKEN_ST_GRANTED);
    }
    if (q && (q->denied_scopes || q->denied_resource)) {
        /* Another Require granted after ours refused: no stale challenge. */
        apr_table_unset(r->err_headers_out, "WWW-Authenticate");
    }
    if (q && r->user && !apr_table_get(r->subprocess_env, "APITOKEN_ID")) {
        /* An internal redirect renamed them REDIRECT_APITOKEN_*. */
        set_env(r, q, NULL);
    }
    return DECLINED;
}

static const char *accepted_forms(const apitoken_accept_t *acc,
                                  apr_pool_t *p)
{
    const char *s = "";
    const char *const *w;

    if (acc->bearer) {
        s = "bearer";
    }
    if (acc->basic) {
        s = apr_pstrcat(p, s, *s ? " " : "", "basic", NULL);
    }
    for (w = acc->scheme_words; w && *w; ++w) {
        s = apr_pstrcat(p, s, *s ? " " : "", "scheme:", *w, NULL);
    }
    for (w = acc->header_names; w && *w; ++w) {
        s = apr_pstrcat(p, s, *s ? " " : "", "header:", *w, NULL);
    }
    return s;
}

static const char *basic_users(const apitoken_basic_user_t *bu,
                               apr_pool_t *p)
{
    const char *s = "owner";
    const char *const *w;

    if (bu && bu->any) {
        return "any";
    }
    for (w = bu ? bu->names : NULL; w && *w; ++w) {
        s = apr_pstrcat(p, s, " ", *w, NULL);
    }
    return s;
}

/* The user name the token's owner must match, or NULL when the location
 * lets this Basic user name go with any token (ApiTokenBasicUser).  The
 * cPanel form always names the owner. */
static const char *user_to_check(const at_cred_t *cred,
                                 const apitoken_basic_user_t *bu)
{
    const char *const *w;

    if (cred->form != AT_FORM_BASIC || !bu) {
        return cred->user;
    }
    if (bu->any) {
        return NULL;
    }
    for (w = bu->names; w && *w; ++w) {
        if (!apr_cstr_casecmp(cred->user, *w)) {
            return NULL;
        }
    }
    return cred->user;
}

/* The credential-carrying headers of a request and the identity headers
 * it may not carry, found in one walk over headers_in. */
typedef struct header_scan_t {
    count_t auth;                  /* Authorization */
    count_t *named;                /* one per acc->header_names */
    apr_array_header_t *spoofed;   /* names to drop */
} header_scan_t;

static void scan_headers(header_scan_t *hs, request_rec *r,
                         const apitoken_accept_t *acc)
{
    const apr_array_header_t *arr = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)arr->elts;
    int i, k, nnamed = 0;

    memset(hs, 0, sizeof(*hs));
    while (acc->header_names && acc->header_names[nnamed]) {
        ++nnamed;
    }
    if (nnamed) {
        hs->named = apr_pcalloc(r->pool, nnamed * sizeof(count_t));
    }
    for (i = 0; i < arr->nelts; ++i) {
        const char *key = e[i].key;

        if (!key) {
            continue;
        }
        if (is_spoof_name(key)) {
            /* Dropped, and so never read as a credential either. */
            if (!hs->spoofed) {
                hs->spoofed = apr_array_make(r->pool, 2, sizeof(char *));
            }
            APR_ARRAY_PUSH(hs->spoofed, const char *) = key;
            continue;
        }
        if (!strcasecmp(key, "Authorization")) {
            count_cb(&hs->auth, key, e[i].val);
        }
        for (k = 0; k < nnamed; ++k) {
            if (!strcasecmp(key, acc->header_names[k])) {
                count_cb(&hs->named[k], key, e[i].val);
            }
        }
    }
}

/* Find the one credential of this request in the forms acc allows, and
 * drop the spoofed identity headers on the way.  OK with *cred and
 * *header set; DECLINED when there is none; HTTP_BAD_REQUEST (challenge
 * set) when it is malformed or ambiguous. */
static int find_credential(at_cred_t *cred, const char **header,
                           request_rec *r, const apitoken_accept_t *acc)
{
    const char *cred_header = NULL;
    const char *why = NULL;
    header_scan_t hs;
    at_cred_t c;
    int k;

    memset(cred, 0, sizeof(*cred));
    scan_headers(&hs, r, acc);
    drop_headers(r, hs.spoofed);

    /* httpd folds repeated headers into one "a, b" value; count both ways
     * so two Authorization headers are refused, never half-read. */
    if (hs.auth.n > 1) {
        return bad_request(r, "more than one Authorization header");
    }
    if (hs.auth.n == 1 && (acc->bearer || acc->basic || acc->scheme_words)) {
        switch (at_cred_parse_authorization(&c, hs.auth.first, acc->bearer,
                                            acc->basic, acc->scheme_words,
                                            &why, r->pool)) {
        case AT_CRED_MALFORMED:
            return bad_request(r, apr_psprintf(r->pool, "Authorization: %s",
                                               why ? why : "malformed"));
        case AT_CRED_FOUND:
            *cred = c;
            cred_header = "Authorization";
            break;
        default:
            break;
        }
    }
    for (k = 0; hs.named && acc->header_names[k]; ++k) {
        const char *h = acc->header_names[k];

        if (hs.named[k].n == 0) {
            continue;
        }
        if (hs.named[k].n > 1) {
            return bad_request(r, apr_psprintf(r->pool, "more than one %s "
                                               "header", h));
        }
        switch (at_cred_parse_bare(&c, hs.named[k].first, &why, r->pool)) {
        case AT_CRED_MALFORMED:
            return bad_request(r, apr_psprintf(r->pool, "%s: %s", h,
                                               why ? why : "malformed"));
        case AT_CRED_FOUND:
            if (cred_header) {
                return bad_request(r, apr_psprintf(r->pool, "credentials in "
                                                   "both %s and %s",
                                                   cred_header, h));
            }
            *cred = c;
            cred->form = AT_FORM_HEADER;
            cred_header = h;
            break;
        default:
            break;
        }
    }
    *header = cred_header;
    return cred_header ? OK : DECLINED;
}

/* 503: the store cannot answer (already logged). */
static int unavailable(request_rec *r)
{
    apitoken_status_request(r, APITOKEN_ST_DB_UNAVAILABLE);
    return HTTP_SERVICE_UNAVAILABLE;
}

/* The request's identity, for authz, the usage log and the backend. */
static void set_identity(request_rec *r, const apitoken_entry_t *ent,
                         const apr_array_header_t *granted,
                         const char *cred_header)
{
    apitoken_req_t *q = apr_pcalloc(r->pool, sizeof(*q));

    q->rec = ent->rec;
    q->granted = granted;
    q->cred_header = cred_header;
    q->scrubbed = r;
    ap_set_module_config(r->request_config, &apitoken_module, q);
    r->user = apr_pstrdup(r->pool, ent->rec->owner);
    set_env(r, q, ent->joined);
}

/* A straight walk: the credential, the token, the record for its id, the
 * decision on that record, the identity. */
int apitoken_check_authn(request_rec *r)
{
    const apitoken_dir_conf_t *conf;
    const apitoken_accept_t *acc;
    const apr_array_header_t *granted;
    const at_token_rec_t *rec;
    const char *cred_header = NULL;
    const char *bad;
    char id[AT_ID_LEN + 1];
    apitoken_entry_t ent;
    at_token_status_t ts;
    at_reason_t reason;
    at_cred_t cred;
    at_token_t tok;

    if (!apitoken_is_ours(r)) {
        return DECLINED;
    }
    conf = ap_get_module_config(r->per_dir_config, &apitoken_module);
    acc = conf->accept ? conf->accept : apitoken_accept_default();
    r->ap_auth_type = (char *)APITOKEN_AUTH_TYPE;
    if (APLOGrtrace1(r)) {
        /* Guarded: the arguments cost string building on every request. */
        ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r,
                      "APT02007: settings: accept=%s cache_ttl=%d "
                      "track_usage=%s strip_credentials=%s basic_user=%s",
                      accepted_forms(acc, r->pool), conf->cache_ttl,
                      conf->track_usage ? "on" : "off",
                      conf->strip ? "on" : "off",
                      basic_users(conf->basic_user, r->pool));
    }
    if (find_credential(&cred, &cred_header, r, acc) == HTTP_BAD_REQUEST) {
        return HTTP_BAD_REQUEST;
    }
    if (!cred_header) {
        if (APLOGrdebug(r)) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                          "APT02004: no credentials in an accepted form "
                          "(%s)", accepted_forms(acc, r->pool));
        }
        apitoken_status_request(r, APITOKEN_ST_DENIED_NO_CREDENTIALS);
        apitoken_refuse(r, HTTP_UNAUTHORIZED, NULL, NULL,
                        APITOKEN_DESC_NO_CREDENTIALS, 0);
        return HTTP_UNAUTHORIZED;
    }

    ts = at_token_parse(&tok, cred.token, cred.token_len, NULL);
    if (ts != AT_TOKEN_OK) {
        return invalid_token(r, NULL, NULL, at_reason_from_parse(ts));
    }
    /* The id is public; the secret is wiped as soon as it has been used. */
    memcpy(id, tok.id, sizeof(id));

    switch (apitoken_record_find(&ent, &tok, conf->cache_ttl, r)) {
    case APITOKEN_RECORD_FOUND:
        break;
    case APITOKEN_RECORD_UNKNOWN:
        at_token_wipe(&tok);
        return invalid_token(r, NULL, id, AT_REASON_UNKNOWN_ID);
    case APITOKEN_RECORD_WRONG_PREFIX:
        at_token_wipe(&tok);
        return invalid_token(r, NULL, id, AT_REASON_WRONG_PREFIX);
    default:
        at_token_wipe(&tok);
        return unavailable(r);
    }
    rec = ent.rec;
    reason = at_verify_prepared(rec, ent.prep, &tok,
                                apr_time_sec(r->request_time),
                                r->useragent_ip,
                                user_to_check(&cred, conf->basic_user),
                                r->pool);
    at_token_wipe(&tok);
    if (reason != AT_REASON_OK) {
        return invalid_token(r, rec, rec->id, reason);
    }

    granted = ent.granted;
    if (!granted
        && at_scopes_parse((apr_array_header_t **)&granted,
                           rec->scopes ? rec->scopes : "", &bad,
                           r->pool) != APR_SUCCESS) {
        /* The tool validates scopes; a bad one means a hand-edited row. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "APT02005: token %s has an invalid stored scope '%s'",
                      rec->id, bad ? bad : "?");
        return invalid_token(r, rec, rec->id, AT_REASON_MALFORMED);
    }
    set_identity(r, &ent, granted, cred_header);
    if (conf->strip) {
        apr_table_unset(r->headers_in, cred_header);
    }
    if (APLOGrdebug(r)) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r,
                      "APT02006: token %s of %s accepted (%s)", rec->id,
                      rec->owner, cred_header);
    }
    return OK;
}
