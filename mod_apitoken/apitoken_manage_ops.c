/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The management API's endpoints, one function each, on the operations of
 * the core (at_ops) that the tool uses too. */

#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <http_protocol.h>
#include <apr_strings.h>
#include <openssl/crypto.h>

#include "at_token_json.h"
#include "apitoken_manage_internal.h"

int manage_op_list(mreq_t *m)
{
    apr_array_header_t *recs;
    at_jbuf_t b;
    at_ops_t o;
    apr_status_t rv;
    int i;

    manage_ops_setup(m, &o);
    if ((rv = at_ops_list(&recs, &o, m->owner)) != APR_SUCCESS) {
        return manage_ops_fail(m, rv, &o);
    }
    at_jbuf_init(&b, m->r->pool);
    at_jbuf_raw(&b, "{\"owner\": ");
    at_jbuf_str(&b, m->owner);
    at_jbuf_raw(&b, ", \"tokens\": [");
    for (i = 0; i < recs->nelts; i++) {
        at_jbuf_raw(&b, i ? ",\n " : "");
        manage_json_token(&b, APR_ARRAY_IDX(recs, i, at_token_rec_t *), m->now,
                          NULL);
    }
    at_jbuf_raw(&b, "]}");
    return manage_send_json(m->r, HTTP_OK, &b);
}

int manage_op_create(mreq_t *m)
{
    static const char *const fields[] = { "name", "description",
        "full_access", "scopes", "expires", "allowed_networks", "resources",
        NULL };
    apr_array_header_t *scopes, *nets, *res;
    char secret[AT_TOKEN_MAX + 1];
    at_create_req_t req;
    at_token_rec_t *rec;
    at_ops_t o;
    apr_status_t rv;
    int rc, given, wait, full = 0;

    memset(&req, 0, sizeof(req));
    if ((rc = manage_only_fields(m, fields)) != OK
        || (rc = manage_field_str(m, "name", &req.name)) != OK
        || (rc = manage_field_str(m, "description", &req.description)) != OK
        || (rc = manage_field_bool(m, "full_access", &full)) != OK
        || (rc = manage_field_words(m, "scopes", &scopes)) != OK
        || (rc = manage_field_words(m, "allowed_networks", &nets)) != OK
        || (rc = manage_field_words(m, "resources", &res)) != OK
        || (rc = manage_field_expiry(m, &req.expires, &given)) != OK) {
        return rc;
    }
    if (!given) {
        req.expires = manage_default_expiry(m);
        /* A token caller's new token still lives no longer than it. */
        if (m->tok && m->tok->rec->expires_at != AT_TIME_NONE
            && (req.expires == AT_TIME_NONE
                || req.expires > m->tok->rec->expires_at)) {
            req.expires = m->tok->rec->expires_at;
        }
    }
    if ((rc = manage_check_expiry(m, req.expires)) != OK) {
        return rc;
    }
    if (!req.name) {
        return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "field name is "
                           "required");
    }
    if (req.description && !*req.description) {
        req.description = NULL;
    }
    if ((wait = manage_limit_take(m->r, m->account, m->conf->limit)) > 0) {
        apr_table_setn(m->r->err_headers_out, "Retry-After",
                       apr_itoa(m->r->pool, wait));
        return manage_fail(m->r, HTTP_TOO_MANY_REQUESTS, "rate_limited",
                           "too many tokens created; try again in %d seconds",
                           wait);
    }
    req.owner = m->owner;
    req.scopes = scopes;
    req.full_access = full;
    req.nets = nets ? apr_array_pstrcat(m->r->pool, nets, ' ') : NULL;
    req.resources = res && res->nelts
                    ? apr_array_pstrcat(m->r->pool, res, ' ') : NULL;
    if ((rc = manage_db_open(m)) != OK) {
        return rc;
    }
    manage_ops_setup(m, &o);
    rv = at_ops_create(&rec, secret, &o, &req);
    if (rv != APR_SUCCESS) {
        OPENSSL_cleanse(secret, sizeof(secret));
        return manage_ops_fail(m, rv, &o);
    }
    apr_table_setn(m->r->headers_out, "Location",
                   apr_pstrcat(m->r->pool, "tokens/", rec->id, NULL));
    return manage_send_token(m, HTTP_CREATED, rec, secret);
}

