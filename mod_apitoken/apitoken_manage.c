/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* "Manage API Tokens": a JSON API and a static page served by httpd for
 * the authenticated user's own tokens, on the operations the tool uses
 * (at_ops), so the rules and the audit events are the same.
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
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <util_mutex.h>
#include <apr_global_mutex.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <openssl/crypto.h>

#include "at_json.h"
#include "at_ops.h"
#include "at_scope.h"
#include "apitoken_manage.h"
#include "mod_apitoken.h"

APLOG_USE_MODULE(apitoken);

#ifndef AT_MANAGE_ASSETS
#define AT_MANAGE_ASSETS "/usr/share/mod_apitoken/manage"
#endif

#define BODY_MAX        (64 * 1024)
#define ASSET_MAX       (1024 * 1024)
#define CSRF_HEADER     "X-Requested-With"
#define CSRF_VALUE      "apitoken"
#define DEFAULT_LIMIT   10
#define DEFAULT_SCOPE   "tokens"
#define SOON_SECONDS    (7 * 86400)
#define LIMIT_SLOTS     1024
#define MUTEX_TYPE      "apitoken-manage"

#define UNSET -1
#define NO_EXPIRY 0             /* ApiTokenManage*Expiry never / none */

typedef struct feature_t {
    const char *name;
    const char *description;
    apr_array_header_t *levels;  /* const char *; NULL = none named */
} feature_t;

typedef struct manage_conf_t {
    int enabled;                     /* ApiTokenManage; UNSET */
    const char *assets;              /* NULL = unset */
    apr_array_header_t *admins;      /* const char *; NULL = unset */
    apr_array_header_t *features;    /* feature_t; NULL = unset */
    int limit;                       /* UNSET */
    const char *scope;               /* NULL = unset */
    apr_int64_t default_expiry;      /* seconds, NO_EXPIRY; UNSET */
    apr_int64_t max_expiry;          /* seconds, NO_EXPIRY; UNSET */
} manage_conf_t;

/* ---------------------------------------------------------------------
 * Configuration */

static manage_conf_t *conf_for(cmd_parms *cmd, void *dconf)
{
    apitoken_dir_conf_t *d = dconf;
    manage_conf_t *m = d->manage;

    if (!m) {
        m = apr_pcalloc(cmd->pool, sizeof(*m));
        m->enabled = UNSET;
        m->limit = UNSET;
        m->default_expiry = UNSET;
        m->max_expiry = UNSET;
        d->manage = m;
    }
    return m;
}

void *apitoken_manage_merge(apr_pool_t *p, void *basev, void *addv)
{
    const manage_conf_t *base = basev, *add = addv;
    manage_conf_t *m;

    if (!base || !add) {
        return base ? basev : addv;
    }
    m = apr_pcalloc(p, sizeof(*m));
    m->enabled = add->enabled != UNSET ? add->enabled : base->enabled;
    m->assets = add->assets ? add->assets : base->assets;
    m->admins = add->admins ? add->admins : base->admins;
    m->features = add->features ? add->features : base->features;
    m->limit = add->limit != UNSET ? add->limit : base->limit;
    m->scope = add->scope ? add->scope : base->scope;
    m->default_expiry = add->default_expiry != UNSET ? add->default_expiry
                                                     : base->default_expiry;
    m->max_expiry = add->max_expiry != UNSET ? add->max_expiry
                                             : base->max_expiry;
    return m;
}

/* The main configuration always parses with RSRC_CONF or ACCESS_CONF in
 * cmd->override; an .htaccess file (even one whose AllowOverrideList
 * names our directives) only with the OR_* bits of AllowOverride. */
static const char *main_config_only(cmd_parms *cmd)
{
    if (!(cmd->override & (RSRC_CONF | ACCESS_CONF))) {
        return apr_pstrcat(cmd->pool, cmd->cmd->name, " is not allowed in "
                           ".htaccess files", NULL);
    }
    return NULL;
}

const char *apitoken_manage_set_enabled(cmd_parms *cmd, void *dconf, int on)
{
    const char *err = main_config_only(cmd);

    if (!err) {
        conf_for(cmd, dconf)->enabled = on;
    }
    return err;
}

const char *apitoken_manage_set_assets(cmd_parms *cmd, void *dconf,
                                       const char *arg)
{
    const char *err = main_config_only(cmd);
    const char *path;

    if (err) {
        return err;
    }
    path = ap_server_root_relative(cmd->pool, arg);
    if (!path || !ap_is_directory(cmd->temp_pool, path)) {
        return apr_psprintf(cmd->pool, "ApiTokenManageAssets: %s is not a "
                            "directory", arg);
    }
    conf_for(cmd, dconf)->assets = path;
    return NULL;
}

const char *apitoken_manage_set_admins(cmd_parms *cmd, void *dconf,
                                       const char *args)
{
    manage_conf_t *m;
    const char *w, *err;

    if ((err = main_config_only(cmd)) != NULL) {
        return err;
    }
    m = conf_for(cmd, dconf);
    m->admins = apr_array_make(cmd->pool, 4, sizeof(const char *));
    while (*(w = ap_getword_conf(cmd->pool, &args))) {
        if ((err = at_check_owner(w)) != NULL) {
            return apr_psprintf(cmd->pool, "ApiTokenManageAdmins: invalid "
                                "account %s: %s", w, err);
        }
        APR_ARRAY_PUSH(m->admins, const char *) = w;
    }
    if (m->admins->nelts == 0) {
        return "ApiTokenManageAdmins needs at least one account";
    }
    return NULL;
}

