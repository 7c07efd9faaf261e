/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* libFuzzer target: time and duration parsing.  Invariants: results stay
 * in range, and an accepted absolute time formats and parses back to
 * itself. */
#include <stdint.h>

#include "fuzz_common.h"
#include "at_time.h"

#define NOW ((at_time_t)1767225600)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *s = fuzz_cstr(data, size, p);
    const char *err = NULL;
    char buf[AT_TIME_STRLEN + 1];
    apr_int64_t secs;
    at_time_t t, back;

    if (at_time_parse(&t, s, NOW, &err) == APR_SUCCESS) {
        FUZZ_ASSERT(t >= 0 && t <= (at_time_t)253402300799LL);
        if (t != AT_TIME_NONE) {
            at_time_format(buf, t);
            FUZZ_ASSERT(strlen(buf) == AT_TIME_STRLEN);
            FUZZ_ASSERT(at_time_parse(&back, buf, NOW, &err) == APR_SUCCESS);
            FUZZ_ASSERT(back == t);
        }
    }
    else {
        FUZZ_ASSERT(err != NULL);
    }
    err = NULL;
    if (at_duration_parse(&secs, s, &err) == APR_SUCCESS) {
        FUZZ_ASSERT(secs >= 0 && secs <= (apr_int64_t)100 * 366 * 86400);
    }
    else {
        FUZZ_ASSERT(err != NULL);
    }
    /* Formatting never overruns, whatever the value. */
    if (size >= sizeof(t)) {
        memcpy(&t, data, sizeof(t));
        at_time_format(buf, t);
        FUZZ_ASSERT(strlen(buf) == AT_TIME_STRLEN);
    }
    return 0;
}
