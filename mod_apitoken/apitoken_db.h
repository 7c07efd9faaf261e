/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_DB_H
#define APITOKEN_DB_H

/* The per-process pool of store connections and the request's own. */

#include <httpd.h>

#include "at_store.h"

apr_status_t apitoken_db_post_config(apr_pool_t *pconf, server_rec *s);
void apitoken_db_child_init(apr_pool_t *pchild, server_rec *s);

typedef struct apitoken_conn_t apitoken_conn_t;

/* The request's database connection, as mod_dbd's ap_dbd_acquire: the
 * first call for a client request (its subrequests and internal redirects
 * included) takes a checked connection from this process's pool and
 * registers its return on that request's pool; every later call returns
 * the same one.  A request holds at most one connection, until it ends;
 * callers never give it back.  APR_SUCCESS with *conn and *store set, or
 * an error after one rate-limited error line (the caller answers 503);
 * after a failure, or once the connection is marked bad, later calls for
 * the request fail at once, without waiting for the pool again. */
apr_status_t apitoken_db_acquire(apitoken_conn_t **conn, at_store_t **store,
                                 request_rec *r);
/* The caller saw a database error on conn: it is closed when the request
 * ends instead of going back to the pool. */
void apitoken_db_mark_bad(apitoken_conn_t *conn);
/* Look the token id up on conn: a prepared statement on SQLite unless
 * ApiTokenDBFastPath is Off, libdbi's query otherwise; the same results
 * as at_store_lookup.  On APR_EGENERAL *err says why (for the log). */
apr_status_t apitoken_db_lookup(at_token_rec_t **rec, apitoken_conn_t *conn,
                                const char *id, const char **err,
                                apr_pool_t *p);
/* The prefix stored with the schema, learnt once per process. */
apr_status_t apitoken_db_prefix(const char **prefix, apitoken_conn_t *conn,
                                request_rec *r);
/* Log that the database is unreachable, at most once per 10 s. */
void apitoken_db_log_down(request_rec *r, const char *why);

#endif
