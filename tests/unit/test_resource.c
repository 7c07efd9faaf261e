/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Unit tests of at_resource.c: normalisation, matching (wildcards, case,
 * hostile resources, bounded time) and the covered-by rule. */
#include <string.h>

#include <apr_strings.h>

#include "unit.h"
#include "at_resource.h"

struct norm_case {
    const char *in;
    const char *want;   /* NULL = APR_EINVAL */
};

static const struct norm_case norm[] = {
    { "", "" },
    { " , ", "" },
    { "example.com", "example.com" },
    { "Example.COM.", "example.com" },
    { "b.org,a.org a.org", "a.org b.org" },
    { "*.Example.org", "*.Example.org" },   /* may match paths: as written */
    { "/Backup/**", "/Backup/*" },
    { "_acme-challenge.example.com", "_acme-challenge.example.com" },
    { "/files/../etc", NULL },
    { "a..b", NULL },
    { "a\tb", NULL },
    { "a\"b", NULL },
    { "a\\b", NULL },
    { "d\xc3\xa9.org", NULL },
    { "x\x7f", NULL },
};

START_TEST(parse_table)
{
    const char *out = NULL, *bad = NULL, *why = NULL;
    apr_status_t rv = at_resources_parse(&out, norm[_i].in, &bad, &why, tp);

    if (norm[_i].want) {
        ck_assert_int_eq(rv, APR_SUCCESS);
        ck_assert_str_eq(out, norm[_i].want);
    }
    else {
        ck_assert_int_eq(rv, APR_EINVAL);
        ck_assert_ptr_nonnull(bad);
        ck_assert_ptr_nonnull(why);
    }
}
END_TEST

START_TEST(parse_lengths)
{
    char big[300];
    const char *set;
    const char *out, *bad, *why;
    int i;

    memset(big, 'a', sizeof(big) - 1);
    big[255] = '\0';
    ck_assert_int_eq(at_resources_parse(&out, big, &bad, &why, tp),
                     APR_SUCCESS);
    big[255] = 'a';
    big[256] = '\0';
    ck_assert_int_eq(at_resources_parse(&out, big, &bad, &why, tp),
                     APR_EINVAL);
    /* Many short patterns: the set as a whole is bounded. */
    set = "";
    for (i = 0; i < 120; ++i) {
        set = apr_psprintf(tp, "%s z%03d.example", set, i);
    }
    ck_assert_int_eq(at_resources_parse(&out, set, &bad, &why, tp),
                     APR_EINVAL);
}
END_TEST

START_TEST(edit)
{
    const char *out, *bad, *why;

    ck_assert_int_eq(at_resources_edit(&out, "a.org b.org", "C.org",
                                       "B.org.", &bad, &why, tp),
                     APR_SUCCESS);
    ck_assert_str_eq(out, "a.org c.org");
    ck_assert_int_eq(at_resources_edit(&out, "a.org", NULL, "a.org",
                                       &bad, &why, tp), APR_SUCCESS);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(at_resources_edit(&out, "a.org", "x..y", NULL,
                                       &bad, &why, tp), APR_EINVAL);
    ck_assert_str_eq(bad, "x..y");
}
END_TEST

struct match_case {
    const char *set;
    const char *v;
    int want;
};

static const struct match_case match[] = {
    { "example.com", "example.com", 1 },
    { "example.com", "EXAMPLE.com", 1 },
    { "example.com", "example.com.", 1 },
    { "example.com", "www.example.com", 0 },
    { "example.com", "example.co", 0 },
    { "example.com", "example.comx", 0 },
    { "*.example.org", "a.example.org", 1 },
    { "*.example.org", "a.b.Example.ORG", 1 },
    { "*.example.org", "example.org", 0 },
    { "*.example.org", "aexample.org", 0 },
    { "_acme-challenge.example.com", "_acme-challenge.example.com", 1 },
    { "_acme-challenge.example.com", "_acme-challenge.example.net", 0 },
    { "a.org b.org", "b.org", 1 },
    { "/backup/*", "/backup/x/y", 1 },
    { "/backup/*", "/Backup/x", 0 },       /* paths: exact case */
    { "/backup/*", "/backup", 0 },
    { "*", "anything", 1 },
    { "*", "/any/path", 1 },
    { "*", "", 0 },                        /* empty: refused */
    { "*", "a\001b", 0 },                  /* control character */
    { "*", "a\tb", 0 },
    { "*", "a\x7f", 0 },
    { "/backup/*", "/backup/../etc", 0 },  /* ".." */
    { "*", "a..b", 0 },
    { "a*b*c", "aXXbYYc", 1 },
    { "a*b*c", "aXXbYY", 0 },
    { "", "example.com", 0 },              /* no pattern: nothing (caller) */
};

START_TEST(match_table)
{
    ck_assert_msg(at_resources_match(match[_i].set, match[_i].v)
                  == match[_i].want, "set '%s' resource '%s'",
                  match[_i].set, match[_i].v);
}
END_TEST

START_TEST(match_long_and_hostile)
{
    char *v = apr_palloc(tp, AT_RESOURCE_VALUE_MAX + 2);
    const char *pat;

    memset(v, 'a', AT_RESOURCE_VALUE_MAX);
    v[AT_RESOURCE_VALUE_MAX] = '\0';
    ck_assert(at_resources_match("*", v));
    ck_assert_ptr_null(at_resource_value_check(v));
    v[AT_RESOURCE_VALUE_MAX] = 'a';
    v[AT_RESOURCE_VALUE_MAX + 1] = '\0';
    ck_assert(!at_resources_match("*", v));
    ck_assert_ptr_nonnull(at_resource_value_check(v));
    /* The classic exponential case for backtracking matchers: many stars
     * and a resource that almost matches.  Quadratic at worst here. */
    v[AT_RESOURCE_VALUE_MAX] = '\0';
    pat = "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
    ck_assert(!at_resources_match(pat, v));
    ck_assert_ptr_nonnull(at_resource_value_check(NULL));
}
END_TEST

struct cover_case {
    const char *a, *b;
    int want;
};

static const struct cover_case cover[] = {
    { "a.org", "a.org", 1 },
    { "a.org", "a.org b.org", 1 },
    { "a.org b.org", "a.org", 0 },
    { "x.example.org", "*.example.org", 1 },
    { "*.x.example.org", "*.example.org", 1 },
    { "*.example.org", "x.example.org", 0 },
    { "*", "*.example.org", 0 },
    { "*.example.org", "*", 1 },
    { "", "a.org", 0 },                   /* unrestricted is wider */
    { "a.org", "", 1 },
    { "", "", 1 },
    { "/backup/a/*", "/backup/*", 1 },
    { "/backup/*", "/backup/a/*", 0 },
    { "*Foo", "*foo", 0 },                /* exact case: conservative */
};

START_TEST(cover_table)
{
    ck_assert_msg(at_resources_covered(cover[_i].a, cover[_i].b)
                  == cover[_i].want, "'%s' within '%s'", cover[_i].a,
                  cover[_i].b);
}
END_TEST

static Suite *resource_suite(void)
{
    Suite *s = suite_create("at_resource");
    TCase *tc = unit_tcase("resource");

    tcase_add_loop_test(tc, parse_table, 0, (int)ARRAY_LEN(norm));
    tcase_add_test(tc, parse_lengths);
    tcase_add_test(tc, edit);
    tcase_add_loop_test(tc, match_table, 0, (int)ARRAY_LEN(match));
    tcase_add_test(tc, match_long_and_hostile);
    tcase_add_loop_test(tc, cover_table, 0, (int)ARRAY_LEN(cover));
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(resource_suite)
