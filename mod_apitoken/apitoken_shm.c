/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Shared memory for the whole node (see apitoken_shm.h). */

#include <string.h>

#include <httpd.h>
#include <apr_shm.h>
#include <apr_strings.h>

#include "apitoken_shm.h"

apr_status_t apitoken_node_shm(void **base, int *fresh, const char *key,
                               apr_size_t size, server_rec *s)
{
    apr_pool_t *proc = s->process->pool;
    const char *name = apr_psprintf(proc, "%s:%" APR_SIZE_T_FMT, key, size);
    apr_shm_t *shm = NULL;
    void *data = NULL;
    apr_status_t rv;

    *base = NULL;
    *fresh = 0;
    apr_pool_userdata_get(&data, name, proc);
    if (!data) {
        if ((rv = apr_shm_create(&shm, size, NULL, proc)) != APR_SUCCESS) {
            return rv;
        }
        data = apr_shm_baseaddr_get(shm);
        memset(data, 0, size);
        apr_pool_userdata_set(data, name, apr_pool_cleanup_null, proc);
        *fresh = 1;
    }
    *base = data;
    return APR_SUCCESS;
}
