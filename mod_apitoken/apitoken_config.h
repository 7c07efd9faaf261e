/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_CONFIG_H
#define APITOKEN_CONFIG_H

/* The module's settings: the process-wide ones (ApiTokenDB and friends)
 * and the per-directory ones, with their directives.  Every other file of
 * the glue reads them from here; this file depends on none of them. */

#include <httpd.h>
#include <http_config.h>
#include <ap_expr.h>

#include "at_dburl.h"
#include "at_store.h"
#include "at_token.h"

extern module AP_MODULE_DECLARE_DATA apitoken_module;

#define APITOKEN_AUTH_TYPE "apitoken"
#define APITOKEN_DEFAULT_USAGE_INTERVAL 60
#define APITOKEN_DEFAULT_DB_IDLE_TIMEOUT 60
#define APITOKEN_DEFAULT_CACHE_TTL 300

/* Process-wide settings (ApiTokenDB and friends are global-server only).
 * Allocated from pconf in pre_config, so a restart starts clean. */
typedef struct apitoken_global_t {
    const char *db_text;          /* ApiTokenDB as written (may hold a password) */
    const at_dburl_t *db;         /* parsed; NULL when ApiTokenDB is absent */
    const char *db_file;          /* where ApiTokenDB was set: file */
    int db_line;                  /* and line */
    const char *driver_src_dir;   /* ApiTokenDBDriverDir or the build default */
    const char *driver_dir;       /* private dir with just the one driver */
    int usage_interval;           /* ApiTokenUsageInterval, seconds */
    int max_conns;                /* ApiTokenDBMaxConnections; 0 = threads */
    int idle_timeout;             /* ApiTokenDBIdleTimeout, seconds */
    int db_plain;                 /* ApiTokenDBFastPath Off */
} apitoken_global_t;

extern apitoken_global_t *apitoken_global;

/* ApiTokenAccept: the credential forms a location accepts. */
typedef struct apitoken_accept_t {
    int bearer;
    int basic;
    const char **scheme_words;    /* NULL-terminated; NULL when none */
    const char **header_names;    /* NULL-terminated; NULL when none */
} apitoken_accept_t;

/* ApiTokenBasicUser: the user names Basic may carry with a token.  The
 * owner's name always counts; names compare without regard to the case of
 * ASCII letters. */
typedef struct apitoken_basic_user_t {
    int any;                      /* any user name */
    const char **names;           /* NULL-terminated; NULL when none */
} apitoken_basic_user_t;

/* Per-directory settings.  Each field has a "was set" flag so a merge
 * inherits what the child leaves alone, whatever value the parent has. */
typedef struct apitoken_dir_conf_t {
    const apitoken_accept_t *accept;
    const apitoken_basic_user_t *basic_user;   /* NULL: the owner only */
    unsigned int accept_set:1;
    unsigned int basic_user_set:1;
    unsigned int cache_ttl_set:1;
    unsigned int track_usage_set:1;
    unsigned int strip_set:1;
    unsigned int resource_set:1;
    const ap_expr_info_t *resource;  /* ApiTokenResource; NULL: none */
    int cache_ttl;                /* seconds; 0 = database on every request */
    int track_usage;
    int strip;
    void *manage;                 /* the management handler's settings or
                                   * NULL; merged by mod_apitoken.c */
} apitoken_dir_conf_t;

void *apitoken_create_dir_conf(apr_pool_t *p, char *dir);
void *apitoken_merge_dir_conf(apr_pool_t *p, void *base, void *add);
const apitoken_accept_t *apitoken_accept_default(void);
int apitoken_check_conftree(apr_pool_t *pconf, server_rec *s);

/* The directives of this file, for the module's command table. */
const char *apitoken_set_db(cmd_parms *cmd, void *dummy, const char *arg);
const char *apitoken_set_driver_dir(cmd_parms *cmd, void *dummy,
                                    const char *arg);
const char *apitoken_set_usage_interval(cmd_parms *cmd, void *dummy,
                                        const char *arg);
const char *apitoken_set_max_conns(cmd_parms *cmd, void *dummy,
                                   const char *arg);
const char *apitoken_set_idle_timeout(cmd_parms *cmd, void *dummy,
                                      const char *arg);
