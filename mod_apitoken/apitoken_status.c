/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Counters shared by all httpd processes and the apitoken-status handler.
 * The segment is anonymous shared memory owned by the process pool, so
 * children inherit it at fork and a graceful restart keeps it; pre_mpm,
 * which httpd runs only on a start or a full restart, zeroes it.  No lock
 * is taken: every update is one relaxed atomic add. */

#include <httpd.h>
#include <http_config.h>
#include <http_core.h>
#include <http_log.h>
#include <http_protocol.h>
#include <http_request.h>
#include <scoreboard.h>
#include <apr_strings.h>

#include "apitoken_config.h"
#include "apitoken_shm.h"
#include "apitoken_status.h"

APLOG_USE_MODULE(apitoken);

#define SHM_KEY "apitoken_status_shm"

typedef struct shared_t {
    apr_uint64_t started;                    /* apr_time_t */
    apr_uint64_t marker_read;                /* apr_time_t; 0 = never */
    apr_uint64_t c[APITOKEN_ST_COUNT];
    apr_uint64_t bucket[APITOKEN_ST_NBUCKETS];  /* not cumulative */
    apr_uint64_t q_count;
    apr_uint64_t q_sum_us;
} shared_t;

/* Set in the parent's post_config, inherited by the children. */
static shared_t *shared;

static const apr_interval_time_t bucket_us[APITOKEN_ST_NBUCKETS - 1] =
    APITOKEN_ST_BUCKETS_US;

/* Names in the text output and labels in the Prometheus one. */
static const char *const names[] = {
    "granted",
    "malformed", "wrong_prefix", "bad_checksum", "unknown_id",
    "wrong_secret", "expired", "revoked", "address_not_allowed",
    "rotated_out", "user_mismatch",
    "insufficient_scope", "authz_refused", "invalid_request",
    "no_credentials",
    "db_unavailable",
    "hit", "miss", "stale", "negative_hit",
    "db_errors",
    "usage_writes",
};
_Static_assert(sizeof(names) / sizeof(names[0]) == APITOKEN_ST_COUNT,
               "one name per counter");

#define FIRST_DENIED APITOKEN_ST_DENIED_MALFORMED
#define LAST_DENIED  APITOKEN_ST_DENIED_NO_CREDENTIALS
#define FIRST_CACHE  APITOKEN_ST_CACHE_HIT
#define LAST_CACHE   APITOKEN_ST_CACHE_NEGATIVE_HIT

static apr_uint64_t get(const apr_uint64_t *v)
{
    return __atomic_load_n(v, __ATOMIC_RELAXED);
}

void apitoken_status_add(int counter, apr_uint64_t n)
{
    if (shared && counter >= 0 && counter < APITOKEN_ST_COUNT) {
        __atomic_fetch_add(&shared->c[counter], n, __ATOMIC_RELAXED);
    }
}

void apitoken_status_request(request_rec *r, int counter)
{
    if (!r->main && !r->prev) {
        apitoken_status_add(counter, 1);
    }
}

int apitoken_status_denied(at_reason_t reason)
{
    /* Named pairs, so neither enum's order matters. */
    static const struct {
        at_reason_t reason;
        apitoken_status_counter_t counter;
    } map[] = {
        { AT_REASON_OK, APITOKEN_ST_GRANTED },
        { AT_REASON_MALFORMED, APITOKEN_ST_DENIED_MALFORMED },
        { AT_REASON_WRONG_PREFIX, APITOKEN_ST_DENIED_WRONG_PREFIX },
        { AT_REASON_BAD_CHECKSUM, APITOKEN_ST_DENIED_BAD_CHECKSUM },
        { AT_REASON_UNKNOWN_ID, APITOKEN_ST_DENIED_UNKNOWN_ID },
        { AT_REASON_WRONG_SECRET, APITOKEN_ST_DENIED_WRONG_SECRET },
        { AT_REASON_EXPIRED, APITOKEN_ST_DENIED_EXPIRED },
        { AT_REASON_REVOKED, APITOKEN_ST_DENIED_REVOKED },
        { AT_REASON_ADDRESS, APITOKEN_ST_DENIED_ADDRESS },
        { AT_REASON_ROTATED_OUT, APITOKEN_ST_DENIED_ROTATED_OUT },
        { AT_REASON_USER_MISMATCH, APITOKEN_ST_DENIED_USER_MISMATCH },
    };
    unsigned int i;

    for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (map[i].reason == reason) {
            return map[i].counter;
        }
    }
    /* A reason added to the core without a counter here. */
    return APITOKEN_ST_DENIED_MALFORMED;
}

void apitoken_status_observe_query(apr_interval_time_t t)
{
    int i;

    if (!shared) {
        return;
    }
    if (t < 0) {
        t = 0;
    }
    for (i = 0; i < APITOKEN_ST_NBUCKETS - 1 && t > bucket_us[i]; ++i) {
    }
    __atomic_fetch_add(&shared->bucket[i], 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&shared->q_sum_us, (apr_uint64_t)t, __ATOMIC_RELAXED);
    __atomic_fetch_add(&shared->q_count, 1, __ATOMIC_RELAXED);
}