/* ApiTokenFeature name "description" [level ...] */
const char *apitoken_manage_set_feature(cmd_parms *cmd, void *dconf,
                                        const char *args)
{
    const char *err = main_config_only(cmd);
    const char *name = ap_getword_conf(cmd->pool, &args);
    const char *desc = ap_getword_conf(cmd->pool, &args);
    apr_array_header_t *levels = NULL;
    manage_conf_t *m;
    const char *w;
    feature_t *f;
    int i;

    if (err) {
        return err;
    }
    if (!*name || !*desc) {
        return "ApiTokenFeature takes a name, a description and optional "
               "levels";
    }
    m = conf_for(cmd, dconf);
    if (strchr(name, ':') || !at_scope_valid(name)) {
        return apr_psprintf(cmd->pool, "ApiTokenFeature: invalid feature "
                            "name %s (1-64 of [a-z0-9_-])", name);
    }
    if (at_check_description(desc) != NULL) {
        return apr_psprintf(cmd->pool, "ApiTokenFeature: invalid "
                            "description for %s", name);
    }
    /* A section's own list replaces, never extends, the inherited one. */
    if (!m->features) {
        m->features = apr_array_make(cmd->pool, 8, sizeof(feature_t));
    }
    for (i = 0; i < m->features->nelts; i++) {
        if (!strcmp(APR_ARRAY_IDX(m->features, i, feature_t).name, name)) {
            return apr_psprintf(cmd->pool, "ApiTokenFeature: %s is listed "
                                "twice", name);
        }
    }
    /* A level is the part after the colon: dns read -> scope dns:read. */
    while (*(w = ap_getword_conf(cmd->pool, &args))) {
        if (strchr(w, ':')
            || !at_scope_valid(apr_pstrcat(cmd->temp_pool, name, ":", w,
                                           NULL))) {
            return apr_psprintf(cmd->pool, "ApiTokenFeature: invalid level "
                                "%s of %s (1-64 of [a-z0-9_-])", w, name);
        }
        if (!levels) {
            levels = apr_array_make(cmd->pool, 4, sizeof(const char *));
        }
        for (i = 0; i < levels->nelts; i++) {
            if (!strcmp(APR_ARRAY_IDX(levels, i, const char *), w)) {
                return apr_psprintf(cmd->pool, "ApiTokenFeature: level %s "
                                    "of %s is listed twice", w, name);
            }
        }
        APR_ARRAY_PUSH(levels, const char *) = w;
    }
    f = apr_array_push(m->features);
    f->name = name;
    f->description = desc;
    f->levels = levels;
    return NULL;
}

const char *apitoken_manage_set_limit(cmd_parms *cmd, void *dconf,
                                      const char *arg)
{
    const char *err = main_config_only(cmd);
    char *end;
    apr_int64_t n = apr_strtoi64(arg, &end, 10);

    if (err) {
        return err;
    }
    if (!*arg || *end || n < 0 || n > 100000) {
        return apr_psprintf(cmd->pool, "ApiTokenManageCreateLimit: %s is "
                            "not a number from 0 to 100000", arg);
    }
    conf_for(cmd, dconf)->limit = (int)n;
    return NULL;
}

const char *apitoken_manage_set_scope(cmd_parms *cmd, void *dconf,
                                      const char *arg)
{
    const char *err = main_config_only(cmd);

    if (err) {
        return err;
    }
    if (!at_scope_valid(arg)) {
        return apr_psprintf(cmd->pool, "ApiTokenManageScope: invalid scope "
                            "%s (feature[:level] of [a-z0-9_-])", arg);
    }
    conf_for(cmd, dconf)->scope = arg;
    return NULL;
}

/* "never" (or "none") or a duration such as 30d. */
static const char *set_expiry(cmd_parms *cmd, apr_int64_t *out,
                              const char *arg)
{
    const char *err = NULL;
    apr_int64_t secs;

    if (!strcmp(arg, "never") || !strcmp(arg, "none")) {
        *out = NO_EXPIRY;
        return NULL;
    }
    if (at_duration_parse(&secs, arg, &err) != APR_SUCCESS || secs <= 0) {
        return apr_psprintf(cmd->pool, "%s: %s is not a duration such as "
                            "30d, or never (%s)", cmd->cmd->name, arg,
                            err ? err : "zero");
    }
    *out = secs;
    return NULL;
}

const char *apitoken_manage_set_default_expiry(cmd_parms *cmd, void *dconf,
                                               const char *arg)
{
    const char *err = main_config_only(cmd);

    return err ? err : set_expiry(cmd, &conf_for(cmd, dconf)->default_expiry, arg);
}

const char *apitoken_manage_set_max_expiry(cmd_parms *cmd, void *dconf,
                                           const char *arg)
{
    const char *err = main_config_only(cmd);

    return err ? err : set_expiry(cmd, &conf_for(cmd, dconf)->max_expiry, arg);
}

/* ---------------------------------------------------------------------
 * The create limit: a fixed one-minute window per account, counted in a
 * small table in anonymous shared memory under a global mutex, so every
 * process sees the same count.  A slot holds the whole account name (at
 * most AT_NAME_MAX bytes, as at_check_owner allows), so two accounts never
 * share a count; a slot is free again once its window has passed.  An
 * account is looked for in the whole table, never only at its hash's
 * place, so it cannot be given a second, fresh slot. */

