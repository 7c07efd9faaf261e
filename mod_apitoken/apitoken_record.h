/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_RECORD_H
#define APITOKEN_RECORD_H

/* The record for one token id, as check_authn needs it: from this
 * process's cache, the node's shared cache or the database, in that
 * order, trusting a cache only while the node's change marker is fresh.
 * The one caller of the marker.  Nothing here decides: the caller checks
 * the secret and everything else on the record it gets. */

#include <httpd.h>

#include "at_token.h"
#include "apitoken_cache.h"

typedef enum {
    APITOKEN_RECORD_FOUND = 0,      /* *out is set */
    APITOKEN_RECORD_UNKNOWN,        /* no token has this id */
    APITOKEN_RECORD_WRONG_PREFIX,   /* the token is not of this store */
    APITOKEN_RECORD_UNAVAILABLE     /* the store cannot answer: 503 */
} apitoken_record_result_t;

/* Find the record for tok's id; ttl is the location's ApiTokenCacheTTL
 * (0: the database decides).  UNAVAILABLE has been logged (rate
 * limited).  On FOUND out->rec lives until r->pool is cleared. */
apitoken_record_result_t apitoken_record_find(apitoken_entry_t *out,
                                              const at_token_t *tok, int ttl,
                                              request_rec *r);

#endif
