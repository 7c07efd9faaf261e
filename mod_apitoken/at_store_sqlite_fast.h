/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_STORE_SQLITE_FAST_H
#define AT_STORE_SQLITE_FAST_H

/* The one hot query, a token by id, as a prepared statement on the native
 * sqlite3 handle under a libdbi store.  Through libdbi's sqlite3 driver a
 * lookup costs a query string, sqlite3_get_table and the driver's column
 * typing (about 330,000 instructions); prepared once and reset per lookup
 * it costs a few thousand.  Everything else stays on libdbi.
 *
 * The statement belongs to the store's connection: one thread at a time
 * (the thread holding the connection), finalized by at_sqlite_fast_close
 * before the store is closed. */

#include <apr_pools.h>

#include "at_store.h"

typedef struct at_sqlite_fast_t at_sqlite_fast_t;

/* Prepare the lookup on store s.  APR_ENOTIMPL when s is not a libdbi
 * SQLite store (the caller keeps at_store_lookup); APR_EGENERAL with *err
 * when preparing failed (no schema yet, say).  *out lives in p, but must
 * be closed explicitly before at_store_close(s). */
apr_status_t at_sqlite_fast_open(at_sqlite_fast_t **out, at_store_t *s,
                                 const char **err, apr_pool_t *p);

/* Exactly at_store_lookup's contract and record: APR_SUCCESS with *rec
 * from p, APR_NOTFOUND for an unknown or invalid id, APR_EGENERAL on a
 * database error (at_sqlite_fast_error says why) or a malformed row. */
apr_status_t at_sqlite_fast_lookup(at_token_rec_t **rec, at_sqlite_fast_t *f,
                                   const char *id, apr_pool_t *p);

/* The last error, from a fixed buffer; "" when none. */
const char *at_sqlite_fast_error(const at_sqlite_fast_t *f);

/* Finalize the statement; idempotent. */
void at_sqlite_fast_close(at_sqlite_fast_t *f);

#endif