typedef struct limit_slot_t {
    apr_uint32_t window;             /* minute of the count; 0 = never */
    apr_uint32_t count;
    char account[AT_NAME_MAX + 1];
} limit_slot_t;

static apr_shm_t *limit_shm;
static limit_slot_t *limit_slots;
static apr_global_mutex_t *limit_mutex;

static int manage_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp)
{
    limit_shm = NULL;
    limit_slots = NULL;
    limit_mutex = NULL;
    return ap_mutex_register(pconf, MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0)
           == APR_SUCCESS ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

static int manage_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    apr_status_t rv;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    rv = apr_shm_create(&limit_shm, sizeof(limit_slot_t) * LIMIT_SLOTS,
                        NULL, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "APT06001: cannot "
                     "create the shared memory of the create limit");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    limit_slots = apr_shm_baseaddr_get(limit_shm);
    memset(limit_slots, 0, sizeof(limit_slot_t) * LIMIT_SLOTS);
    rv = ap_global_mutex_create(&limit_mutex, NULL, MUTEX_TYPE, NULL, s,
                                pconf, 0);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "APT06002: cannot "
                     "create the mutex of the create limit");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static void manage_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (!limit_mutex) {
        return;
    }
    rv = apr_global_mutex_child_init(&limit_mutex,
                                     apr_global_mutex_lockfile(limit_mutex),
                                     pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "APT06003: cannot attach "
                     "to the mutex of the create limit");
        limit_mutex = NULL;
    }
}

/* The slot of account in the current window: its own if it has one, else
 * a free one (reset), else NULL when every slot counts another account
 * this minute.  Called under limit_mutex. */
static limit_slot_t *limit_slot(const char *account, apr_uint32_t window)
{
    apr_ssize_t klen = APR_HASH_KEY_STRING;
    apr_uint32_t start = apr_hashfunc_default(account, &klen) % LIMIT_SLOTS;
    limit_slot_t *free_slot = NULL;
    apr_uint32_t i;

    for (i = 0; i < LIMIT_SLOTS; i++) {
        limit_slot_t *slot = &limit_slots[(start + i) % LIMIT_SLOTS];

        if (slot->window != window) {
            if (!free_slot) {
                free_slot = slot;
            }
        }
        else if (!strcmp(slot->account, account)) {
            return slot;
        }
    }
    if (free_slot) {
        free_slot->window = window;
        free_slot->count = 0;
        memcpy(free_slot->account, account, strlen(account) + 1);
    }
    return free_slot;
}

/* 0 when the account may create one more token now (and counts it), else
 * the seconds until it may. */
static int limit_take(request_rec *r, const char *account, int limit)
{
    apr_time_t now = apr_time_sec(apr_time_now());
    apr_uint32_t window = (apr_uint32_t)(now / 60);
    limit_slot_t *slot;
    int wait = 0;

    if (limit <= 0) {
        return 0;
    }
    if (!limit_slots || !limit_mutex || strlen(account) > AT_NAME_MAX
        || apr_global_mutex_lock(limit_mutex) != APR_SUCCESS) {
        /* Without the table, fail closed: a create limit that silently
         * vanished would be worse than a refused create. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "APT06004: create limit "
                      "unavailable; refusing the create");
        return 60;
    }
    if ((slot = limit_slot(account, window)) == NULL) {
        /* Full: refusing is the only answer that cannot hand out another
         * account's count. */
        wait = (int)(60 - now % 60);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "APT06052: create limit "
                      "table full (%d accounts created tokens this minute); "
                      "refusing the create", LIMIT_SLOTS);
    }
    else if (slot->count >= (apr_uint32_t)limit) {
        wait = (int)(60 - now % 60);
    }
    else {
        slot->count++;
    }
    apr_global_mutex_unlock(limit_mutex);
    return wait;
}

/* ---------------------------------------------------------------------
 * Responses */

typedef struct mreq_t {
    request_rec *r;
    const manage_conf_t *conf;
    const char *account;         /* REMOTE_USER */
    const char *owner;           /* whose tokens: account, or ?owner= */
    int admin;
    const apitoken_req_t *tok;   /* set when signed in with an API token */
    at_json_t *body;             /* parsed JSON body, or NULL */
    apitoken_conn_t *conn;
    at_store_t *store;
    const char *prefix;
    at_time_t now;
    int track_usage;             /* ApiTokenTrackUsage here */
} mreq_t;

static void security_headers(request_rec *r)
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