const char *apitoken_set_fast_path(cmd_parms *cmd, void *dummy, int on);
const char *apitoken_set_cache_ttl(cmd_parms *cmd, void *dconf,
                                   const char *arg);
const char *apitoken_set_track_usage(cmd_parms *cmd, void *dconf, int on);
const char *apitoken_set_strip(cmd_parms *cmd, void *dconf, int on);
const char *apitoken_set_resource(cmd_parms *cmd, void *dconf,
                                  const char *arg);
const char *apitoken_set_accept(cmd_parms *cmd, void *dconf,
                                const char *args);
const char *apitoken_set_basic_user(cmd_parms *cmd, void *dconf,
                                    const char *args);

#define APITOKEN_CONFIG_CMDS                                                 \
    AP_INIT_TAKE1("ApiTokenDB", apitoken_set_db, NULL, RSRC_CONF,            \
        "The token database URL (sqlite3:///path, pgsql://user@host/db or "  \
        "mysql://user@host/db), set once in the global server "              \
        "configuration."),                                                   \
    AP_INIT_TAKE1("ApiTokenDBDriverDir", apitoken_set_driver_dir,            \
        NULL, RSRC_CONF,                                                     \
        "The directory holding the libdbi drivers; only the one driver "     \
        "ApiTokenDB needs is loaded from it."),                              \
    AP_INIT_TAKE1("ApiTokenDBMaxConnections", apitoken_set_max_conns,        \
        NULL, RSRC_CONF,                                                     \
        "The most database connections one httpd process keeps; 0 (the "     \
        "default) means one per worker thread."),                            \
    AP_INIT_TAKE1("ApiTokenDBIdleTimeout", apitoken_set_idle_timeout,        \
        NULL, RSRC_CONF,                                                     \
        "Seconds a pooled database connection may stay unused before it is " \
        "closed (default 60)."),                                             \
    AP_INIT_FLAG("ApiTokenDBFastPath", apitoken_set_fast_path,               \
        NULL, RSRC_CONF,                                                     \
        "On (the default): on SQLite, look tokens up with a prepared "       \
        "statement on libdbi's connection; Off: through libdbi's query "     \
        "interface, as with every other database."),                         \
    AP_INIT_TAKE1("ApiTokenUsageInterval", apitoken_set_usage_interval,      \
        NULL, RSRC_CONF,                                                     \
        "The fewest seconds between two last-used writes for one token in "  \
        "one process (default 60)."),                                        \
    AP_INIT_RAW_ARGS("ApiTokenAccept", apitoken_set_accept,                  \
        NULL, OR_AUTHCFG,                                                    \
        "The credential forms accepted here: bearer, basic, scheme:WORD "    \
        "and/or header:NAME (default bearer)."),                             \
    AP_INIT_RAW_ARGS("ApiTokenBasicUser", apitoken_set_basic_user,           \
        NULL, OR_AUTHCFG,                                                    \
        "The user names Basic credentials may carry with a token: owner "    \
        "(the default: the token's owner only), any, or names accepted in "  \
        "addition to the owner (e.g. __token__ x-access-token)."),           \
    AP_INIT_TAKE1("ApiTokenCacheTTL", apitoken_set_cache_ttl,                \
        NULL, OR_AUTHCFG,                                                    \
        "How many seconds a cached token lookup may be reused (default "     \
        "300); 0 asks the database on every request."),                      \
    AP_INIT_FLAG("ApiTokenTrackUsage", apitoken_set_track_usage,             \
        NULL, OR_AUTHCFG,                                                    \
        "On records each token's last-used time and client address after "   \
        "the response (default Off)."),                                      \
    AP_INIT_FLAG("ApiTokenStripCredentials", apitoken_set_strip,             \
        NULL, OR_AUTHCFG,                                                    \
        "On removes the token from the request headers once it has been "    \
        "checked, so backends and proxies never see it (default Off)."),     \
    AP_INIT_TAKE1("ApiTokenResource", apitoken_set_resource, NULL,           \
        OR_AUTHCFG,                                                          \
        "An expression (string) giving the resource of the request, "        \
        "matched by Require apitoken-resource against the token's "          \
        "resource patterns.")

#endif
