/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Unit tests of at_accept.c: a table of Accept values real clients send,
 * and odd ones. */
#include "unit.h"
#include "at_accept.h"

struct accept_case {
    const char *value;
    int json;
};

static const struct accept_case cases[] = {
    { NULL, 0 },
    { "", 0 },
    { "application/json", 1 },
    { "APPLICATION/JSON", 1 },
    { "application/json; charset=utf-8", 1 },
    { "application/json;q=0.001", 1 },
    { "application/*", 1 },
    /* q=0 means "not acceptable" */
    { "application/json;q=0", 0 },
    { "application/json; q=0.000", 0 },
    { "application/json;Q=0", 0 },
    { "application/*;q=0, text/html", 0 },
    /* curl, wget, browsers: HTML as today */
    { "*/*", 0 },
    { "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 0 },
    { "text/html", 0 },
    /* axios, fetch wrappers: JSON listed first with a catch-all */
    { "application/json, text/plain, */*", 1 },
    /* a tie between the two named types goes to JSON */
    { "text/html, application/json", 1 },
    { "application/json;q=0.5, text/html", 0 },
    { "text/html;q=0.5, application/json", 1 },
    { "text/*;q=0.9, application/json;q=0.8", 0 },
    { "text/html;q=0, application/json;q=0.1", 1 },
    /* the most specific range decides, whatever its q */
    { "application/json;q=0, application/*", 0 },
    { "application/*;q=0, application/json", 1 },
    { "application/json;q=0.2, application/json;charset=utf-8;q=0", 0 },
    /* equally specific ranges: the highest q counts */
    { "application/json;q=0, application/json;q=0.7", 1 },
    /* not JSON */
    { "application/jsonx", 0 },
    { "application/json-seq", 0 },
    { "application/xml", 0 },
    { "*/json", 0 },
    /* whitespace and empty elements */
    { "  application/json  ", 1 },
    { ",,application/json,", 1 },
    { "application/json ; q=0.8 ; ext=1", 1 },
    { "text/html ;q=1, application/json\t;\tq=1", 1 },
    /* quoted parameter values may hold commas and semicolons */
    { "text/html;x=\"a,application/json\"", 0 },
    { "text/html;x=\"a;q=0\", application/json", 1 },
    { "application/json;x=\"\\\"\", text/html;q=0.5", 1 },
    /* an unterminated quote: that element and all after it are ignored */
    { "application/json;x=\"unterminated", 0 },
    { "application/json, text/html;x=\"unterminated", 1 },
    { "text/html, application/json;x=\"a, application/json", 0 },
    { "application/json;q=0.5;ext=\"open, text/html", 0 },
    { "text/html;q=0.1, application/json;q=0.5;ext=\"ok\"", 1 },
    /* malformed elements are ignored, the rest still counts */
    { "application/json;q=1.5", 0 },
    { "application/json;q=2", 0 },
    { "application/json;q=0.0001", 0 },
    { "application/json;q=", 0 },
    { "application/json;q=abc, text/html", 0 },
    { "application/json;q=1.000", 1 },
    { "application/json;q=1.001", 0 },
    { "json, application/json", 1 },
    { "application/, application/json", 1 },
    { "/json", 0 },
    { "application/json garbage", 0 },
    { "application/json garbage, application/json;q=0.9", 1 },
    { "application /json", 0 },
    { "application/json;;q=0.4", 1 },
    { "application/json;=x", 0 },
};

START_TEST(accept_table)
{
    const struct accept_case *c = &cases[_i];

    ck_assert_msg(at_accept_wants_json(c->value) == c->json,
                  "Accept '%s': want %d", c->value ? c->value : "(null)",
                  c->json);
}
END_TEST

static Suite *accept_suite(void)
{
    Suite *s = suite_create("at_accept");
    TCase *tc = unit_tcase("accept");

    tcase_add_loop_test(tc, accept_table, 0, (int)ARRAY_LEN(cases));
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(accept_suite)