static int send_text(request_rec *r, int status, const char *ctype,
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

static int send_json(request_rec *r, int status, at_jbuf_t *b)
{
    apr_size_t len;
    const char *text;

    at_jbuf_raw(b, "\n");
    text = at_jbuf_text(b, &len);
    return send_text(r, status, "application/json; charset=utf-8", text,
                     len);
}

/* Send the JSON error; returns DONE. */
static int fail(request_rec *r, int status, const char *code,
                const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(request_rec *r, int status, const char *code,
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
    send_json(r, status, &b);
    /* Not OK: callers stop at the first answer that is not OK. */
    return DONE;
}

/* An at_ops failure as HTTP. */
static int ops_fail(mreq_t *m, apr_status_t rv, const at_ops_t *o)
{
    const char *msg = o->error ? o->error : "failed";

    switch (rv) {
    case APR_EINVAL:
        return fail(m->r, HTTP_BAD_REQUEST, "invalid", "%s", msg);
    case APR_ENOENT:
        return fail(m->r, HTTP_UNPROCESSABLE_ENTITY, "unknown_feature", "%s",
                    msg);
    case APR_NOTFOUND:
        return fail(m->r, HTTP_NOT_FOUND, "not_found", "%s", msg);
    case APR_EEXIST:
        return fail(m->r, HTTP_CONFLICT, "name_exists", "%s", msg);
    case APR_EBUSY:
        return fail(m->r, HTTP_CONFLICT, "conflict", "%s", msg);
    case APR_EACCES:
        return fail(m->r, HTTP_FORBIDDEN, "insufficient_scope", "%s", msg);
    default:
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, m->r, "APT06005: token "
                      "management: %s", msg);
        return fail(m->r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                    "the token database is not available; try again later");
    }
}

static const char *status_of(const at_token_rec_t *t, at_time_t now)
{
    const char *st = at_token_rec_status(t, now);

    if (!strcmp(st, "active") && t->expires_at != AT_TIME_NONE
        && t->expires_at - now <= SOON_SECONDS) {
        return "expiring_soon";
    }
    return st;
}

static void json_time(at_jbuf_t *b, at_time_t t)
{
    char buf[AT_TIME_STRLEN + 1];

    if (t == AT_TIME_NONE) {
        at_jbuf_raw(b, "null");
        return;
    }
    at_time_format(buf, t);
    at_jbuf_str(b, buf);
}

static void json_token(at_jbuf_t *b, const at_token_rec_t *t, at_time_t now,
                       const char *secret)
{
    at_jbuf_raw(b, "{\"id\": ");
    at_jbuf_str(b, t->id);
    at_jbuf_raw(b, ", \"owner\": ");
    at_jbuf_str(b, t->owner);
    at_jbuf_raw(b, ", \"name\": ");
    at_jbuf_str(b, t->name);
    at_jbuf_raw(b, ", \"description\": ");
    at_jbuf_str(b, t->description);
    at_jbuf_raw(b, ", \"full_access\": ");
    at_jbuf_raw(b, t->full_access ? "true" : "false");
    at_jbuf_raw(b, ", \"scopes\": ");
    at_jbuf_words(b, t->scopes);
    at_jbuf_raw(b, ", \"allowed_networks\": ");
    at_jbuf_words(b, t->allowed_nets);
    at_jbuf_raw(b, ", \"resources\": ");
    at_jbuf_words(b, t->resources);
    at_jbuf_raw(b, ", \"status\": ");
    at_jbuf_str(b, status_of(t, now));
    at_jbuf_raw(b, ", \"created_at\": ");
    json_time(b, t->created_at);
    at_jbuf_raw(b, ", \"expires_at\": ");
    json_time(b, t->expires_at);
    at_jbuf_raw(b, ", \"revoked_at\": ");
    json_time(b, t->revoked_at);
    at_jbuf_raw(b, ", \"last_used_at\": ");
    json_time(b, t->last_used_at);
    at_jbuf_raw(b, ", \"last_used_addr\": ");
    at_jbuf_str(b, t->last_used_addr && *t->last_used_addr
                   ? t->last_used_addr : NULL);
    at_jbuf_raw(b, ", \"previous_secret_until\": ");
    json_time(b, t->prev_digest && *t->prev_digest && t->prev_until > now
                 ? t->prev_until : AT_TIME_NONE);
    if (secret) {
        at_jbuf_raw(b, ", \"token\": ");
        at_jbuf_str(b, secret);
    }
    at_jbuf_raw(b, "}");
}

/* One token, with the secret when there is one: wiped from our buffers
 * once written. */
static int send_token(mreq_t *m, int status, const at_token_rec_t *t,
                      char *secret)
{
    at_jbuf_t b;
    int rc;

    at_jbuf_init(&b, m->r->pool);
    json_token(&b, t, m->now, secret);
    rc = send_json(m->r, status, &b);
    if (secret) {
        ap_rflush(m->r);
        OPENSSL_cleanse(b.a->elts, b.a->nalloc);
        OPENSSL_cleanse(secret, AT_TOKEN_MAX + 1);
    }
    return rc;
}

/* ---------------------------------------------------------------------
 * Request checks */

static const char *query_param(request_rec *r, const char *name, int *bad)
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

static int csrf_check(mreq_t *m)
{
    request_rec *r = m->r;
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *xrw = apr_table_get(r->headers_in, CSRF_HEADER);
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");

    if (!xrw || strcmp(xrw, CSRF_VALUE)) {
        return fail(r, HTTP_FORBIDDEN, "csrf", "state changes need the "
                    "header " CSRF_HEADER ": " CSRF_VALUE);
    }
    if (origin && !origin_matches(r, origin)) {
        return fail(r, HTTP_FORBIDDEN, "csrf", "cross-origin request "
                    "refused (Origin %s)", at_ops_quote(origin, r->pool));
    }
    if (site && strcmp(site, "same-origin") && strcmp(site, "none")) {
        return fail(r, HTTP_FORBIDDEN, "csrf", "cross-site request refused");
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
static int read_body(mreq_t *m)
{
    request_rec *r = m->r;
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    char *buf = apr_palloc(r->pool, BODY_MAX + 1);
    apr_size_t len = 0;
    const char *err;
    long n;
    int rc;

    if (!is_json_type(apr_table_get(r->headers_in, "Content-Type"))) {
        return fail(r, HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                    "the request body must be application/json");
    }
    if (cl && apr_atoi64(cl) > BODY_MAX) {
        /* Reading a huge body only to discard it is not worth it. */
        if (apr_atoi64(cl) > 16 * BODY_MAX) {
            r->connection->keepalive = AP_CONN_CLOSE;
        }
        return fail(r, HTTP_REQUEST_ENTITY_TOO_LARGE, "too_large",
                    "the request body is larger than %d bytes", BODY_MAX);
    }
    if ((rc = ap_setup_client_block(r, REQUEST_CHUNKED_DECHUNK)) != OK) {
        return fail(r, HTTP_BAD_REQUEST, "bad_request", "unreadable body");
    }
    if (ap_should_client_block(r)) {
        while ((n = ap_get_client_block(r, buf + len, BODY_MAX + 1 - len))
               > 0) {
            len += (apr_size_t)n;
            if (len > BODY_MAX) {
                return fail(r, HTTP_REQUEST_ENTITY_TOO_LARGE, "too_large",
                            "the request body is larger than %d bytes",
                            BODY_MAX);
            }
        }
        if (n < 0) {
            return fail(r, HTTP_BAD_REQUEST, "bad_request",
                        "unreadable body");
        }
    }
    if (len == 0) {
        buf = "{}";
        len = 2;
    }
    if (at_json_parse(&m->body, buf, len, 16, &err, r->pool)
        != APR_SUCCESS) {
        return fail(r, HTTP_BAD_REQUEST, "bad_json", "the body is not valid "
                    "JSON: %s", err);
    }
    if (m->body->type != AT_JSON_OBJECT) {
        return fail(r, HTTP_BAD_REQUEST, "bad_json", "the body must be a "
                    "JSON object");
    }
    return OK;
}

/* Every member of the body must be one of the names given. */
static int only_fields(mreq_t *m, const char *const *names)
{
    int i, j;

    for (i = 0; i < m->body->items->nelts; i++) {
        const at_json_t *v = APR_ARRAY_IDX(m->body->items, i, at_json_t *);
        int known = 0;

        for (j = 0; names[j]; j++) {
            known |= !strcmp(names[j], v->key);
        }
        if (!known) {
            return fail(m->r, HTTP_BAD_REQUEST, "invalid", "unknown field "
                        "%s", at_ops_quote(v->key, m->r->pool));
        }
    }
    return OK;
}

/* A string field: OK with *out set (NULL when absent or null), or an error
 * response. */
static int field_str(mreq_t *m, const char *key, const char **out)
{
    const at_json_t *v = at_json_get(m->body, key);

    *out = NULL;
    if (!v || v->type == AT_JSON_NULL) {
        return OK;
    }
    if (v->type != AT_JSON_STRING) {
        return fail(m->r, HTTP_BAD_REQUEST, "invalid", "field %s must be a "
                    "string", key);
    }
    *out = v->str;
    return OK;
}

static int field_bool(mreq_t *m, const char *key, int *out)
{
    const at_json_t *v = at_json_get(m->body, key);

    if (!v) {
        return OK;
    }
    if (v->type != AT_JSON_TRUE && v->type != AT_JSON_FALSE) {
        return fail(m->r, HTTP_BAD_REQUEST, "invalid", "field %s must be "
                    "true or false", key);
    }
    *out = v->type == AT_JSON_TRUE;
    return OK;
}

/* A list field: a JSON array of strings, or one string.  The words are
 * not split or judged here: the core reads them as the tool reads its
 * repeated options (each may hold a space, comma or tab separated list),
 * so there is one grammar, and the caller check runs on its result. */
static int field_words(mreq_t *m, const char *key, apr_array_header_t **out)
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
        return fail(m->r, HTTP_BAD_REQUEST, "invalid", "field %s must be an "
                    "array of at most 256 strings", key);
    }
    for (i = 0; i < v->items->nelts; i++) {
        const at_json_t *w = APR_ARRAY_IDX(v->items, i, at_json_t *);

        if (w->type != AT_JSON_STRING) {
            return fail(m->r, HTTP_BAD_REQUEST, "invalid", "field %s must "
                        "be an array of strings", key);
        }
        APR_ARRAY_PUSH(*out, const char *) = w->str;
    }
    return OK;
}

/* "expires": null/"never" = never, a date, or "+30d". */
static int field_expiry(mreq_t *m, at_time_t *out, int *given)
{
    const at_json_t *v = at_json_get(m->body, "expires");
    const char *err = NULL;

    *out = AT_TIME_NONE;
    *given = v != NULL;
    if (!v || v->type == AT_JSON_NULL) {
        return OK;
    }
    if (v->type != AT_JSON_STRING) {
        return fail(m->r, HTTP_BAD_REQUEST, "invalid", "field expires must "
                    "be a date string or null");
    }
    if (at_time_parse(out, v->str, m->now, &err) != APR_SUCCESS) {
        return fail(m->r, HTTP_BAD_REQUEST, "invalid", "invalid expiry %s: "
                    "%s", at_ops_quote(v->str, m->r->pool),
                    err ? err : "not a date");
    }
    return OK;
}

/* What a create without "expires" gets: ApiTokenManageDefaultExpiry,
 * never later than the maximum. */
static at_time_t default_expiry(const mreq_t *m)
{
    apr_int64_t d = m->conf->default_expiry, max = m->conf->max_expiry;

    if (max > 0 && (d <= 0 || d > max)) {
        d = max;
    }
    return d > 0 ? m->now + d : AT_TIME_NONE;
}

/* ApiTokenManageMaxExpiry: an expiry must come by the end of the UTC day
 * the maximum reaches, so "90 days" admits that day's date as well. */
static int check_expiry(mreq_t *m, at_time_t t)
{
    apr_int64_t max = m->conf->max_expiry;
    apr_int64_t days = (max + 86399) / 86400;
    at_time_t latest;

    if (max <= 0) {
        return OK;
    }
    latest = (m->now + max) / 86400 * 86400 + 86399;
    if (t == AT_TIME_NONE || t > latest) {
        return fail(m->r, HTTP_BAD_REQUEST, "expiry_too_far", "tokens here "
                    "must expire within %" APR_INT64_T_FMT " day%s "
                    "(ApiTokenManageMaxExpiry)", days, days == 1 ? "" : "s");
    }
    return OK;
}

static void ops_setup(mreq_t *m, at_ops_t *o)
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

static int db_open(mreq_t *m)
{
    if (apitoken_db_acquire(&m->conn, &m->store, m->r) != APR_SUCCESS) {
        m->conn = NULL;
        return fail(m->r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                    "the token database is not available; try again later");
    }
    if (apitoken_db_prefix(&m->prefix, m->conn, m->r) != APR_SUCCESS) {
        apitoken_db_mark_bad(m->conn);
        m->conn = NULL;
        return fail(m->r, HTTP_SERVICE_UNAVAILABLE, "database_unavailable",
                    "the token database is not available; try again later");
    }
    return OK;
}

/* ---------------------------------------------------------------------
 * Operations */

static int op_list(mreq_t *m)
{
    apr_array_header_t *recs;
    at_jbuf_t b;
    at_ops_t o;
    apr_status_t rv;
    int i;

    ops_setup(m, &o);
    if ((rv = at_ops_list(&recs, &o, m->owner)) != APR_SUCCESS) {
        return ops_fail(m, rv, &o);
    }
    at_jbuf_init(&b, m->r->pool);
    at_jbuf_raw(&b, "{\"owner\": ");
    at_jbuf_str(&b, m->owner);
    at_jbuf_raw(&b, ", \"tokens\": [");
    for (i = 0; i < recs->nelts; i++) {
        at_jbuf_raw(&b, i ? ",\n " : "");
        json_token(&b, APR_ARRAY_IDX(recs, i, at_token_rec_t *), m->now,
                   NULL);
    }
    at_jbuf_raw(&b, "]}");
    return send_json(m->r, HTTP_OK, &b);
}

static int op_create(mreq_t *m)
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
    if ((rc = only_fields(m, fields)) != OK
        || (rc = field_str(m, "name", &req.name)) != OK
        || (rc = field_str(m, "description", &req.description)) != OK
        || (rc = field_bool(m, "full_access", &full)) != OK
        || (rc = field_words(m, "scopes", &scopes)) != OK
        || (rc = field_words(m, "allowed_networks", &nets)) != OK
        || (rc = field_words(m, "resources", &res)) != OK
        || (rc = field_expiry(m, &req.expires, &given)) != OK) {
        return rc;
    }
    if (!given) {
        req.expires = default_expiry(m);
        /* A token caller's new token still lives no longer than it. */
        if (m->tok && m->tok->rec->expires_at != AT_TIME_NONE
            && (req.expires == AT_TIME_NONE
                || req.expires > m->tok->rec->expires_at)) {
            req.expires = m->tok->rec->expires_at;
        }
    }
    if ((rc = check_expiry(m, req.expires)) != OK) {
        return rc;
    }
    if (!req.name) {
        return fail(m->r, HTTP_BAD_REQUEST, "invalid", "field name is "
                    "required");
    }
    if (req.description && !*req.description) {
        req.description = NULL;
    }
    if ((wait = limit_take(m->r, m->account, m->conf->limit)) > 0) {
        apr_table_setn(m->r->err_headers_out, "Retry-After",
                       apr_itoa(m->r->pool, wait));
        return fail(m->r, HTTP_TOO_MANY_REQUESTS, "rate_limited", "too many "
                    "tokens created; try again in %d seconds", wait);
    }
    req.owner = m->owner;
    req.scopes = scopes;
    req.full_access = full;
    req.nets = nets ? apr_array_pstrcat(m->r->pool, nets, ' ') : NULL;
    req.resources = res && res->nelts
                    ? apr_array_pstrcat(m->r->pool, res, ' ') : NULL;
    if ((rc = db_open(m)) != OK) {
        return rc;
    }
    ops_setup(m, &o);
    rv = at_ops_create(&rec, secret, &o, &req);
    if (rv != APR_SUCCESS) {
        OPENSSL_cleanse(secret, sizeof(secret));
        return ops_fail(m, rv, &o);
    }
    apr_table_setn(m->r->headers_out, "Location",
                   apr_pstrcat(m->r->pool, "tokens/", rec->id, NULL));
    return send_token(m, HTTP_CREATED, rec, secret);
}