int manage_op_patch(mreq_t *m, const char *id)
{
    static const char *const fields[] = { "name", "full_access", "scopes",
                                          "expires", "description",
                                          "allowed_networks", "resources",
                                          NULL };
    const at_json_t *nv = at_json_get(m->body, "allowed_networks");
    const at_json_t *resv = at_json_get(m->body, "resources");
    const at_json_t *dv = at_json_get(m->body, "description");
    apr_array_header_t *scopes, *nets, *res;
    at_token_rec_t *rec = NULL;
    at_scope_change_t ch;
    at_token_edit_t e;
    at_ops_t o;
    apr_status_t rv;
    int rc, full = -1;

    memset(&e, 0, sizeof(e));
    if ((rc = manage_only_fields(m, fields)) != OK
        || (rc = manage_field_str(m, "name", &e.name)) != OK
        || (rc = manage_field_bool(m, "full_access", &full)) != OK
        || (rc = manage_field_words(m, "scopes", &scopes)) != OK
        || (rc = manage_field_expiry(m, &e.expires, &e.expires_set)) != OK
        || (rc = manage_field_str(m, "description", &e.description)) != OK
        || (rc = manage_field_words(m, "allowed_networks", &nets)) != OK
        || (rc = manage_field_words(m, "resources", &res)) != OK
        || (e.expires_set && (rc = manage_check_expiry(m, e.expires)) != OK)) {
        return rc;
    }
    /* Present but null or empty clears: no description, any address. */
    if (dv && !e.description) {
        e.description = "";
    }
    if (nv) {
        e.nets = nets ? apr_array_pstrcat(m->r->pool, nets, ' ') : "";
    }
    /* Likewise resources: null or [] makes the token unrestricted. */
    if (resv) {
        e.resources = res ? apr_array_pstrcat(m->r->pool, res, ' ') : "";
    }
    if (!e.name && full == -1 && !scopes && !e.expires_set && !e.description
        && !e.nets && !e.resources) {
        return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "nothing to "
                           "change (give name, scopes, full_access, "
                           "expires, description, allowed_networks or "
                           "resources)");
    }
    if (full != -1 || scopes) {
        memset(&ch, 0, sizeof(ch));
        ch.full = full;
        ch.set = scopes;
        if (full == 1 && !scopes) {
            ch.set = apr_array_make(m->r->pool, 1, sizeof(const char *));
        }
        e.scope = &ch;
    }
    if ((rc = manage_db_open(m)) != OK) {
        return rc;
    }
    manage_ops_setup(m, &o);
    /* All the named fields in one transaction, or none of them. */
    if ((rv = at_ops_edit(&rec, &o, id, &e)) != APR_SUCCESS) {
        return manage_ops_fail(m, rv, &o);
    }
    return manage_send_token(m, HTTP_OK, rec, NULL);
}

int manage_op_revoke(mreq_t *m, const char *id)
{
    static const char *const fields[] = { "reason", NULL };
    const char *reason;
    at_token_rec_t *rec;
    at_ops_t o;
    apr_status_t rv;
    int rc;

    if ((rc = manage_only_fields(m, fields)) != OK
        || (rc = manage_field_str(m, "reason", &reason)) != OK
        || (rc = manage_db_open(m)) != OK) {
        return rc;
    }
    manage_ops_setup(m, &o);
    if ((rv = at_ops_revoke(&rec, &o, id, reason)) != APR_SUCCESS) {
        return manage_ops_fail(m, rv, &o);
    }
    return manage_send_token(m, HTTP_OK, rec, NULL);
}

int manage_op_rotate(mreq_t *m, const char *id)
{
    static const char *const fields[] = { "grace", "force", NULL };
    const at_json_t *g = at_json_get(m->body, "grace");
    char secret[AT_TOKEN_MAX + 1];
    apr_int64_t grace = 0;
    at_token_rec_t *rec;
    const char *err = NULL;
    at_ops_t o;
    apr_status_t rv;
    int rc, force = 0;

    if ((rc = manage_only_fields(m, fields)) != OK
        || (rc = manage_field_bool(m, "force", &force)) != OK) {
        return rc;
    }
    if (g && g->type == AT_JSON_STRING) {
        if (at_duration_parse(&grace, g->str, &err) != APR_SUCCESS
            || grace < 0) {
            return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "invalid "
                               "grace %s: %s",
                               at_ops_quote(g->str, m->r->pool),
                               err ? err : "negative");
        }
    }
    else if (g && g->type == AT_JSON_NUMBER) {
        if (g->num < 0 || strpbrk(g->str, ".eE")) {
            return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "invalid "
                               "grace %s: whole seconds", g->str);
        }
        /* The core's cap (AT_GRACE_MAX) applies to both forms. */
        grace = g->num > AT_GRACE_MAX ? AT_GRACE_MAX + 1
                                      : (apr_int64_t)g->num;
    }
    else if (g && g->type != AT_JSON_NULL) {
        return manage_fail(m->r, HTTP_BAD_REQUEST, "invalid", "field grace "
                           "must be a duration such as \"1h\"");
    }
    if ((rc = manage_db_open(m)) != OK) {
        return rc;
    }
    manage_ops_setup(m, &o);
    if ((rv = at_ops_rotate(&rec, secret, &o, id, grace, force, NULL))
        != APR_SUCCESS) {
        OPENSSL_cleanse(secret, sizeof(secret));
        return manage_ops_fail(m, rv, &o);
    }
    return manage_send_token(m, HTTP_OK, rec, secret);
}

