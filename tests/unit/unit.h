/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_UNIT_H
#define AT_UNIT_H

/* Shared scaffolding of the Check unit tests: one APR pool per test
 * (created in a checked fixture, destroyed after) and a main() that runs
 * one suite. */

#include <stdlib.h>
#include <check.h>
#include <apr_general.h>
#include <apr_pools.h>

static apr_pool_t *tp;

static inline void unit_setup(void)
{
    ck_assert_int_eq(apr_pool_create(&tp, NULL), APR_SUCCESS);
}

static inline void unit_teardown(void)
{
    apr_pool_destroy(tp);
    tp = NULL;
}

/* A test case with the pool fixture. */
static inline TCase *unit_tcase(const char *name)
{
    TCase *tc = tcase_create(name);

    tcase_add_checked_fixture(tc, unit_setup, unit_teardown);
    tcase_set_timeout(tc, 30);
    return tc;
}

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define UNIT_MAIN(make_suite)                                   \
    int main(void)                                              \
    {                                                           \
        SRunner *sr;                                            \
        int failed;                                             \
                                                                \
        if (apr_initialize() != APR_SUCCESS) {                  \
            return EXIT_FAILURE;                                \
        }                                                       \
        sr = srunner_create(make_suite());                      \
        srunner_run_all(sr, CK_NORMAL);                         \
        failed = srunner_ntests_failed(sr);                     \
        srunner_free(sr);                                       \
        apr_terminate();                                        \
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;       \
    }

#endif
