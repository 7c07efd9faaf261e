/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_STORE_DBI_H
#define AT_STORE_DBI_H

#include <dbi/dbi.h>
#include "at_store.h"

/* Initialise one libdbi instance (dbi_initialize_r) for this process.
 * driverdir NULL = the build's AT_DBI_DRIVERDIR.  Call once per process,
 * never in a parent that forks children which use it.  APR_EGENERAL with
 * *err when no driver could be loaded. */
apr_status_t at_dbi_init(dbi_inst *inst, const char *driverdir,
                         const char **err);

/* Flags for at_store_dbi_open. */
#define AT_STORE_CREATE 0x1   /* sqlite3: create the file when missing (init) */

/* Open a store on url.  The connection is set up (SQLite: WAL, busy
 * timeout; the file and its directory are checked first so a missing or
 * unreadable file gets a precise *err; without AT_STORE_CREATE a missing
 * file is an error, never a new empty database).  Opening and closing take a process
 * mutex because libdbi's connection list is not thread-safe.
 * APR_EGENERAL with *err on failure (no password in it). */
apr_status_t at_store_dbi_open(at_store_t **out, dbi_inst inst,
                               const at_dburl_t *url, int flags,
                               const char **err, apr_pool_t *p);

/* The libdbi connection under a store that at_store_dbi_open opened;
 * NULL for any other store.  For a driver-specific fast path on the
 * native handle (dbi_conn_get_connection): the store keeps owning it,
 * and whoever holds the store holds the connection. */
dbi_conn at_store_dbi_conn(at_store_t *s);

#endif
