/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Unit tests of at_scope.c: validity, parsing and normalisation, and the
 * satisfaction matrix. */
#include <string.h>

#include "unit.h"
#include "at_scope.h"

#define P64 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const char *const valid[] = {
    "dns", "dns:read", "email:write", "a", "0", "_", "-", "a-b_c:d-e_f",
    "files2", P64, P64 ":" P64, "x:" P64,
};

static const char *const invalid[] = {
    "", ":", "dns:", ":read", "dns:read:write", "DNS", "Dns:read", "dns read",
    "dns,read", "dns.read", "dns/read", "d\xc3\xa9s", "dns\t", "dns\n",
    "dns'", "dns;drop", "a" P64, P64 ":a" P64, "*", "dns:*", "dns::read",
    "%64ns",
};

START_TEST(scope_valid)
{
    ck_assert_msg(at_scope_valid(valid[_i]), "'%s' should be valid",
                  valid[_i]);
}
END_TEST

START_TEST(scope_invalid)
{
    ck_assert_msg(!at_scope_valid(invalid[_i]), "'%s' should be invalid",
                  invalid[_i]);
}
END_TEST

START_TEST(scope_null)
{
    ck_assert(!at_scope_valid(NULL));
}
END_TEST

struct norm_case {
    const char *in;
    const char *want;   /* joined; NULL = APR_EINVAL */
    const char *bad;
};

static const struct norm_case norm[] = {
    { "", "", NULL },
    { "   ", "", NULL },
    { ",, ,", "", NULL },
    { "dns", "dns", NULL },
    { "DNS", "dns", NULL },
    { "Email:Write", "email:write", NULL },
    { "email dns files", "dns email files", NULL },
    { "email,dns,files", "dns email files", NULL },
    { " email ,\tdns , files ", "dns email files", NULL },
    { "dns dns DNS", "dns", NULL },
    { "dns:read dns", "dns", NULL },
    { "dns dns:read dns:write", "dns", NULL },
    { "dns:read dns:write", "dns:read dns:write", NULL },
    { "dns:write dns:read dns:read", "dns:read dns:write", NULL },
    { "dnsx:read dns", "dns dnsx:read", NULL },
    { "dns-x dns:read", "dns-x dns:read", NULL },
    { "email:read files dns:read email", "dns:read email files", NULL },
    { "dns bad!", NULL, "bad!" },
    { "dns Bad!", NULL, "Bad!" },
    { "dns:", NULL, "dns:" },
    { "a:b:c", NULL, "a:b:c" },
    { "dns;email", NULL, "dns;email" },
    { "d\xc3\xa9s", NULL, "d\xc3\xa9s" },
    { "dns\nemail", NULL, "dns\nemail" },
    { "' OR 1=1--", NULL, "'" },
    { "a" P64, NULL, "a" P64 },
};

START_TEST(scopes_parse_table)
{
    const struct norm_case *c = &norm[_i];
    apr_array_header_t *out = NULL;
    const char *bad = NULL;
    apr_status_t rv = at_scopes_parse(&out, c->in, &bad, tp);

    if (c->want == NULL) {
        ck_assert_int_eq(rv, APR_EINVAL);
        ck_assert_ptr_null(out);
        ck_assert_ptr_nonnull(bad);
        ck_assert_str_eq(bad, c->bad);
    }
    else {
        ck_assert_int_eq(rv, APR_SUCCESS);
        ck_assert_str_eq(at_scopes_join(out, tp), c->want);
    }
}
END_TEST

START_TEST(scopes_parse_null_text)
{
    apr_array_header_t *out = NULL;

    ck_assert_int_eq(at_scopes_parse(&out, NULL, NULL, tp), APR_SUCCESS);
    ck_assert_int_eq(out->nelts, 0);
    ck_assert_str_eq(at_scopes_join(out, tp), "");
    ck_assert_str_eq(at_scopes_join(NULL, tp), "");
}
END_TEST

