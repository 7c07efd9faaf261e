/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* ApiTokenTrackUsage: the last-used time and address of a token, written in
 * log_transaction (after the response went out) and at most once per
 * ApiTokenUsageInterval per token per process, so neither the latency nor a
 * busy database touches the request itself.  Errors are logged at debug. */

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "mod_apitoken.h"
#include "apitoken_status.h"

APLOG_USE_MODULE(apitoken);

/* Bound the throttle table: it is cleared when it grows past this. */
#define USAGE_TABLE_MAX 10000

static struct {
    apr_pool_t *pool;              /* holds the table; recreated on clear */
    apr_hash_t *last;              /* token id -> apr_time_t * */
    apr_thread_mutex_t *mutex;
    apr_pool_t *parent;
} usage;

void apitoken_usage_child_init(apr_pool_t *pchild)
{
    usage.parent = pchild;
    apr_thread_mutex_create(&usage.mutex, APR_THREAD_MUTEX_DEFAULT, pchild);
    apr_pool_create(&usage.pool, pchild);
    usage.last = apr_hash_make(usage.pool);
}

/* 1 when this process should write the token's usage now (and records that
 * it does, so concurrent requests do not write twice). */
static int due(const char *id, apr_time_t now, int interval)
{
    apr_time_t *t;
    int go = 0;

    if (!usage.mutex || apr_thread_mutex_lock(usage.mutex) != APR_SUCCESS) {
        return 0;
    }
    t = apr_hash_get(usage.last, id, APR_HASH_KEY_STRING);
    if (!t || now - *t >= apr_time_from_sec(interval)) {
        if (!t) {
            if (apr_hash_count(usage.last) >= USAGE_TABLE_MAX) {
                apr_pool_clear(usage.pool);
                usage.last = apr_hash_make(usage.pool);
            }
            t = apr_palloc(usage.pool, sizeof(*t));
            apr_hash_set(usage.last, apr_pstrdup(usage.pool, id),
                         APR_HASH_KEY_STRING, t);
        }
        *t = now;
        go = 1;
    }
    apr_thread_mutex_unlock(usage.mutex);
    return go;
}

int apitoken_log_transaction(request_rec *r)
{
    const apitoken_dir_conf_t *conf;
    apitoken_req_t *q;
    apitoken_conn_t *conn;
    at_store_t *store;
    apr_status_t rv;

    if (r->main || !apitoken_is_ours(r)) {
        return DECLINED;
    }
    conf = ap_get_module_config(r->per_dir_config, &apitoken_module);
    q = apitoken_req_get(r);
    if (q && q->rec && !q->authorised) {
        /* A good token that authz refused: counted here, once, as only
         * now is it sure that no other Require line granted. */
        apitoken_status_request(r, q->denied_scopes
                                   ? APITOKEN_ST_DENIED_INSUFFICIENT_SCOPE
                                   : APITOKEN_ST_DENIED_AUTHZ);
    }
    if (!conf->track_usage || !q || !q->rec) {
        return DECLINED;
    }
    if (!due(q->rec->id, apr_time_now(),
             apitoken_global ? apitoken_global->usage_interval
                             : APITOKEN_DEFAULT_USAGE_INTERVAL)) {
        return DECLINED;
    }
    if (apitoken_db_acquire(&conn, &store, r) != APR_SUCCESS) {
        return DECLINED;
    }
    rv = at_store_touch(store, q->rec->id, apr_time_sec(apr_time_now()),
                        r->useragent_ip ? r->useragent_ip : "");
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                      "APT05001: last-used update of token %s failed: %s",
                      q->rec->id, at_store_error(store));
    }
    apitoken_db_release(conn, rv != APR_SUCCESS && rv != APR_NOTFOUND);
    return DECLINED;
}
