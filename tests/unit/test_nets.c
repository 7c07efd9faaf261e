/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Unit tests of at_nets.c: network values and list containment. */
#include <string.h>

#include "unit.h"
#include "at_nets.h"

static const struct {
    const char *inner, *outer;
    int within;
} cases[] = {
    { "", "", 1 },
    { "10.0.0.0/8", "", 1 },
    { "", "10.0.0.0/8", 0 },
    { "10.1.0.0/16", "10.0.0.0/8", 1 },
    { "10.1.2.3", "10.0.0.0/8", 1 },
    { "10.1.2.3/8", "10.0.0.0/8", 1 },      /* host bits do not widen */
    { "10.0.0.0/7", "10.0.0.0/8", 0 },
    { "11.0.0.1", "10.0.0.0/8", 0 },
    { "127.0.0.1", "127.0.0.1", 1 },
    { "127.0.0.2", "127.0.0.1", 0 },
    { "127.0.0.0/31", "127.0.0.1", 0 },
    { "0.0.0.0/1 128.0.0.0/1", "127.0.0.0/8", 0 },
    { "127.0.0.1,::1", "127.0.0.0/8 ::1", 1 },
    { "127.0.0.1\t10.0.0.1", "127.0.0.0/8", 0 },
    { "::ffff:127.0.0.0/104", "127.0.0.0/8", 1 },
    { "::ffff:127.0.0.0/103", "127.0.0.0/8", 0 },
    { "127.0.0.1", "::ffff:127.0.0.0/104", 1 },
    { "::1", "127.0.0.0/8", 0 },
    { "127.0.0.1", "::/1", 0 },
    { "2001:db8:1::/48", "2001:db8::/32", 1 },
    { "2001:db8::/31", "2001:db8::/32", 0 },
    { "2001:db9::1", "2001:db8::/32", 0 },
    { "bogus", "", 0 },                     /* fail closed */
    { "10.0.0.1", "bogus", 0 },
    { "10.0.0.1/33", "10.0.0.0/8", 0 },
    { "10.0.0.1/", "10.0.0.0/8", 0 },
    { "10.0.0.1/08x", "10.0.0.0/8", 0 },
};

START_TEST(nets_within)
{
    ck_assert_msg(at_nets_within(cases[_i].inner, cases[_i].outer, tp)
                  == cases[_i].within, "'%s' within '%s' should be %d",
                  cases[_i].inner, cases[_i].outer, cases[_i].within);
}
END_TEST

START_TEST(net_parse)
{
    at_net_t n;

    ck_assert_int_eq(at_net_parse(&n, "10.1.2.3/8"), APR_SUCCESS);
    ck_assert_int_eq(n.v6, 0);
    ck_assert_int_eq(n.bits, 8);
    ck_assert_int_eq(n.addr[0], 10);
    ck_assert_int_eq(n.addr[1] | n.addr[2] | n.addr[3], 0);
    ck_assert_int_eq(at_net_parse(&n, "::ffff:10.0.0.1"), APR_SUCCESS);
    ck_assert_int_eq(n.v6, 0);
    ck_assert_int_eq(n.bits, 32);
    ck_assert_int_eq(at_net_parse(&n, "fe80::1/10"), APR_SUCCESS);
    ck_assert_int_eq(n.v6, 1);
    ck_assert_int_eq(n.addr[0], 0xfe);
    ck_assert_int_eq(n.addr[1], 0x80);
    ck_assert_int_eq(n.addr[15], 0);
    ck_assert_int_eq(at_net_parse(&n, NULL), APR_EINVAL);
    ck_assert_int_eq(at_net_parse(&n, ""), APR_EINVAL);
    ck_assert_int_eq(at_net_parse(&n, "/8"), APR_EINVAL);
    ck_assert_int_eq(at_net_parse(&n, "::1/129"), APR_EINVAL);
    ck_assert_int_eq(at_net_parse(&n, "1.2.3.4/00032"), APR_EINVAL);
}
END_TEST

/* A list parsed once gives the answers at_nets_allow gives on the text. */
START_TEST(nets_contain)
{
    const char *list = "10.0.0.0/8, 192.168.0.0/16 ::1\t127.0.0.0/8";
    apr_array_header_t *a = at_nets_parse_list(list, tp);
    const at_net_t *n;

    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->nelts, 4);
    n = (const at_net_t *)a->elts;
    ck_assert_int_eq(at_nets_contain(n, a->nelts, "127.0.0.1"), 1);
    ck_assert_int_eq(at_nets_contain(n, a->nelts, "::ffff:10.1.2.3"), 1);
    ck_assert_int_eq(at_nets_contain(n, a->nelts, "::1"), 1);
    ck_assert_int_eq(at_nets_contain(n, a->nelts, "192.169.0.1"), 0);
    ck_assert_int_eq(at_nets_contain(n, a->nelts, "::2"), 0);
    ck_assert_int_eq(at_nets_contain(n, a->nelts, "127.0.0.1/8"), 0);
    ck_assert_int_eq(at_nets_contain(n, a->nelts, "localhost"), 0);
    ck_assert_int_eq(at_nets_contain(n, a->nelts, NULL), 0);
    ck_assert_int_eq(at_nets_contain(n, 0, "203.0.113.9"), 1);
    ck_assert_ptr_null(at_nets_parse_list("10.0.0.0/8 nope", tp));
    ck_assert_int_eq(at_nets_parse_list(" , ", tp)->nelts, 0);
}
END_TEST

static Suite *nets_suite(void)
{
    Suite *s = suite_create("nets");
    TCase *tc = unit_tcase("nets");

    tcase_add_loop_test(tc, nets_within, 0, ARRAY_LEN(cases));
    tcase_add_test(tc, net_parse);
    tcase_add_test(tc, nets_contain);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(nets_suite)
