/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* mod_apitoken: API token authentication and per-feature scopes for httpd
 * 2.4.  This file registers the hooks and routes the core's log lines to
 * the error log; the work is in apitoken_*.c. */

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <http_main.h>

#include "at_log.h"
#include "apitoken_authn.h"
#include "apitoken_authz.h"
#include "apitoken_cache.h"
#include "apitoken_config.h"
#include "apitoken_db.h"
#include "apitoken_error.h"
#include "apitoken_manage.h"
#include "apitoken_status.h"
#include "apitoken_usage.h"

static void core_log(void *baton, at_log_level_t level, const char *file,
                     int line, const char *msg)
{
    int l;

    switch (level) {
    case AT_LOG_ERR:  l = APLOG_ERR;     break;
    case AT_LOG_WARN: l = APLOG_WARNING; break;
    case AT_LOG_INFO: l = APLOG_INFO;    break;
    default:          l = APLOG_DEBUG;   break;
    }
    ap_log_error_(file, line, APLOG_MODULE_INDEX, l, 0, ap_server_conf,
                  "APT00001: %s", msg);
}

static int pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    /* A restart reads the configuration again from scratch. */
    apitoken_global = NULL;
    apitoken_cache_pre_config(pconf);
    return OK;
}

static int check_config(apr_pool_t *pconf, apr_pool_t *plog,
                        apr_pool_t *ptemp, server_rec *s)
{
    return apitoken_check_conftree(ptemp, s);
}

static int post_config(apr_pool_t *pconf, apr_pool_t *plog,
                       apr_pool_t *ptemp, server_rec *s)
{
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;   /* the first of the two startup passes */
    }
    at_log_set(core_log, NULL, AT_LOG_DEBUG);
    return apitoken_db_post_config(pconf, s) == APR_SUCCESS
           && apitoken_cache_post_config(pconf, ptemp, s) == APR_SUCCESS
           ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

static void child_init(apr_pool_t *pchild, server_rec *s)
{
    at_log_set(core_log, NULL, AT_LOG_DEBUG);
    apitoken_usage_child_init(pchild);
    apitoken_db_child_init(pchild, s);
    apitoken_cache_child_init(pchild, s);
}

/* The settings of the management handler hang off the directory's; each
 * part merges its own. */
static void *merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    const apitoken_dir_conf_t *base = basev, *add = addv;
    apitoken_dir_conf_t *c = apitoken_merge_dir_conf(p, basev, addv);

    c->manage = apitoken_manage_merge(p, base->manage, add->manage);
    return c;
}

/* One table: each part lists its own directives. */
static const command_rec cmds[] = {
    APITOKEN_CONFIG_CMDS,
    APITOKEN_CACHE_CMDS,
    APITOKEN_MANAGE_CMDS,
    { NULL }
};

static void register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_authn(apitoken_check_authn, NULL, NULL, APR_HOOK_MIDDLE,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_note_auth_failure(apitoken_note_auth_failure, NULL, NULL,
                              APR_HOOK_MIDDLE);
    ap_hook_fixups(apitoken_fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_log_transaction(apitoken_log_transaction, NULL, NULL,
                            APR_HOOK_MIDDLE);
    apitoken_register_authz(p);
    apitoken_error_register_hooks(p);
    apitoken_manage_register_hooks(p);
    apitoken_status_register_hooks(p);
}

AP_DECLARE_MODULE(apitoken) = {
    STANDARD20_MODULE_STUFF,
    apitoken_create_dir_conf,
    merge_dir_conf,
    NULL,
    NULL,
    cmds,
    register_hooks,
    AP_MODULE_FLAG_NONE
};
