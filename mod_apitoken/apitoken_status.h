/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_STATUS_H
#define APITOKEN_STATUS_H

/* Counters since the server started, shared by every httpd process, and
 * the "apitoken-status" handler that shows them as text or in the
 * Prometheus exposition format.
 *
 * The counters live in an anonymous shared memory segment created by the
 * parent in post_config, before the children fork.  A graceful restart
 * keeps it (and the counts); a full restart or a stop/start zeroes it.
 * Updates are lock-free atomic adds, safe from any thread of any process;
 * before the segment exists (and in processes without one) every call is
 * a no-op.  Counters only ever grow: readers compute deltas. */

#include <httpd.h>
#include <apr_time.h>

#include "at_verify.h"

#define APITOKEN_STATUS_HANDLER "apitoken-status"

typedef enum {
    APITOKEN_ST_GRANTED = 0,          /* authenticated and authorised */
    /* Refused tokens, one per at_reason_t other than AT_REASON_OK (mapped
     * by name in apitoken_status_denied()). */
    APITOKEN_ST_DENIED_MALFORMED,
    APITOKEN_ST_DENIED_WRONG_PREFIX,
    APITOKEN_ST_DENIED_BAD_CHECKSUM,
    APITOKEN_ST_DENIED_UNKNOWN_ID,
    APITOKEN_ST_DENIED_WRONG_SECRET,
    APITOKEN_ST_DENIED_EXPIRED,
    APITOKEN_ST_DENIED_REVOKED,
    APITOKEN_ST_DENIED_ADDRESS,
    APITOKEN_ST_DENIED_ROTATED_OUT,
    APITOKEN_ST_DENIED_USER_MISMATCH,
    APITOKEN_ST_DENIED_INSUFFICIENT_SCOPE, /* good token, scope missing */
    APITOKEN_ST_DENIED_AUTHZ,         /* good token, other Require refused */
    APITOKEN_ST_DENIED_INVALID_REQUEST,    /* 400 */
    APITOKEN_ST_DENIED_NO_CREDENTIALS,     /* 401 without an error */
    APITOKEN_ST_DB_UNAVAILABLE,       /* answered 503 */
    APITOKEN_ST_CACHE_HIT,            /* token record found in the cache */
    APITOKEN_ST_CACHE_MISS,           /* not cached: asked the database */
    APITOKEN_ST_CACHE_STALE,          /* cached but outdated (TTL, marker) */
    APITOKEN_ST_CACHE_NEGATIVE_HIT,   /* cached "no such id" */
    APITOKEN_ST_DB_ERRORS,            /* failed connects, pings, queries */
    APITOKEN_ST_USAGE_WRITES,         /* last-used and scope-usage writes */
    APITOKEN_ST_COUNT                 /* number of counters */
} apitoken_status_counter_t;

/* Upper bounds of the database query latency buckets, in microseconds;
 * a last bucket (+Inf) takes the rest. */
#define APITOKEN_ST_BUCKETS_US \
    { 500, 1000, 2000, 5000, 10000, 25000, 50000, 100000, 250000 }
#define APITOKEN_ST_NBUCKETS 10     /* including +Inf */

/* Add n to a counter (an apitoken_status_counter_t).  Out-of-range
 * counters are ignored. */
void apitoken_status_add(int counter, apr_uint64_t n);

/* Count one decision about a client's request: only the initial request
 * counts (not subrequests or internal redirects), so each client request
 * is counted once. */
void apitoken_status_request(request_rec *r, int counter);

/* The counter of a refusal reason (AT_REASON_OK gives GRANTED). */
int apitoken_status_denied(at_reason_t reason);

/* One database query that took t (successful or not). */
void apitoken_status_observe_query(apr_interval_time_t t);

/* The cache read the change marker at time when; the status shows the age
 * of the most recent read of any process. */
void apitoken_status_marker_read(apr_time_t when);

/* Registers post_config (creates the segment), pre_mpm (zeroes it on a
 * start or full restart) and the handler. */
void apitoken_status_register_hooks(apr_pool_t *p);

#endif