START_TEST(scopes_normalise_array)
{
    apr_array_header_t *in = apr_array_make(tp, 4, sizeof(const char *));
    apr_array_header_t *out;
    const char *bad = NULL;

    APR_ARRAY_PUSH(in, const char *) = "Files";
    APR_ARRAY_PUSH(in, const char *) = "dns:read";
    APR_ARRAY_PUSH(in, const char *) = "dns";
    APR_ARRAY_PUSH(in, const char *) = "files:write";
    APR_ARRAY_PUSH(in, const char *) = "email:read";
    ck_assert_int_eq(at_scopes_normalise(&out, in, &bad, tp), APR_SUCCESS);
    ck_assert_str_eq(at_scopes_join(out, tp), "dns email:read files");
    /* Normalising a normal form is the identity. */
    ck_assert_int_eq(at_scopes_normalise(&out, out, &bad, tp), APR_SUCCESS);
    ck_assert_str_eq(at_scopes_join(out, tp), "dns email:read files");

    APR_ARRAY_PUSH(in, const char *) = "no good";
    APR_ARRAY_PUSH(in, const char *) = "x;y";
    ck_assert_int_eq(at_scopes_normalise(&out, in, &bad, tp), APR_EINVAL);
    ck_assert_str_eq(bad, "x;y");

    ck_assert_int_eq(at_scopes_normalise(&out, NULL, &bad, tp), APR_SUCCESS);
    ck_assert_int_eq(out->nelts, 0);
}
END_TEST

struct sat_case {
    const char *granted;
    const char *required;
    int want;
};

static const struct sat_case sat[] = {
    { "dns", "dns", 1 },
    { "dns", "dns:read", 1 },
    { "dns", "dns:write", 1 },
    { "dns:read", "dns:read", 1 },
    { "dns:read", "dns", 0 },
    { "dns:read", "dns:write", 0 },
    { "dns:read", "dns:readx", 0 },
    { "dns", "dnsx", 0 },
    { "dns", "dnsx:read", 0 },
    { "dn", "dns", 0 },
    { "dns", "dn", 0 },
    { "dns", "", 0 },
    { "", "dns", 0 },
    { "email", "dns", 0 },
    { "email:write", "email:write", 1 },
    { "dns:read", "dns:read:x", 0 },
};

START_TEST(satisfies_matrix)
{
    const struct sat_case *c = &sat[_i];

    ck_assert_msg(at_scope_satisfies(c->granted, c->required) == c->want,
                  "granted '%s' required '%s'", c->granted, c->required);
}
END_TEST

START_TEST(satisfy_sets)
{
    apr_array_header_t *g;
    const char *bad;

    ck_assert(!at_scope_satisfies(NULL, "dns"));
    ck_assert(!at_scope_satisfies("dns", NULL));
    ck_assert_int_eq(at_scopes_parse(&g, "dns:read email", &bad, tp),
                     APR_SUCCESS);
    ck_assert(at_scopes_satisfy(g, 0, "dns:read"));
    ck_assert(!at_scopes_satisfy(g, 0, "dns"));
    ck_assert(!at_scopes_satisfy(g, 0, "dns:write"));
    ck_assert(at_scopes_satisfy(g, 0, "email"));
    ck_assert(at_scopes_satisfy(g, 0, "email:anything"));
    ck_assert(!at_scopes_satisfy(g, 0, "files"));
    ck_assert(at_scopes_satisfy(g, 1, "files"));
    ck_assert(at_scopes_satisfy(NULL, 1, "files"));
    ck_assert(!at_scopes_satisfy(NULL, 0, "files"));
    ck_assert_int_eq(at_scopes_parse(&g, "", &bad, tp), APR_SUCCESS);
    ck_assert(!at_scopes_satisfy(g, 0, "dns"));
    ck_assert(at_scopes_satisfy(g, 1, "dns"));
}
END_TEST

static Suite *scope_suite(void)
{
    Suite *s = suite_create("at_scope");
    TCase *tc = unit_tcase("scope");

    tcase_add_loop_test(tc, scope_valid, 0, (int)ARRAY_LEN(valid));
    tcase_add_loop_test(tc, scope_invalid, 0, (int)ARRAY_LEN(invalid));
    tcase_add_test(tc, scope_null);
    tcase_add_loop_test(tc, scopes_parse_table, 0, (int)ARRAY_LEN(norm));
    tcase_add_test(tc, scopes_parse_null_text);
    tcase_add_test(tc, scopes_normalise_array);
    tcase_add_loop_test(tc, satisfies_matrix, 0, (int)ARRAY_LEN(sat));
    tcase_add_test(tc, satisfy_sets);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(scope_suite)
