/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_CACHE_H
#define APITOKEN_CACHE_H

/* The cross-process token cache (httpd's socache, shmcb by default) and
 * the change marker that keeps it honest.
 *
 * An entry holds what the store returned for one token id (or that the id
 * is unknown), never a decision: the caller re-checks secret, expiry,
 * revocation, networks and scopes on every request.  Each entry carries
 * the database change marker (apitoken_meta.change_seq) this process had
 * seen when it asked the database.  The marker lives in shared memory for
 * the whole node: one process (whichever finds it due and wins a CAS)
 * reads it from the database at most every APITOKEN_MARKER_INTERVAL_MS,
 * the others read the shared value without a lock; an entry is trusted
 * only when it is not older than the last change seen.  When the marker
 * could not be read for APITOKEN_MARKER_STALE_MS the cache is not used at
 * all, so a database outage gives 503s, never answers from old entries. */

#include <httpd.h>
#include <http_config.h>

#include "at_store.h"
#include "at_verify.h"

/* What the caches give for an id: the store's record and what was
 * decoded from it once (read-only, valid until r->pool is cleared). */
typedef struct apitoken_entry_t {
    const at_token_rec_t *rec;
    const at_verify_prep_t *prep;          /* digests, networks */
    const apr_array_header_t *granted;     /* scopes parsed, or NULL */
    const char *joined;                    /* them joined, or NULL */
} apitoken_entry_t;

#define APITOKEN_CACHE_MUTEX      "apitoken-cache"
/* Unknown ids are remembered this long at most (and never past the TTL). */
#define APITOKEN_NEGATIVE_TTL 5

typedef enum {
    APITOKEN_CACHE_MISS = 0,     /* ask the database */
    APITOKEN_CACHE_HIT,          /* *rec is the stored record */
    APITOKEN_CACHE_UNKNOWN       /* the id was not in the database */
} apitoken_cache_result_t;

/* Hooks, called from mod_apitoken.c. */
void apitoken_cache_pre_config(apr_pool_t *pconf);
apr_status_t apitoken_cache_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                                        server_rec *s);
void apitoken_cache_child_init(apr_pool_t *pchild, server_rec *s);

/* ApiTokenCache PROVIDER[:ARGS] | none (directive handler). */
const char *apitoken_cache_set(cmd_parms *cmd, void *dummy, const char *arg);

#define APITOKEN_CACHE_CMDS                                                  \
    AP_INIT_TAKE1("ApiTokenCache", apitoken_cache_set, NULL, RSRC_CONF,      \
        "The shared cache of token lookups: a socache provider with its "    \
        "arguments (default shmcb), or none.")

/* 1 when the cache is on in this process (the marker is then kept). */
int apitoken_cache_ready(void);

/* Look id up, first in this process's own small cache (records, then
 * unknown ids), then in the shared one.  An entry counts only when it was
 * stored under a marker >= seq and is younger than ttl seconds (unknown
 * ids: and than APITOKEN_NEGATIVE_TTL), in either cache: a per-process
 * copy keeps the shared entry's marker and age.  On a hit *out is set;
 * out->granted and out->joined only from the per-process cache (else
 * NULL: the caller parses rec->scopes). */
apitoken_cache_result_t apitoken_cache_get(apitoken_entry_t *out,
                                           const char *id, apr_int64_t seq,
                                           int ttl, request_rec *r);

/* Remember what the database said for id (rec NULL: unknown), tagged with
 * the marker seq read before the lookup. */
void apitoken_cache_put(const char *id, const at_token_rec_t *rec,
                        apr_int64_t seq, int ttl, request_rec *r);

#endif