void apitoken_status_marker_read(apr_time_t when)
{
    apr_uint64_t old, w = (apr_uint64_t)when;
    int n;

    if (!shared) {
        return;
    }
    /* Keep the newest time; a bounded CAS loop, as readers race. */
    old = get(&shared->marker_read);
    for (n = 0; n < 64 && old < w; ++n) {
        if (__atomic_compare_exchange_n(&shared->marker_read, &old, w, 0,
                                        __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED)) {
            break;
        }
    }
}

static void reset(void)
{
    memset(shared, 0, sizeof(*shared));
    shared->started = (apr_uint64_t)apr_time_now();
}

static int status_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    void *data;
    int fresh;
    apr_status_t rv;

    rv = apitoken_node_shm(&data, &fresh, SHM_KEY, sizeof(shared_t), s);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s,
                     "APT08001: cannot create the shared memory for the "
                     "status counters; they stay empty");
        return OK;
    }
    shared = data;
    if (fresh) {
        reset();
    }
    return OK;
}

/* Only on a start or a full restart (a graceful one keeps the counts). */
static int status_pre_mpm(apr_pool_t *p, ap_scoreboard_e sb_type)
{
    if (shared) {
        reset();
    }
    return OK;
}

static const char *iso_time(apr_time_t t, apr_pool_t *p)
{
    apr_time_exp_t e;

    apr_time_exp_gmt(&e, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02dZ",
                        e.tm_year + 1900, e.tm_mon + 1, e.tm_mday,
                        e.tm_hour, e.tm_min, e.tm_sec);
}

/* Bucket bounds as Prometheus writes them; APR's "%g" drops the leading
 * zero, so they are spelt out (same order as APITOKEN_ST_BUCKETS_US). */
static const char *const le_names[APITOKEN_ST_NBUCKETS] = {
    "0.0005", "0.001", "0.002", "0.005", "0.01", "0.025", "0.05", "0.1",
    "0.25", "+Inf"
};

static void show_text(request_rec *r, const shared_t *v, apr_time_t now)
{
    apr_uint64_t cum = 0;
    int i;

    ap_set_content_type(r, "text/plain; charset=utf-8");
    ap_rprintf(r, "Started: %s\n", iso_time((apr_time_t)v->started,
                                            r->pool));
    ap_rprintf(r, "Uptime: %" APR_INT64_T_FMT "\n",
               (apr_int64_t)apr_time_sec(now - (apr_time_t)v->started));
    ap_rprintf(r, "granted: %" APR_UINT64_T_FMT "\n",
               v->c[APITOKEN_ST_GRANTED]);
    for (i = FIRST_DENIED; i <= LAST_DENIED; ++i) {
        ap_rprintf(r, "denied.%s: %" APR_UINT64_T_FMT "\n", names[i],
                   v->c[i]);
    }
    ap_rprintf(r, "db_unavailable: %" APR_UINT64_T_FMT "\n",
               v->c[APITOKEN_ST_DB_UNAVAILABLE]);
    for (i = FIRST_CACHE; i <= LAST_CACHE; ++i) {
        ap_rprintf(r, "cache.%s: %" APR_UINT64_T_FMT "\n", names[i],
                   v->c[i]);
    }
    ap_rprintf(r, "db.errors: %" APR_UINT64_T_FMT "\n",
               v->c[APITOKEN_ST_DB_ERRORS]);
    ap_rprintf(r, "db.queries: %" APR_UINT64_T_FMT "\n", v->q_count);
    ap_rprintf(r, "db.query_seconds_sum: %.6f\n",
               (double)v->q_sum_us / 1e6);
    for (i = 0; i < APITOKEN_ST_NBUCKETS; ++i) {
        cum += v->bucket[i];
        ap_rprintf(r, "db.query_seconds_le_%s: %" APR_UINT64_T_FMT "\n",
                   le_names[i], cum);
    }
    ap_rprintf(r, "usage_writes: %" APR_UINT64_T_FMT "\n",
               v->c[APITOKEN_ST_USAGE_WRITES]);
    if (v->marker_read) {
        ap_rprintf(r, "change_marker_age_seconds: %.3f\n",
                   (double)(now - (apr_time_t)v->marker_read) / 1e6);
    }
    else {
        ap_rputs("change_marker_age_seconds: never\n", r);
    }
}