static int op_patch(mreq_t *m, const char *id)
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
    if ((rc = only_fields(m, fields)) != OK
        || (rc = field_str(m, "name", &e.name)) != OK
        || (rc = field_bool(m, "full_access", &full)) != OK
        || (rc = field_words(m, "scopes", &scopes)) != OK
        || (rc = field_expiry(m, &e.expires, &e.expires_set)) != OK
        || (rc = field_str(m, "description", &e.description)) != OK
        || (rc = field_words(m, "allowed_networks", &nets)) != OK
        || (rc = field_words(m, "resources", &res)) != OK
        || (e.expires_set && (rc = check_expiry(m, e.expires)) != OK)) {
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
        return fail(m->r, HTTP_BAD_REQUEST, "invalid", "nothing to change "
                    "(give name, scopes, full_access, expires, description, "
                    "allowed_networks or resources)");
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
    if ((rc = db_open(m)) != OK) {
        return rc;
    }
    ops_setup(m, &o);
    /* All the named fields in one transaction, or none of them. */
    if ((rv = at_ops_edit(&rec, &o, id, &e)) != APR_SUCCESS) {
        return ops_fail(m, rv, &o);
    }
    return send_token(m, HTTP_OK, rec, NULL);
}

static int op_revoke(mreq_t *m, const char *id)
{
    static const char *const fields[] = { "reason", NULL };
    const char *reason;
    at_token_rec_t *rec;
    at_ops_t o;
    apr_status_t rv;
    int rc;

    if ((rc = only_fields(m, fields)) != OK
        || (rc = field_str(m, "reason", &reason)) != OK
        || (rc = db_open(m)) != OK) {
        return rc;
    }
    ops_setup(m, &o);
    if ((rv = at_ops_revoke(&rec, &o, id, reason)) != APR_SUCCESS) {
        return ops_fail(m, rv, &o);
    }
    return send_token(m, HTTP_OK, rec, NULL);
}

