/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* libFuzzer target: at_token_parse on raw bytes (with NULs and any
 * length), plus the invariants parse(format(parse(x))) == parse(x) and
 * format(parse(x)) == x for every accepted x. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "at_token.h"

#define FUZZ_ASSERT(cond)                                               \
    do {                                                                \
        if (!(cond)) {                                                  \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond,    \
                    __FILE__, __LINE__);                                \
            abort();                                                    \
        }                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const prefixes[] = { NULL, "apt", "x" };
    size_t k;

    for (k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
        at_token_t t, u;
        char out[AT_TOKEN_MAX + 1], hex[AT_DIGEST_HEX_LEN + 1];
        at_token_status_t st;

        /* An exact-size heap copy so ASan sees any read past size. */
        char *buf = malloc(size ? size : 1);

        if (buf == NULL) {
            return 0;
        }
        if (size) {
            memcpy(buf, data, size);
        }
        st = at_token_parse(&t, buf, size, prefixes[k]);
        FUZZ_ASSERT(at_token_status_str(st) != NULL);
        if (st == AT_TOKEN_OK) {
            FUZZ_ASSERT(size <= AT_TOKEN_MAX);
            FUZZ_ASSERT(at_prefix_valid(t.prefix));
            FUZZ_ASSERT(at_id_valid(t.id));
            FUZZ_ASSERT(strlen(t.secret) == AT_SECRET_LEN);
            FUZZ_ASSERT(prefixes[k] == NULL
                        || strcmp(t.prefix, prefixes[k]) == 0);
            at_token_format(out, &t);
            FUZZ_ASSERT(strlen(out) == size && memcmp(out, buf, size) == 0);
            FUZZ_ASSERT(at_token_parse(&u, out, strlen(out), prefixes[k])
                        == AT_TOKEN_OK);
            FUZZ_ASSERT(memcmp(&t, &u, sizeof(t)) == 0);
            at_token_digest(hex, t.secret);
            FUZZ_ASSERT(strlen(hex) == AT_DIGEST_HEX_LEN);
            FUZZ_ASSERT(at_digest_equal(hex, hex));
        }
        else {
            FUZZ_ASSERT(t.secret[0] == '\0' && t.id[0] == '\0');
        }
        at_token_wipe(&t);
        free(buf);
    }
    return 0;
}