static void prom_head(request_rec *r, const char *name, const char *type,
                      const char *help)
{
    ap_rprintf(r, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void show_prometheus(request_rec *r, const shared_t *v, apr_time_t now)
{
    apr_uint64_t denied = 0, cum = 0;
    int i;

    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    for (i = FIRST_DENIED; i <= LAST_DENIED; ++i) {
        denied += v->c[i];
    }
    prom_head(r, "apitoken_requests_total", "counter",
              "Requests decided by mod_apitoken, by result.");
    ap_rprintf(r, "apitoken_requests_total{result=\"granted\"} %"
               APR_UINT64_T_FMT "\n", v->c[APITOKEN_ST_GRANTED]);
    ap_rprintf(r, "apitoken_requests_total{result=\"denied\"} %"
               APR_UINT64_T_FMT "\n", denied);
    ap_rprintf(r, "apitoken_requests_total{result=\"unavailable\"} %"
               APR_UINT64_T_FMT "\n", v->c[APITOKEN_ST_DB_UNAVAILABLE]);
    prom_head(r, "apitoken_denied_total", "counter",
              "Requests refused, by reason.");
    for (i = FIRST_DENIED; i <= LAST_DENIED; ++i) {
        ap_rprintf(r, "apitoken_denied_total{reason=\"%s\"} %"
                   APR_UINT64_T_FMT "\n", names[i], v->c[i]);
    }
    prom_head(r, "apitoken_cache_lookups_total", "counter",
              "Token cache lookups, by outcome.");
    for (i = FIRST_CACHE; i <= LAST_CACHE; ++i) {
        ap_rprintf(r, "apitoken_cache_lookups_total{result=\"%s\"} %"
                   APR_UINT64_T_FMT "\n", names[i], v->c[i]);
    }
    prom_head(r, "apitoken_db_errors_total", "counter",
              "Failed database connects, checks and queries.");
    ap_rprintf(r, "apitoken_db_errors_total %" APR_UINT64_T_FMT "\n",
               v->c[APITOKEN_ST_DB_ERRORS]);
    prom_head(r, "apitoken_usage_writes_total", "counter",
              "Last-used and scope-usage writes to the database.");
    ap_rprintf(r, "apitoken_usage_writes_total %" APR_UINT64_T_FMT "\n",
               v->c[APITOKEN_ST_USAGE_WRITES]);
    prom_head(r, "apitoken_db_query_seconds", "histogram",
              "Time taken by token lookups in the database.");
    for (i = 0; i < APITOKEN_ST_NBUCKETS; ++i) {
        cum += v->bucket[i];
        ap_rprintf(r, "apitoken_db_query_seconds_bucket{le=\"%s\"} %"
                   APR_UINT64_T_FMT "\n", le_names[i], cum);
    }
    ap_rprintf(r, "apitoken_db_query_seconds_sum %.6f\n",
               (double)v->q_sum_us / 1e6);
    /* _count equals the +Inf bucket, as the format requires. */
    ap_rprintf(r, "apitoken_db_query_seconds_count %" APR_UINT64_T_FMT "\n",
               cum);
    prom_head(r, "apitoken_change_marker_age_seconds", "gauge",
              "Seconds since a process last read the change marker "
              "(absent until one has).");
    if (v->marker_read) {
        ap_rprintf(r, "apitoken_change_marker_age_seconds %.3f\n",
                   (double)(now - (apr_time_t)v->marker_read) / 1e6);
    }
    prom_head(r, "apitoken_start_time_seconds", "gauge",
              "When the counters started (Unix time).");
    ap_rprintf(r, "apitoken_start_time_seconds %" APR_INT64_T_FMT "\n",
               (apr_int64_t)apr_time_sec((apr_time_t)v->started));
}

/* "prometheus", "text", or NULL when the query asks for something else. */
static const char *wanted_format(request_rec *r)
{
    char *args, *tok, *last = NULL;
    const char *fmt = "text";

    if (!r->args || !*r->args) {
        return fmt;
    }
    args = apr_pstrdup(r->pool, r->args);
    for (tok = apr_strtok(args, "&", &last); tok;
         tok = apr_strtok(NULL, "&", &last)) {
        if (!strcmp(tok, "format=prometheus")) {
            fmt = "prometheus";
        }
        else if (!strcmp(tok, "format=text")) {
            fmt = "text";
        }
        else {
            return NULL;
        }
    }
    return fmt;
}

static int status_handler(request_rec *r)
{
    shared_t v;
    const char *fmt;
    apr_time_t now = apr_time_now();
    int i;

    if (!r->handler || strcmp(r->handler, APITOKEN_STATUS_HANDLER)) {
        return DECLINED;
    }
    r->allowed = AP_METHOD_BIT << M_GET;
    if (r->method_number != M_GET) {
        return HTTP_METHOD_NOT_ALLOWED;
    }
    fmt = wanted_format(r);
    if (!fmt) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "APT08002: apitoken-status: unknown query (use "
                      "format=text or format=prometheus)");
        return HTTP_BAD_REQUEST;
    }
    if (!shared) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    /* A snapshot, each value read atomically. */
    v.started = get(&shared->started);
    v.marker_read = get(&shared->marker_read);
    for (i = 0; i < APITOKEN_ST_COUNT; ++i) {
        v.c[i] = get(&shared->c[i]);
    }
    for (i = 0; i < APITOKEN_ST_NBUCKETS; ++i) {
        v.bucket[i] = get(&shared->bucket[i]);
    }
    v.q_count = get(&shared->q_count);
    v.q_sum_us = get(&shared->q_sum_us);
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        ap_set_content_type(r, "text/plain; charset=utf-8");
        return OK;
    }
    if (!strcmp(fmt, "prometheus")) {
        show_prometheus(r, &v, now);
    }
    else {
        show_text(r, &v, now);
    }
    return OK;
}

void apitoken_status_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(status_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_pre_mpm(status_pre_mpm, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(status_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
