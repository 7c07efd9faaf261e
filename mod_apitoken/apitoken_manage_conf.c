/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The ApiTokenManage* directives and their per-directory merge. */

#include <string.h>

#include <httpd.h>
#include <http_config.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "at_scope.h"
#include "apitoken_manage.h"
#include "apitoken_manage_internal.h"

static manage_conf_t *conf_for(cmd_parms *cmd, void *dconf)
{
    apitoken_dir_conf_t *d = dconf;
    manage_conf_t *m = d->manage;

    if (!m) {
        m = apr_pcalloc(cmd->pool, sizeof(*m));
        m->enabled = MANAGE_UNSET;
        m->limit = MANAGE_UNSET;
        m->default_expiry = MANAGE_UNSET;
        m->max_expiry = MANAGE_UNSET;
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
    m->enabled = add->enabled != MANAGE_UNSET ? add->enabled : base->enabled;
    m->assets = add->assets ? add->assets : base->assets;
    m->admins = add->admins ? add->admins : base->admins;
    m->features = add->features ? add->features : base->features;
    m->limit = add->limit != MANAGE_UNSET ? add->limit : base->limit;
    m->scope = add->scope ? add->scope : base->scope;
    m->default_expiry = add->default_expiry != MANAGE_UNSET
                        ? add->default_expiry : base->default_expiry;
    m->max_expiry = add->max_expiry != MANAGE_UNSET ? add->max_expiry
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
        *out = MANAGE_NO_EXPIRY;
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

    return err ? err : set_expiry(cmd, &conf_for(cmd, dconf)->default_expiry,
                                  arg);
}

const char *apitoken_manage_set_max_expiry(cmd_parms *cmd, void *dconf,
                                           const char *arg)
{
    const char *err = main_config_only(cmd);

    return err ? err : set_expiry(cmd, &conf_for(cmd, dconf)->max_expiry, arg);
}