int manage_op_delete(mreq_t *m, const char *id)
{
    static const char *const fields[] = { NULL };
    at_token_rec_t *rec;
    at_jbuf_t b;
    at_ops_t o;
    apr_status_t rv;
    int rc;

    if ((rc = manage_only_fields(m, fields)) != OK
        || (rc = manage_db_open(m)) != OK) {
        return rc;
    }
    manage_ops_setup(m, &o);
    if ((rv = at_ops_delete(&rec, &o, id)) != APR_SUCCESS) {
        return manage_ops_fail(m, rv, &o);
    }
    at_jbuf_init(&b, m->r->pool);
    at_jbuf_raw(&b, "{\"deleted\": ");
    at_jbuf_str(&b, rec->id);
    at_jbuf_raw(&b, "}");
    return manage_send_json(m->r, HTTP_OK, &b);
}

int manage_op_audit(mreq_t *m)
{
    apr_array_header_t *evs;
    const char *id;
    int bad = 0, i;
    at_jbuf_t b;
    at_ops_t o;
    apr_status_t rv;

    id = manage_query_param(m->r, "token", &bad);
    if (bad || (id && !at_id_valid(id))) {
        return manage_fail(m->r, HTTP_NOT_FOUND, "not_found", "no such token");
    }
    /* dispatch() has the connection open: a second acquire would take
     * another one (none is left under prefork) and lose the first. */
    manage_ops_setup(m, &o);
    if ((rv = at_ops_audit(&evs, &o, id)) != APR_SUCCESS) {
        return manage_ops_fail(m, rv, &o);
    }
    at_jbuf_init(&b, m->r->pool);
    at_jbuf_raw(&b, "{\"owner\": ");
    at_jbuf_str(&b, m->owner);
    at_jbuf_raw(&b, ", \"events\": [");
    for (i = 0; i < evs->nelts; i++) {
        const at_audit_rec_t *ev = APR_ARRAY_IDX(evs, i, at_audit_rec_t *);

        at_jbuf_printf(&b, "%s{\"seq\": %" APR_INT64_T_FMT ", \"at\": ",
                       i ? ",\n " : "", ev->seq);
        at_jbuf_time(&b, ev->at);
        at_jbuf_raw(&b, ", \"action\": ");
        at_jbuf_str(&b, ev->action);
        at_jbuf_raw(&b, ", \"token_id\": ");
        at_jbuf_str(&b, ev->token_id);
        at_jbuf_raw(&b, ", \"actor\": ");
        at_jbuf_str(&b, ev->actor);
        at_jbuf_raw(&b, ", \"detail\": ");
        at_jbuf_str(&b, ev->detail);
        at_jbuf_raw(&b, "}");
    }
    at_jbuf_raw(&b, "]}");
    return manage_send_json(m->r, HTTP_OK, &b);
}

int manage_op_features(mreq_t *m)
{
    const apr_array_header_t *f = m->conf->features;
    at_time_t d;
    at_jbuf_t b;
    int i, j;

    at_jbuf_init(&b, m->r->pool);
    at_jbuf_raw(&b, "{\"user\": ");
    at_jbuf_str(&b, m->account);
    at_jbuf_raw(&b, ", \"owner\": ");
    at_jbuf_str(&b, m->owner);
    at_jbuf_printf(&b, ", \"admin\": %s, \"catalogue\": %s, "
                   "\"create_limit\": %d, \"usage_tracking\": %s",
                   m->admin ? "true" : "false",
                   f && f->nelts ? "true" : "false", m->conf->limit,
                   m->track_usage ? "true" : "false");
    /* Seconds; null = never / no maximum. */
    d = manage_default_expiry(m);
    at_jbuf_raw(&b, ", \"default_expiry\": ");
    if (d == AT_TIME_NONE) {
        at_jbuf_raw(&b, "null");
    }
    else {
        at_jbuf_printf(&b, "%" APR_INT64_T_FMT, (apr_int64_t)(d - m->now));
    }
    at_jbuf_raw(&b, ", \"max_expiry\": ");
    if (m->conf->max_expiry > 0) {
        at_jbuf_printf(&b, "%" APR_INT64_T_FMT, m->conf->max_expiry);
    }
    else {
        at_jbuf_raw(&b, "null");
    }
    at_jbuf_raw(&b, ", \"features\": [");
    for (i = 0; f && i < f->nelts; i++) {
        const feature_t *ft = &APR_ARRAY_IDX(f, i, feature_t);

        at_jbuf_raw(&b, i ? ", {\"name\": " : "{\"name\": ");
        at_jbuf_str(&b, ft->name);
        at_jbuf_raw(&b, ", \"description\": ");
        at_jbuf_str(&b, ft->description);
        at_jbuf_raw(&b, ", \"levels\": [");
        for (j = 0; ft->levels && j < ft->levels->nelts; j++) {
            at_jbuf_raw(&b, j ? ", " : "");
            at_jbuf_str(&b, APR_ARRAY_IDX(ft->levels, j, const char *));
        }
        at_jbuf_raw(&b, "]}");
    }
    at_jbuf_raw(&b, "]}");
    return manage_send_json(m->r, HTTP_OK, &b);
}

