/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_MANAGE_H
#define APITOKEN_MANAGE_H

/* The "Manage API Tokens" handler (SetHandler apitoken-manage): a JSON API
 * under <location>/api/ and the static page at <location>/, for the
 * authenticated REMOTE_USER's own tokens (admins: any owner's). */

#include <httpd.h>
#include <http_config.h>

#define APITOKEN_MANAGE_HANDLER "apitoken-manage"

/* Hooks of the handler: pre_config, post_config, child_init, handler. */
void apitoken_manage_register_hooks(apr_pool_t *p);

/* Per-directory settings hang off apitoken_dir_conf_t.manage (NULL when
 * none of the directives below is used); merged without touching either
 * input. */
void *apitoken_manage_merge(apr_pool_t *p, void *base, void *add);

const char *apitoken_manage_set_enabled(cmd_parms *cmd, void *dconf,
                                        int on);
const char *apitoken_manage_set_assets(cmd_parms *cmd, void *dconf,
                                       const char *arg);
const char *apitoken_manage_set_admins(cmd_parms *cmd, void *dconf,
                                       const char *args);
const char *apitoken_manage_set_feature(cmd_parms *cmd, void *dconf,
                                        const char *args);
const char *apitoken_manage_set_default_expiry(cmd_parms *cmd, void *dconf,
                                               const char *arg);
const char *apitoken_manage_set_max_expiry(cmd_parms *cmd, void *dconf,
                                           const char *arg);
const char *apitoken_manage_set_limit(cmd_parms *cmd, void *dconf,
                                      const char *arg);
const char *apitoken_manage_set_scope(cmd_parms *cmd, void *dconf,
                                      const char *arg);

/* The directives, for the module's command table.  Never in .htaccess
 * (not even through AllowOverrideList): a user allowed FileInfo or
 * AuthConfig there must not enable the handler under an authentication of
 * their own, name themselves an admin, lift the create limit or weaken the
 * management scope. */
#define APITOKEN_MANAGE_CMDS                                                 \
    AP_INIT_FLAG("ApiTokenManage", apitoken_manage_set_enabled, NULL,        \
        RSRC_CONF | ACCESS_CONF,                                             \
        "On lets SetHandler apitoken-manage act here; anywhere else the "    \
        "handler refuses (default Off)."),                                   \
    AP_INIT_TAKE1("ApiTokenManageAssets", apitoken_manage_set_assets, NULL,  \
        RSRC_CONF | ACCESS_CONF,                                             \
        "The directory holding the management page (index.html, "            \
        "manage.css, manage.js); default: the installed copy."),             \
    AP_INIT_RAW_ARGS("ApiTokenManageAdmins", apitoken_manage_set_admins,     \
        NULL, RSRC_CONF | ACCESS_CONF,                                       \
        "Accounts that may manage the tokens of every owner (?owner=)."),    \
    AP_INIT_RAW_ARGS("ApiTokenFeature", apitoken_manage_set_feature, NULL,   \
        RSRC_CONF | ACCESS_CONF,                                             \
        "A feature of the catalogue, its description and optional levels "   \
        "(dns \"DNS zones\" read write); once any is given, scopes of "       \
        "other features are refused."),                                      \
    AP_INIT_TAKE1("ApiTokenManageDefaultExpiry",                             \
        apitoken_manage_set_default_expiry, NULL, RSRC_CONF | ACCESS_CONF,   \
        "How long a token made without an expiry lives, such as 30d, or "    \
        "never (the default)."),                                             \
    AP_INIT_TAKE1("ApiTokenManageMaxExpiry", apitoken_manage_set_max_expiry, \
        NULL, RSRC_CONF | ACCESS_CONF,                                       \
        "The furthest expiry a token made or changed here may have, such "   \
        "as 90d, or none (the default); never-expiring tokens are then "     \
        "refused."),                                                         \
    AP_INIT_TAKE1("ApiTokenManageCreateLimit", apitoken_manage_set_limit,    \
        NULL, RSRC_CONF | ACCESS_CONF,                                       \
        "The most tokens one account may create per minute, across all "     \
        "httpd processes (default 10; 0 = no limit)."),                      \
    AP_INIT_TAKE1("ApiTokenManageScope", apitoken_manage_set_scope, NULL,    \
        RSRC_CONF | ACCESS_CONF,                                             \
        "The scope an API token needs to call the management API "           \
        "(default tokens).")

#endif
