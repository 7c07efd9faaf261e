/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* The change marker of the node (see apitoken_marker.h): a shared segment
 * read without a lock, and at most one database read per interval for
 * all the node's processes. */

#include <string.h>
#include <unistd.h>

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_atomic.h>
#include <apr_strings.h>

#include "apitoken_config.h"
#include "apitoken_db.h"
#include "apitoken_marker.h"
#include "apitoken_shm.h"
#include "apitoken_status.h"

APLOG_USE_MODULE(apitoken);

/* Per node: the last marker read, in a shared segment every process of
 * this httpd maps.  Readers take no lock: gen is a sequence lock (odd
 * while a reader of the database writes the fields).  tried_at is the
 * claim: the process that moves it forward by CAS, at most every
 * APITOKEN_MARKER_INTERVAL_MS, is the one that asks the database.  The
 * last claimant is preferred (the others wait half an interval more), so
 * the reads keep to one pooled connection instead of opening one in every
 * process in turn. */
#define MARKER_SHM_KEY "apitoken_marker_shm"

typedef struct node_marker_t {
    volatile apr_uint32_t gen;
    volatile apr_uint64_t seq;
    volatile apr_uint64_t read_at;   /* when the last good read started */
    volatile apr_uint64_t tried_at;  /* when the last read was claimed */
    volatile apr_uint32_t reader;    /* pid of the last claimant */
    char prefix[APITOKEN_MARKER_PREFIX_MAX];
} node_marker_t;

static node_marker_t *node;

void apitoken_marker_reset(void)
{
    node = NULL;
}

int apitoken_marker_ready(void)
{
    return node != NULL;
}

/* The node's marker segment: made once in the process pool, so that a
 * graceful restart keeps the mapping the children share; its value is
 * forgotten on every (re)start, as ApiTokenDB may now name another
 * database, and the first request of the generation reads it again. */
apr_status_t apitoken_marker_post_config(server_rec *s)
{
    void *data;
    int fresh;
    apr_status_t rv;

    rv = apitoken_node_shm(&data, &fresh, MARKER_SHM_KEY,
                           sizeof(node_marker_t), s);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "APT05009: cannot "
                     "create the shared memory for the change marker");
        return rv;
    }
    node = data;
    memset(node, 0, sizeof(*node));
    return APR_SUCCESS;
}

/* A consistent copy of the node's marker; 0 while a writer is at it (or
 * died in the middle: the next reader of the database repairs it). */
static int marker_load(apr_int64_t *seq, apr_time_t *read_at,
                       char prefix[APITOKEN_MARKER_PREFIX_MAX])
{
    int n;

    for (n = 0; n < 64; ++n) {
        apr_uint32_t g = apr_atomic_read32(&node->gen);

        if (g & 1) {
            continue;
        }
        *seq = (apr_int64_t)apr_atomic_read64(&node->seq);
        *read_at = (apr_time_t)apr_atomic_read64(&node->read_at);
        memcpy(prefix, node->prefix, sizeof(node->prefix));
        if (apr_atomic_read32(&node->gen) == g) {
            prefix[sizeof(node->prefix) - 1] = '\0';
            return 1;
        }
    }
    return 0;
}

/* Publish a good read.  Only the claimant writes, so an odd gen here is a
 * writer that died half-way: it is written over. */
static void marker_store(apr_int64_t seq, apr_time_t started, const char *pf)
{
    apr_uint32_t g = apr_atomic_read32(&node->gen) | 1;

    apr_atomic_set32(&node->gen, g);
    apr_atomic_set64(&node->seq, (apr_uint64_t)seq);
    apr_atomic_set64(&node->read_at, (apr_uint64_t)started);
    memset(node->prefix, 0, sizeof(node->prefix));
    memcpy(node->prefix, pf, strlen(pf));
    apr_atomic_set32(&node->gen, g + 1);
}

/* Read the marker from the database now; the caller won the claim. */
static void marker_read(request_rec *r, apr_time_t started)
{
    apitoken_conn_t *conn;
    at_store_t *store;
    const char *pf = NULL;
    apr_int64_t seq = 0;
    apr_status_t rv;
    int version = 0;

    rv = apitoken_db_acquire(&conn, &store, r);
    if (rv == APR_SUCCESS) {
        rv = at_store_get_meta(store, &pf, &version, &seq, r->pool);
        if (rv != APR_SUCCESS) {
            apitoken_db_log_down(r, at_store_error(store));
        }
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            apitoken_db_mark_bad(conn);
        }
    }
    if (rv == APR_SUCCESS && pf && strlen(pf) < sizeof(node->prefix)) {
        marker_store(seq, started, pf);
        apitoken_status_marker_read(started);
    }
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, rv, r,
                  "APT05006: change marker %" APR_INT64_T_FMT " (%s)", seq,
                  rv == APR_SUCCESS ? "read" : "read failed");
}

apr_status_t apitoken_marker_get(apr_int64_t *seq, char *prefix,
                                 request_rec *r)
{
    apr_time_t now = apr_time_now(), read_at = 0;
    apr_uint64_t tried;
    apr_interval_time_t wait;

    if (!node) {
        return APR_ENOTIMPL;
    }
    /* Due for the node: whoever moves the claim forward reads; everyone
     * else goes on with the value the node has. */
    tried = apr_atomic_read64(&node->tried_at);
    wait = apr_time_from_msec(APITOKEN_MARKER_INTERVAL_MS);
    if (apr_atomic_read32(&node->reader) != (apr_uint32_t)getpid()) {
        wait += wait / 2;
    }
    if (now - (apr_time_t)tried >= wait
        && apr_atomic_cas64(&node->tried_at, (apr_uint64_t)now, tried)
           == tried) {
        apr_atomic_set32(&node->reader, (apr_uint32_t)getpid());
        marker_read(r, now);
        now = apr_time_now();
    }
    if (!marker_load(seq, &read_at, prefix) || !read_at
        || now - read_at >= apr_time_from_msec(APITOKEN_MARKER_STALE_MS)) {
        prefix[0] = '\0';
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}
