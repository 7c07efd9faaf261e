/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* ApiTokenTrackUsage: the last-used time and address of a token, and when
 * it last exercised each scope (the granted scope that satisfied a
 * Require apitoken-scope of a request that went through), written in
 * log_transaction (after the response went out) and at most once per
 * ApiTokenUsageInterval per token for the whole node (apitoken_usage_shm.c
 * decides which process writes; this process's own table is the fallback
 * when the shared one cannot answer), so neither the latency nor a busy
 * database touches the request itself.  Errors are logged at debug. */

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>

#include "apitoken_usage.h"
#include "apitoken_authn.h"
#include "apitoken_config.h"
#include "apitoken_db.h"
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
static int due_here(const char *id, apr_time_t now, int interval)
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

/* The node's answer, or this process's when the node table has no room. */
static int due(const char *key, apr_time_t now, int interval)
{
    int rc = interval > 0 ? apitoken_usage_shm_due(key, now,
                                                   apr_time_from_sec(interval))
                          : -1;

    return rc >= 0 ? rc : due_here(key, now, interval);
}

/* Tell the tool (list, show, audit --unused) whether "never used" can be
 * believed: once per (re)start and state, on the request's connection. */
static void record_tracking(request_rec *r, int on)
{
    apitoken_conn_t *conn;
    at_store_t *store;
    apr_status_t rv;

    if (apitoken_db_acquire(&conn, &store, r) != APR_SUCCESS) {
        return;
    }
    rv = at_store_set_tracking(store, on, apr_time_sec(apr_time_now()));
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                      "APT07004: recording that usage tracking is %s "
                      "failed: %s", on ? "on" : "off",
                      at_store_error(store));
    }
}

int apitoken_log_transaction(request_rec *r)
{
    const apitoken_dir_conf_t *conf;
    const apr_array_header_t *used;
    const at_token_rec_t *rec;
    apitoken_req_t *q;
    apitoken_conn_t *conn;
    at_store_t *store;
    apr_array_header_t *scopes;
    apr_time_t now;
    apr_status_t rv;
    int interval, touch, bad = 0, i;

    if (r->main || !apitoken_is_ours(r)) {
        return DECLINED;
    }
    conf = ap_get_module_config(r->per_dir_config, &apitoken_module);
    q = apitoken_req_get(r);
    rec = q ? apitoken_req_record(q) : NULL;
    if (rec && !apitoken_req_authorised(q)) {
        /* A good token that authz refused: counted here, once, as only
         * now is it sure that no other Require line granted. */
        apitoken_status_request(r, apitoken_req_denied_scopes(q)
                                   ? APITOKEN_ST_DENIED_INSUFFICIENT_SCOPE
                                   : APITOKEN_ST_DENIED_AUTHZ);
    }
    if (!rec) {
        return DECLINED;
    }
    if (apitoken_usage_shm_record_due(conf->track_usage)) {
        record_tracking(r, conf->track_usage);
    }
    if (!conf->track_usage) {
        return DECLINED;
    }
    now = apr_time_now();
    interval = apitoken_global ? apitoken_global->usage_interval
                               : APITOKEN_DEFAULT_USAGE_INTERVAL;
    touch = due(rec->id, now, interval);
    /* The scopes a Require line of a request that went through used;
     * throttled per token and scope. */
    scopes = apr_array_make(r->pool, 2, sizeof(const char *));
    used = apitoken_req_authorised(q) ? apitoken_req_used_scopes(q) : NULL;
    for (i = 0; used && i < used->nelts; ++i) {
        const char *sc = APR_ARRAY_IDX(used, i, const char *);
        if (due(apr_pstrcat(r->pool, rec->id, " ", sc, NULL), now,
                interval)) {
            APR_ARRAY_PUSH(scopes, const char *) = sc;
        }
    }
    if (!touch && !scopes->nelts) {
        return DECLINED;
    }
    /* The connection the token check took, if it took one: this runs
     * in a cleanup of the request's pool, before the one giving it back. */
    if (apitoken_db_acquire(&conn, &store, r) != APR_SUCCESS) {
        return DECLINED;
    }
    if (touch) {
        rv = at_store_touch(store, rec->id, apr_time_sec(now),
                            r->useragent_ip ? r->useragent_ip : "");
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                          "APT07001: last-used update of token %s failed: "
                          "%s", rec->id, at_store_error(store));
            bad = rv != APR_NOTFOUND;
        }
        else {
            apitoken_status_add(APITOKEN_ST_USAGE_WRITES, 1);
        }
    }
    for (i = 0; !bad && i < scopes->nelts; ++i) {
        const char *sc = APR_ARRAY_IDX(scopes, i, const char *);
        rv = at_store_scope_touch(store, rec->id, sc, apr_time_sec(now));
        if (rv != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r,
                          "APT07002: scope usage update of token %s (%s) "
                          "failed: %s", rec->id, sc,
                          at_store_error(store));
            bad = rv != APR_NOTFOUND;
        }
        else {
            apitoken_status_add(APITOKEN_ST_USAGE_WRITES, 1);
        }
    }
    if (bad) {
        apitoken_db_mark_bad(conn);
    }
    return DECLINED;
}
