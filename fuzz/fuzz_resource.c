/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* libFuzzer target: resource patterns.  The input is "A\nB\nV": two pattern
 * sets and a resource.  Invariants: a parsed set parses back to itself and
 * covers itself; the covered-by rule is sound (A within B and A matching V
 * imply B matches V); a refused resource matches nothing. */
#include <stdint.h>

#include "fuzz_common.h"
#include "at_resource.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    char *text = (char *)fuzz_cstr(data, size, p);
    char *b_text = strchr(text, '\n'), *v = NULL;
    const char *a, *b, *again, *bad, *why;

    if (b_text) {
        *b_text++ = '\0';
        if ((v = strchr(b_text, '\n')) != NULL) {
            *v++ = '\0';
        }
    }
    if (at_resources_parse(&a, text, &bad, &why, p) != APR_SUCCESS) {
        FUZZ_ASSERT(bad != NULL && why != NULL);
        return 0;
    }
    FUZZ_ASSERT(at_resources_parse(&again, a, &bad, &why, p) == APR_SUCCESS);
    FUZZ_ASSERT(strcmp(again, a) == 0);
    FUZZ_ASSERT(at_resources_covered(a, a));
    if (!b_text
        || at_resources_parse(&b, b_text, &bad, &why, p) != APR_SUCCESS) {
        return 0;
    }
    if (v) {
        int ma = at_resources_match(a, v), mb = at_resources_match(b, v);

        if (at_resource_value_check(v) != NULL) {
            FUZZ_ASSERT(!ma && !mb);
        }
        if (*a && *b && ma && at_resources_covered(a, b)) {
            FUZZ_ASSERT(mb);
        }
    }
    return 0;
}
