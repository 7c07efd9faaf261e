/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The record for one token id (see apitoken_record.h): the caches while
 * the change marker is fresh, else the database on the request's
 * connection; what the database said is put in the caches under the
 * marker read before the lookup. */

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>

#include "apitoken_db.h"
#include "apitoken_marker.h"
#include "apitoken_record.h"
#include "apitoken_status.h"

APLOG_USE_MODULE(apitoken);

/* Ask the database on the request's connection. */
static apitoken_record_result_t from_database(apitoken_entry_t *out,
                                              const at_token_t *tok,
                                              int cached, apr_int64_t seq,
                                              int ttl, request_rec *r)
{
    apitoken_conn_t *conn;
    at_store_t *store;
    at_token_rec_t *found = NULL;
    at_verify_prep_t *prep;
    const char *prefix = NULL;
    const char *dberr = NULL;
    apr_status_t rv;

    if (apitoken_db_acquire(&conn, &store, r) != APR_SUCCESS) {
        return APITOKEN_RECORD_UNAVAILABLE;
    }
    rv = apitoken_db_prefix(&prefix, conn, r);
    if (rv == APR_SUCCESS && strcmp(prefix, tok->prefix)) {
        return APITOKEN_RECORD_WRONG_PREFIX;
    }
    if (rv == APR_SUCCESS) {
        apr_time_t t0 = apr_time_now();

        rv = apitoken_db_lookup(&found, conn, tok->id, &dberr, r->pool);
        apitoken_status_observe_query(apr_time_now() - t0);
    }
    else {
        dberr = at_store_error(store);
    }
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        apitoken_db_log_down(r, dberr ? dberr : at_store_error(store));
        apitoken_db_mark_bad(conn);
        return APITOKEN_RECORD_UNAVAILABLE;
    }
    if (cached) {
        apitoken_cache_put(tok->id, found, seq, ttl, r);
    }
    if (rv == APR_NOTFOUND) {
        return APITOKEN_RECORD_UNKNOWN;
    }
    prep = apr_palloc(r->pool, sizeof(*prep));
    at_verify_prepare(prep, found, r->pool);
    out->rec = found;
    out->prep = prep;
    return APITOKEN_RECORD_FOUND;
}

apitoken_record_result_t apitoken_record_find(apitoken_entry_t *out,
                                              const at_token_t *tok, int ttl,
                                              request_rec *r)
{
    char prefix[APITOKEN_MARKER_PREFIX_MAX];
    apr_int64_t seq = 0;

    memset(out, 0, sizeof(*out));
    /* The caches only while the marker is fresh; otherwise (TTL 0, the
     * marker unreadable for APITOKEN_MARKER_STALE_MS) the database
     * decides, or 503. */
    if (ttl <= 0 || !apitoken_cache_ready()
        || apitoken_marker_get(&seq, prefix, r) != APR_SUCCESS) {
        return from_database(out, tok, 0, 0, ttl, r);
    }
    if (strcmp(prefix, tok->prefix)) {
        return APITOKEN_RECORD_WRONG_PREFIX;
    }
    switch (apitoken_cache_get(out, tok->id, seq, ttl, r)) {
    case APITOKEN_CACHE_HIT:
        return APITOKEN_RECORD_FOUND;
    case APITOKEN_CACHE_UNKNOWN:
        return APITOKEN_RECORD_UNKNOWN;
    default:
        return from_database(out, tok, 1, seq, ttl, r);
    }
}
