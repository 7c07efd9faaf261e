/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Directives, per-directory merge and the configuration checks that run
 * before httpd starts (also under `apache2 -t`). */

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <util_cfgtree.h>
#include <apr_strings.h>
#include <apr_lib.h>

#include "at_dburl.h"
#include "apitoken_config.h"

APLOG_USE_MODULE(apitoken);

apitoken_global_t *apitoken_global;

static const apitoken_accept_t accept_default = { 1, 0, NULL, NULL };

const apitoken_accept_t *apitoken_accept_default(void)
{
    return &accept_default;
}

void *apitoken_create_dir_conf(apr_pool_t *p, char *dir)
{
    apitoken_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->accept = &accept_default;
    c->cache_ttl = APITOKEN_DEFAULT_CACHE_TTL;
    c->track_usage = 1;         /* ApiTokenTrackUsage On */
    c->strip = 0;
    return c;
}

/* Never writes to base or add: both may be shared by other merges. */
void *apitoken_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const apitoken_dir_conf_t *base = basev;
    const apitoken_dir_conf_t *add = addv;
    apitoken_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->accept = add->accept_set ? add->accept : base->accept;
    c->accept_set = add->accept_set || base->accept_set;
    c->basic_user = add->basic_user_set ? add->basic_user : base->basic_user;
    c->basic_user_set = add->basic_user_set || base->basic_user_set;
    c->cache_ttl = add->cache_ttl_set ? add->cache_ttl : base->cache_ttl;
    c->cache_ttl_set = add->cache_ttl_set || base->cache_ttl_set;
    c->track_usage = add->track_usage_set ? add->track_usage
                                          : base->track_usage;
    c->track_usage_set = add->track_usage_set || base->track_usage_set;
    c->strip = add->strip_set ? add->strip : base->strip;
    c->strip_set = add->strip_set || base->strip_set;
    c->resource = add->resource_set ? add->resource : base->resource;
    c->resource_set = add->resource_set || base->resource_set;
    return c;
}

static apitoken_global_t *global_get(cmd_parms *cmd)
{
    if (!apitoken_global) {
        apitoken_global = apr_pcalloc(cmd->pool, sizeof(*apitoken_global));
        apitoken_global->usage_interval = APITOKEN_DEFAULT_USAGE_INTERVAL;
        apitoken_global->idle_timeout = APITOKEN_DEFAULT_DB_IDLE_TIMEOUT;
    }
    return apitoken_global;
}

