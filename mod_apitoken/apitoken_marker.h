/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_MARKER_H
#define APITOKEN_MARKER_H

/* The database's change marker (apitoken_meta.change_seq) as the node
 * knows it: the one reader of the marker, for the token cache.  One
 * process of the node reads it from the database when it is due (at most
 * every APITOKEN_MARKER_INTERVAL_MS); every other one reads the shared
 * value without a lock. */

#include <httpd.h>

/* How often one process reads the marker, and when it stops trusting it. */
#define APITOKEN_MARKER_INTERVAL_MS 500
#define APITOKEN_MARKER_STALE_MS    2000
/* Room for the schema's token prefix and its NUL. */
#define APITOKEN_MARKER_PREFIX_MAX  32

/* Forget the segment (every (re)start, before the configuration is
 * known). */
void apitoken_marker_reset(void);
/* Parent: map the node's segment and clear its value. */
apr_status_t apitoken_marker_post_config(server_rec *s);
/* 1 when the segment is mapped. */
int apitoken_marker_ready(void);
/* The marker the node trusts, reading it first when it is due:
 * APR_SUCCESS with *seq and prefix (APITOKEN_MARKER_PREFIX_MAX bytes: the
 * schema's token prefix) set; an error when there is no segment or the
 * marker is too old to trust. */
apr_status_t apitoken_marker_get(apr_int64_t *seq, char *prefix,
                                 request_rec *r);

#endif
