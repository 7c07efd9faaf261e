/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef APITOKEN_SHM_H
#define APITOKEN_SHM_H

/* Shared memory for the whole node (status counters, the change marker,
 * the usage throttle). */

#include <httpd.h>

/* The node's segment of size bytes under key: made once in the process
 * pool, so that a restart, which unloads the module and loses its
 * statics, finds the same mapping again (a different size is another
 * segment).  *fresh is 1 when it was made now (zeroed), 0 when found.
 * Parent only, from post_config. */
apr_status_t apitoken_node_shm(void **base, int *fresh, const char *key,
                               apr_size_t size, server_rec *s);

#endif