const char *apitoken_set_db(cmd_parms *cmd, void *dummy, const char *arg)
{
    apitoken_global_t *g = global_get(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    at_dburl_t *url;
    const char *why = NULL;

    if (err) {
        return err;
    }
    if (g->db_text) {
        return apr_psprintf(cmd->pool, "ApiTokenDB is already set at %s:%d; "
                            "give it once", g->db_file, g->db_line);
    }
    if (at_dburl_parse(&url, arg, &why, cmd->pool) != APR_SUCCESS) {
        /* The URL may hold a password: name the bad part, not the URL. */
        return apr_psprintf(cmd->pool, "ApiTokenDB: invalid database URL: %s",
                            why ? why : "cannot be parsed");
    }
    g->db_text = arg;
    g->db = url;
    g->db_file = cmd->directive ? cmd->directive->filename : "?";
    g->db_line = cmd->directive ? cmd->directive->line_num : 0;
    return NULL;
}

const char *apitoken_set_driver_dir(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    apitoken_global_t *g = global_get(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    apr_finfo_t fi;

    if (err) {
        return err;
    }
    if (!ap_os_is_path_absolute(cmd->pool, arg)
        || apr_stat(&fi, arg, APR_FINFO_TYPE, cmd->temp_pool) != APR_SUCCESS
        || fi.filetype != APR_DIR) {
        return apr_psprintf(cmd->pool, "ApiTokenDBDriverDir: '%s' is not an "
                            "absolute path to a directory", arg);
    }
    g->driver_src_dir = arg;
    return NULL;
}

static const char *parse_seconds(int *out, cmd_parms *cmd, const char *arg,
                                 int min, int max)
{
    char *end;
    apr_int64_t v;

    errno = 0;
    v = apr_strtoi64(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number of seconds "
                            "from %d to %d", cmd->cmd->name, arg, min, max);
    }
    *out = (int)v;
    return NULL;
}

const char *apitoken_set_usage_interval(cmd_parms *cmd, void *dummy,
                                        const char *arg)
{
    apitoken_global_t *g = global_get(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    return err ? err : parse_seconds(&g->usage_interval, cmd, arg, 0, 86400);
}

const char *apitoken_set_max_conns(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    apitoken_global_t *g = global_get(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    return err ? err : parse_seconds(&g->max_conns, cmd, arg, 0, 10000);
}

const char *apitoken_set_idle_timeout(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    apitoken_global_t *g = global_get(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    return err ? err : parse_seconds(&g->idle_timeout, cmd, arg, 1, 86400);
}

const char *apitoken_set_fast_path(cmd_parms *cmd, void *dummy, int on)
{
    apitoken_global_t *g = global_get(cmd);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (!err) {
        g->db_plain = !on;
    }
    return err;
}

const char *apitoken_set_cache_ttl(cmd_parms *cmd, void *dconf,
                                   const char *arg)
{
    apitoken_dir_conf_t *c = dconf;
    const char *err = parse_seconds(&c->cache_ttl, cmd, arg, 0, 86400);

    if (!err) {
        c->cache_ttl_set = 1;
    }
    return err;
}

const char *apitoken_set_track_usage(cmd_parms *cmd, void *dconf, int on)
{
    apitoken_dir_conf_t *c = dconf;

    c->track_usage = on;
    c->track_usage_set = 1;
    return NULL;
}

/* Parsed now, so a bad expression stops httpd with the file and line. */
const char *apitoken_set_resource(cmd_parms *cmd, void *dconf,
                                  const char *arg)
{
    apitoken_dir_conf_t *c = dconf;
    const char *err = NULL;

    c->resource = ap_expr_parse_cmd(cmd, arg, AP_EXPR_FLAG_STRING_RESULT,
                                    &err, NULL);
    if (err) {
        return apr_psprintf(cmd->pool, "ApiTokenResource: cannot parse "
                            "'%s': %s", arg, err);
    }
    c->resource_set = 1;
    return NULL;
}

const char *apitoken_set_strip(cmd_parms *cmd, void *dconf, int on)
{
    apitoken_dir_conf_t *c = dconf;

    c->strip = on;
    c->strip_set = 1;
    return NULL;
}

/* An HTTP token (RFC 9110 tchar), as header names and auth schemes are. */
static int is_http_token(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; ++s) {
        if (!apr_isalnum(*s) && !strchr("!#$%&'*+-.^_`|~", *s)) {
            return 0;
        }
    }
    return 1;
}

static const char **to_list(apr_array_header_t *a)
{
    if (a->nelts == 0) {
        return NULL;
    }
    *(const char **)apr_array_push(a) = NULL;
    return (const char **)a->elts;
}

const char *apitoken_set_accept(cmd_parms *cmd, void *dconf,
                                const char *args)
{
    apitoken_dir_conf_t *c = dconf;
    apitoken_accept_t *acc = apr_pcalloc(cmd->pool, sizeof(*acc));
    apr_array_header_t *words = apr_array_make(cmd->pool, 2, sizeof(char *));
    apr_array_header_t *hdrs = apr_array_make(cmd->pool, 2, sizeof(char *));
    const char *w;
    int n = 0;

    while (*(w = ap_getword_conf(cmd->pool, &args))) {
        ++n;
        if (!strcasecmp(w, "bearer")) {
            acc->bearer = 1;
        }
        else if (!strcasecmp(w, "basic")) {
            acc->basic = 1;
        }
        else if (!strncasecmp(w, "scheme:", 7)) {
            const char *word = w + 7;
            if (!is_http_token(word) || !strcasecmp(word, "bearer")
                || !strcasecmp(word, "basic")) {
                return apr_psprintf(cmd->pool, "ApiTokenAccept: '%s' needs "
                                    "an authentication scheme word other "
                                    "than Bearer or Basic after 'scheme:'",
                                    w);
            }
            *(const char **)apr_array_push(words) = word;
        }
        else if (!strncasecmp(w, "header:", 7)) {
            const char *name = w + 7;
            if (!is_http_token(name) || !strcasecmp(name, "Authorization")
                || !strcasecmp(name, "Proxy-Authorization")
                || !strcasecmp(name, "Cookie")) {
                return apr_psprintf(cmd->pool, "ApiTokenAccept: '%s' needs "
                                    "a header name (not Authorization or "
                                    "Cookie) after 'header:'", w);
            }
            *(const char **)apr_array_push(hdrs) = name;
        }
        else {
            return apr_psprintf(cmd->pool, "ApiTokenAccept: unknown form "
                                "'%s' (expected bearer, basic, scheme:WORD "
                                "or header:NAME)", w);
        }
    }
    if (n == 0) {
        return "ApiTokenAccept needs at least one form";
    }
    acc->scheme_words = to_list(words);
    acc->header_names = to_list(hdrs);
    c->accept = acc;
    c->accept_set = 1;
    return NULL;
}

/* A user name Basic can carry: no ':' (it ends the user part), no space
 * or control character (refused in Basic credentials). */
static int is_basic_user_name(const char *s)
{
    if (!*s) {
        return 0;
    }
    for (; *s; ++s) {
        if (*s == ':' || apr_iscntrl(*s) || *s == ' ') {
            return 0;
        }
    }
    return 1;
}

const char *apitoken_set_basic_user(cmd_parms *cmd, void *dconf,
                                    const char *args)
{
    apitoken_dir_conf_t *c = dconf;
    apitoken_basic_user_t *bu = apr_pcalloc(cmd->pool, sizeof(*bu));
    apr_array_header_t *names = apr_array_make(cmd->pool, 2, sizeof(char *));
    const char *w;
    int n = 0;

    while (*(w = ap_getword_conf(cmd->pool, &args))) {
        ++n;
        if (!strcasecmp(w, "any")) {
            bu->any = 1;
        }
        else if (!strcasecmp(w, "owner")) {
            continue;           /* always accepted; allowed for clarity */
        }
        else if (!is_basic_user_name(w)) {
            return apr_psprintf(cmd->pool, "ApiTokenBasicUser: '%s' is not "
                                "a user name Basic can carry (no ':', "
                                "space or control character)", w);
        }
        else {
            *(const char **)apr_array_push(names) = w;
        }
    }
    if (n == 0) {
        return "ApiTokenBasicUser needs owner, any or at least one name";
    }
    if (bu->any && n > 1) {
        return "ApiTokenBasicUser: 'any' takes no other words (it already "
               "accepts every user name)";
    }
    bu->names = to_list(names);
    c->basic_user = bu;
    c->basic_user_set = 1;
    return NULL;
}


/* Walk the configuration tree once it is complete.  mod_authz_core answers
 * a failed Require for an authenticated user with 401 unless
 * AuthzSendForbiddenOnFailure is On, so every AuthType apitoken section
 * should have it in force; warn, naming the file and line, where neither the
 * section nor an enclosing one sets it. */
typedef struct walk_t {
    apr_pool_t *p;
    int n_authtype;
    const ap_directive_t *first_authtype;
    int n_warn;
    int warn;
} walk_t;

static int list_has_forbidden_on(const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "AuthzSendForbiddenOnFailure")) {
            /* The last one in a section wins, as in httpd. */
            const ap_directive_t *e = d->next;
            int on = d->args && !strcasecmp(d->args, "on");
            for (; e; e = e->next) {
                if (!strcasecmp(e->directive, "AuthzSendForbiddenOnFailure")) {
                    on = e->args && !strcasecmp(e->args, "on");
                }
            }
            return on;
        }
    }
    return 0;
}