static int op_rotate(mreq_t *m, const char *id)
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

    if ((rc = only_fields(m, fields)) != OK
        || (rc = field_bool(m, "force", &force)) != OK) {
        return rc;
    }
    if (g && g->type == AT_JSON_STRING) {
        if (at_duration_parse(&grace, g->str, &err) != APR_SUCCESS
            || grace < 0) {
            return fail(m->r, HTTP_BAD_REQUEST, "invalid", "invalid grace "
                        "%s: %s", at_ops_quote(g->str, m->r->pool),
                        err ? err : "negative");
        }
    }
    else if (g && g->type == AT_JSON_NUMBER) {
        if (g->num < 0 || strpbrk(g->str, ".eE")) {
            return fail(m->r, HTTP_BAD_REQUEST, "invalid", "invalid grace "
                        "%s: whole seconds", g->str);
        }
        /* The core's cap (AT_GRACE_MAX) applies to both forms. */
        grace = g->num > AT_GRACE_MAX ? AT_GRACE_MAX + 1
                                      : (apr_int64_t)g->num;
    }
    else if (g && g->type != AT_JSON_NULL) {
        return fail(m->r, HTTP_BAD_REQUEST, "invalid", "field grace must be "
                    "a duration such as \"1h\"");
    }
    if ((rc = db_open(m)) != OK) {
        return rc;
    }
    ops_setup(m, &o);
    if ((rv = at_ops_rotate(&rec, secret, &o, id, grace, force, NULL))
        != APR_SUCCESS) {
        OPENSSL_cleanse(secret, sizeof(secret));
        return ops_fail(m, rv, &o);
    }
    return send_token(m, HTTP_OK, rec, secret);
}

