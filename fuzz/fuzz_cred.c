/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* libFuzzer target: the Authorization header parser with every
 * combination of accepted forms, the bare-header parser and the b64token
 * predicate, with invariants on what a FOUND result may contain. */
#include <stdint.h>

#include "fuzz_common.h"
#include "at_cred.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_found(const at_cred_t *c)
{
    FUZZ_ASSERT(c->token != NULL && c->token[0] != '\0');
    FUZZ_ASSERT(at_cred_is_b64token(c->token, strlen(c->token)));
    if (c->form == AT_FORM_SCHEME || c->form == AT_FORM_BASIC) {
        FUZZ_ASSERT(c->user != NULL && c->user[0] != '\0');
        FUZZ_ASSERT(strchr(c->user, ':') == NULL);
    }
    else {
        FUZZ_ASSERT(c->user == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const words[] = { "cpanel", "whm", NULL };
    apr_pool_t *p = fuzz_pool();
    const char *value = fuzz_cstr(data, size, p);
    char *exact = malloc(size ? size : 1);
    int mask;

    for (mask = 0; mask < 8; mask++) {
        at_cred_t c;
        const char *why = NULL;
        at_cred_status_t st;

        st = at_cred_parse_authorization(&c, value, mask & 1, mask & 2,
                                         (mask & 4) ? words : NULL, &why, p);
        if (st == AT_CRED_FOUND) {
            check_found(&c);
            FUZZ_ASSERT(c.form == AT_FORM_BEARER ? (mask & 1)
                        : c.form == AT_FORM_BASIC ? (mask & 2)
                        : c.form == AT_FORM_SCHEME ? (mask & 4) : 0);
        }
        else {
            FUZZ_ASSERT(why != NULL && c.token == NULL);
            if (mask == 0) {
                FUZZ_ASSERT(st == AT_CRED_ABSENT);
            }
        }
    }
    {
        at_cred_t c;
        const char *why = NULL;

        if (at_cred_parse_bare(&c, value, &why, p) == AT_CRED_FOUND) {
            check_found(&c);
            FUZZ_ASSERT(c.form == AT_FORM_HEADER);
        }
        else {
            FUZZ_ASSERT(why != NULL);
        }
    }
    if (exact != NULL) {
        if (size) {
            memcpy(exact, data, size);
        }
        (void)at_cred_is_b64token(exact, size);
        free(exact);
    }
    return 0;
}