static int forbidden_in_force(const ap_directive_t *d)
{
    const ap_directive_t *sec;

    for (sec = d->parent; ; sec = sec->parent) {
        const ap_directive_t *first = sec ? sec->first_child : ap_conftree;
        if (list_has_forbidden_on(first)) {
            return 1;
        }
        if (!sec) {
            return 0;
        }
    }
}

static void walk(walk_t *w, const ap_directive_t *d)
{
    for (; d; d = d->next) {
        if (!strcasecmp(d->directive, "AuthType") && d->args) {
            const char *a = d->args;
            char *word = ap_getword_conf(w->p, &a);
            if (!strcasecmp(word, APITOKEN_AUTH_TYPE)) {
                if (!w->n_authtype++) {
                    w->first_authtype = d;
                }
                if (w->warn && !forbidden_in_force(d)) {
                    ++w->n_warn;
                    ap_log_error(APLOG_MARK, APLOG_WARNING | APLOG_STARTUP, 0,
                                 NULL, "APT01001: %s:%d: AuthType apitoken "
                                 "without AuthzSendForbiddenOnFailure On: a "
                                 "token lacking a scope gets 401 instead of "
                                 "403 insufficient_scope",
                                 d->filename, d->line_num);
                }
            }
        }
        if (d->first_child) {
            walk(w, d->first_child);
        }
    }
}

/* check_config: runs before `apache2 -t` says "Syntax OK". */
int apitoken_check_conftree(apr_pool_t *ptemp, server_rec *s)
{
    walk_t w;

    memset(&w, 0, sizeof(w));
    w.p = ptemp;
    /* httpd reads its configuration twice at startup: warn once. */
    w.warn = ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST
             || ap_state_query(AP_SQ_MAIN_STATE) != AP_SQ_MS_CREATE_PRE_CONFIG;
    walk(&w, ap_conftree);
    if (w.n_authtype && (!apitoken_global || !apitoken_global->db)) {
        ap_log_error(APLOG_MARK, APLOG_CRIT | APLOG_STARTUP, 0, NULL,
                     "APT01002: %s:%d: AuthType apitoken needs ApiTokenDB "
                     "URL in the global server configuration, which is "
                     "not set", w.first_authtype->filename,
                     w.first_authtype->line_num);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}