static int op_delete(mreq_t *m, const char *id)
{
    static const char *const fields[] = { NULL };
    at_token_rec_t *rec;
    at_jbuf_t b;
    at_ops_t o;
    apr_status_t rv;
    int rc;

    if ((rc = only_fields(m, fields)) != OK || (rc = db_open(m)) != OK) {
        return rc;
    }
    ops_setup(m, &o);
    if ((rv = at_ops_delete(&rec, &o, id)) != APR_SUCCESS) {
        return ops_fail(m, rv, &o);
    }
    at_jbuf_init(&b, m->r->pool);
    at_jbuf_raw(&b, "{\"deleted\": ");
    at_jbuf_str(&b, rec->id);
    at_jbuf_raw(&b, "}");
    return send_json(m->r, HTTP_OK, &b);
}

static int op_audit(mreq_t *m)
{
    apr_array_header_t *evs;
    const char *id;
    int bad = 0, i;
    at_jbuf_t b;
    at_ops_t o;
    apr_status_t rv;

    id = query_param(m->r, "token", &bad);
    if (bad || (id && !at_id_valid(id))) {
        return fail(m->r, HTTP_NOT_FOUND, "not_found", "no such token");
    }
    /* dispatch() has the connection open: a second acquire would take
     * another one (none is left under prefork) and lose the first. */
    ops_setup(m, &o);
    if ((rv = at_ops_audit(&evs, &o, id)) != APR_SUCCESS) {
        return ops_fail(m, rv, &o);
    }
    at_jbuf_init(&b, m->r->pool);
    at_jbuf_raw(&b, "{\"owner\": ");
    at_jbuf_str(&b, m->owner);
    at_jbuf_raw(&b, ", \"events\": [");
    for (i = 0; i < evs->nelts; i++) {
        const at_audit_rec_t *ev = APR_ARRAY_IDX(evs, i, at_audit_rec_t *);

        at_jbuf_printf(&b, "%s{\"seq\": %" APR_INT64_T_FMT ", \"at\": ",
                       i ? ",\n " : "", ev->seq);
        json_time(&b, ev->at);
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
    return send_json(m->r, HTTP_OK, &b);
}

static int op_features(mreq_t *m)
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
    d = default_expiry(m);
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
    return send_json(m->r, HTTP_OK, &b);
}

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
        return fail(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
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
        return fail(r, HTTP_NOT_FOUND, "not_found", "no such page");
    }
    path = apr_pstrcat(r->pool, c->assets ? c->assets : AT_MANAGE_ASSETS,
                       "/", assets[i].name, NULL);
    if (apr_stat(&fi, path, APR_FINFO_SIZE | APR_FINFO_TYPE, r->pool)
        != APR_SUCCESS || fi.filetype != APR_REG || fi.size > ASSET_MAX
        || apr_file_open(&f, path, APR_FOPEN_READ, 0, r->pool)
           != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "APT06006: cannot read "
                      "%s (ApiTokenManageAssets)", path);
        return fail(r, HTTP_NOT_FOUND, "not_found", "page not installed");
    }
    buf = apr_palloc(r->pool, (apr_size_t)fi.size + 1);
    if (apr_file_read_full(f, buf, (apr_size_t)fi.size, &got) != APR_SUCCESS
        && got != (apr_size_t)fi.size) {
        apr_file_close(f);
        return fail(r, HTTP_INTERNAL_SERVER_ERROR, "internal",
                    "cannot read the page");
    }
    apr_file_close(f);
    return send_text(r, HTTP_OK, assets[i].type, buf, got);
}

