/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* libFuzzer target: scope parsing and normalisation.  Invariants: every
 * element of a parsed set is valid; normalising is idempotent; no element
 * satisfies another one of the set; the join parses back to itself. */
#include <stdint.h>

#include "fuzz_common.h"
#include "at_scope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    const char *text = fuzz_cstr(data, size, p);
    apr_array_header_t *s, *s2;
    const char *bad = NULL, *joined;
    int i, j;

    (void)at_scope_valid(text);
    if (at_scopes_parse(&s, text, &bad, p) != APR_SUCCESS) {
        FUZZ_ASSERT(bad != NULL);
        return 0;
    }
    for (i = 0; i < s->nelts; i++) {
        const char *a = APR_ARRAY_IDX(s, i, const char *);

        FUZZ_ASSERT(at_scope_valid(a));
        FUZZ_ASSERT(at_scopes_satisfy(s, 0, a));
        for (j = 0; j < s->nelts; j++) {
            const char *b = APR_ARRAY_IDX(s, j, const char *);

            if (i != j) {
                FUZZ_ASSERT(strcmp(a, b) != 0);
                FUZZ_ASSERT(!at_scope_satisfies(a, b));
            }
            if (i < j) {
                FUZZ_ASSERT(strcmp(a, b) < 0);
            }
        }
    }
    joined = at_scopes_join(s, p);
    FUZZ_ASSERT(at_scopes_parse(&s2, joined, &bad, p) == APR_SUCCESS);
    FUZZ_ASSERT(strcmp(at_scopes_join(s2, p), joined) == 0);
    FUZZ_ASSERT(at_scopes_normalise(&s2, s, &bad, p) == APR_SUCCESS);
    FUZZ_ASSERT(strcmp(at_scopes_join(s2, p), joined) == 0);
    return 0;
}
