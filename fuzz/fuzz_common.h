/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_FUZZ_COMMON_H
#define AT_FUZZ_COMMON_H

/* Shared pieces of the libFuzzer targets: one process-wide APR pool
 * (cleared after each input) and a NUL-terminated copy of the input
 * (inline, so that a target may use only one of them). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

/* Abort with a message: libFuzzer records the input as a crash. */
#define FUZZ_ASSERT(cond)                                               \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond,    \
                    __FILE__, __LINE__);                                \
            abort();                                                    \
        }                                                               \
    } while (0)

static inline apr_pool_t *fuzz_pool(void)
{
    static apr_pool_t *pool;

    if (pool == NULL) {
        if (apr_initialize() != APR_SUCCESS
            || apr_pool_create(&pool, NULL) != APR_SUCCESS) {
            abort();
        }
    }
    apr_pool_clear(pool);
    return pool;
}

/* The input as a C string; inputs with an embedded NUL are cut there
 * (the parsers under test take C strings). */
static inline const char *fuzz_cstr(const unsigned char *data,
                                    size_t size, apr_pool_t *p)
{
    return apr_pstrmemdup(p, (const char *)data, size);
}

#endif