/* ---------------------------------------------------------------------
 * Dispatch */

static const manage_conf_t manage_default = {
    0, NULL, NULL, NULL, DEFAULT_LIMIT, DEFAULT_SCOPE, NO_EXPIRY, NO_EXPIRY
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

static int dispatch(mreq_t *m, const char *route)
{
    request_rec *r = m->r;
    int meth = r->method_number, rc;
    const char *id = NULL, *action = NULL;
    char *copy, *slash;

    if (!strcmp(route, "features") || !strcmp(route, "audit")
        || !strcmp(route, "tokens")) {
        int get_only = strcmp(route, "tokens") != 0;

        if (meth == M_GET) {
            if (!strcmp(route, "features")) {
                return op_features(m);
            }
            if ((rc = db_open(m)) != OK) {
                return rc;
            }
            return route[0] == 'a' ? op_audit(m) : op_list(m);
        }
        if (!get_only && meth == M_POST) {
            if ((rc = csrf_check(m)) != OK || (rc = read_body(m)) != OK) {
                return rc;
            }
            return op_create(m);
        }
        apr_table_setn(r->err_headers_out, "Allow",
                       get_only ? "GET, HEAD" : "GET, HEAD, POST");
        return fail(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                    "method %s is not allowed here", r->method);
    }
    if (strncmp(route, "tokens/", 7)) {
        return fail(r, HTTP_NOT_FOUND, "not_found", "no such API");
    }
    copy = apr_pstrdup(r->pool, route + 7);
    if ((slash = strchr(copy, '/')) != NULL) {
        *slash = '\0';
        action = slash + 1;
    }
    id = copy;
    if (!at_id_valid(id)
        || (action && strcmp(action, "revoke") && strcmp(action, "rotate"))) {
        return fail(r, HTTP_NOT_FOUND, "not_found", "no such token");
    }
    if (action ? meth != M_POST : (meth != M_PATCH && meth != M_DELETE)) {
        apr_table_setn(r->err_headers_out, "Allow",
                       action ? "POST" : "PATCH, DELETE");
        return fail(r, HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                    "method %s is not allowed here", r->method);
    }
    if ((rc = csrf_check(m)) != OK || (rc = read_body(m)) != OK) {
        return rc;
    }
    if (!action) {
        return meth == M_PATCH ? op_patch(m, id) : op_delete(m, id);
    }
    return action[1] == 'e' ? op_revoke(m, id) : op_rotate(m, id);
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
    security_headers(r);
    if (c->enabled != 1) {
        /* SetHandler is also an .htaccess directive: there its author
         * would choose the authentication and so the account. */
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "APT06051: refused %s: "
                      "SetHandler apitoken-manage where the server "
                      "configuration does not set ApiTokenManage On",
                      r->uri);
        fail(r, HTTP_FORBIDDEN, "not_enabled", "token management is not "
             "enabled here");
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
        return fail(r, HTTP_FORBIDDEN, "no_account", "no usable "
                    "authenticated user; protect this location with httpd "
                    "authentication");
    }
    m.account = r->user;
    m.admin = is_admin(c, r->user);
    q = apitoken_req_get(r);
    if (q && q->rec) {
        m.tok = q;
        if (!at_scopes_satisfy(q->granted, q->rec->full_access,
                               c->scope ? c->scope : DEFAULT_SCOPE)) {
            return fail(r, HTTP_FORBIDDEN, "insufficient_scope", "this token "
                        "lacks the scope %s needed to manage tokens",
                        c->scope ? c->scope : DEFAULT_SCOPE);
        }
    }
    want = query_param(r, "owner", &bad);
    if (bad || (want && at_check_owner(want))) {
        return fail(r, HTTP_BAD_REQUEST, "invalid", "invalid owner");
    }
    if (want && strcmp(want, m.account) && !m.admin) {
        return fail(r, HTTP_FORBIDDEN, "forbidden", "only the accounts in "
                    "ApiTokenManageAdmins may manage another owner's "
                    "tokens");
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
    ap_hook_pre_config(manage_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(manage_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(manage_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(manage_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
