/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Unit tests of at_time.c: every accepted form, every rejected form,
 * durations with overflow, formatting. */
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "at_time.h"

#define NOW ((at_time_t)1767225600)   /* 2026-01-01T00:00:00Z */

struct ok_case {
    const char *in;
    at_time_t want;
};

/* Expected values computed independently (GNU date -u -d ... +%s). */
static const struct ok_case ok[] = {
    { "never", AT_TIME_NONE },
    { "2026-12-31", 1798761599 },     /* a bare date: end of day */
    { "2026-12-31T12:00", 1798718400 },
    { "2026-12-31T12:00:00", 1798718400 },
    { "2026-12-31T12:00:59Z", 1798718459 },
    { "2026-12-31t12:00z", 1798718400 },
    { "2026-12-31 12:00", 1798718400 },
    { "2026-12-31T12:00+02:00", 1798711200 },
    { "2026-12-31T12:00:00-0500", 1798736400 },
    { "2026-12-31T12:00+02", 1798711200 },
    { "2026-12-31T12:00-14:00", 1798768800 },
    { "2026-12-31T12:00+14:00", 1798668000 },
    { "2024-02-29", 1709251199 },
    { "2000-02-29", 951868799 },
    { "1970-01-01T00:00:01Z", 1 },
    { "1970-01-02", 172799 },
    { "1970-01-01", 86399 },
    { "9999-12-31", 253402300799LL },
    { "2038-01-19T03:14:08Z", 2147483648LL },
    { "9999-12-31T23:59:59Z", 253402300799LL },
    { "2026-03-01T00:00:00+00:30", 1772323200 - 1800 },
    { "+30d", NOW + 30 * 86400 },
    { "+12h", NOW + 12 * 3600 },
    { "+90m", NOW + 90 * 60 },
    { "+45s", NOW + 45 },
    { "+2w", NOW + 14 * 86400 },
    { "+1s", NOW + 1 },
    { "+0030d", NOW + 30 * 86400 },
    { "+36600d", NOW + 36600LL * 86400 },
};

START_TEST(time_ok)
{
    at_time_t t = -1;
    const char *err = NULL;
    apr_status_t rv = at_time_parse(&t, ok[_i].in, NOW, &err);

    ck_assert_msg(rv == APR_SUCCESS, "'%s' rejected: %s", ok[_i].in,
                  err ? err : "?");
    ck_assert_msg(t == ok[_i].want, "'%s' gave %lld, want %lld", ok[_i].in,
                  (long long)t, (long long)ok[_i].want);
}
END_TEST

static const char *const bad[] = {
    "", "Never", "never ", " never", "now", "tomorrow",
    "2026-02-30", "2025-02-29", "1900-02-29", "2026-04-31", "2026-13-01",
    "2026-00-10", "2026-01-00", "2026-01-32", "1969-12-31",
    "1970-01-01T00:00:00Z", "1970-01-01T00:30+01:00", "10000-01-01",
    "0000-01-01", "2026-1-01", "2026-01-1", "26-01-01", "2026/01/01",
    "20260101", "2026-01-01T", "2026-01-01T24:00", "2026-01-01T23:60",
    "2026-01-01T23:59:60", "2026-01-01T1:00", "2026-01-01T12",
    "2026-01-01T12:0",
    "2026-01-01T12:00:0", "2026-01-01T12:00:00.5Z", "2026-01-01T12:00 ",
    "2026-01-01 ", "2026-01-01Z", "2026-01-01x", "2026-01-01T12:00UTC",
    "2026-01-01T12:00+2", "2026-01-01T12:00+02:0", "2026-01-01T12:00+0200x",
    "2026-01-01T12:00+15:00", "2026-01-01T12:00+14:01",
    "2026-01-01T12:00+02:60",
    "2026-01-01T12:00++02:00", "2026-01-01T12:00Zx", "2026-01-01T12:00ZZ",
    "2026-01-01T12:00+", "9999-12-31T23:59:59-00:01",
    "+0d", "+0s", "+", "+d", "+-1d", "++1d", "+1", "+1x", "+1dd", "+1d ",
    "+ 1d", "+1.5d", "+1D", "-1d", "30d", "+99999999999999999999d",
    "+36601d", "+5300w", "+9223372036854775807s", "+3162240001s",
    "2026-01-01\n", "2026-01-01T12:00:00+02:00:00", "' OR 1=1--",
    "\xc2\xb2" "026-01-01",
};

START_TEST(time_bad)
{
    at_time_t t = 12345;
    const char *err = NULL;

    ck_assert_msg(at_time_parse(&t, bad[_i], NOW, &err) == APR_EINVAL,
                  "'%s' accepted", bad[_i]);
    ck_assert_ptr_nonnull(err);
    ck_assert(strlen(err) > 5);
}
END_TEST

START_TEST(time_null_and_overflow_now)
{
    at_time_t t;
    const char *err = NULL;

    ck_assert_int_eq(at_time_parse(&t, NULL, NOW, &err), APR_EINVAL);
    /* now near the end of the range: the sum is refused, not wrapped. */
    ck_assert_int_eq(at_time_parse(&t, "+1d", (at_time_t)253402300000LL, &err),
                     APR_EINVAL);
    ck_assert_int_eq(at_time_parse(&t, "+1d", (at_time_t)0x7fffffffffffff00LL,
                                   &err), APR_EINVAL);
    ck_assert_int_eq(at_time_parse(&t, "+1d", (at_time_t)-5, &err),
                     APR_EINVAL);
}
END_TEST

struct dur_case {
    const char *in;
    apr_int64_t want;   /* -1 = invalid */
};

static const struct dur_case dur[] = {
    { "30d", 30 * 86400 }, { "+30d", 30 * 86400 }, { "12h", 43200 },
    { "90m", 5400 }, { "45s", 45 }, { "2w", 1209600 }, { "0s", 0 },
    { "0d", 0 }, { "3162240000s", 3162240000LL }, { "36600d", 3162240000LL },
    { "3162240001s", -1 }, { "5229w", -1 }, { "", -1 }, { "d", -1 },
    { "+", -1 }, { "-1d", -1 }, { "+-1d", -1 }, { "1", -1 }, { "1y", -1 },
    { "1d1h", -1 }, { " 1d", -1 }, { "1d ", -1 }, { "1 d", -1 },
    { "99999999999999999999999s", -1 }, { "0x10s", -1 },
    { "0", 0 }, { "+0", 0 }, { "00", 0 }, { "10", -1 }, { "01", -1 },
};

START_TEST(duration_table)
{
    apr_int64_t secs = 77;
    const char *err = NULL;
    apr_status_t rv = at_duration_parse(&secs, dur[_i].in, &err);

    if (dur[_i].want < 0) {
        ck_assert_msg(rv == APR_EINVAL, "'%s' accepted", dur[_i].in);
        ck_assert_ptr_nonnull(err);
    }
    else {
        ck_assert_msg(rv == APR_SUCCESS, "'%s' rejected", dur[_i].in);
        ck_assert_int_eq(secs, dur[_i].want);
    }
}
END_TEST

START_TEST(format_known)
{
    char buf[AT_TIME_STRLEN + 1];

    at_time_format(buf, 1798718459);
    ck_assert_str_eq(buf, "2026-12-31T12:00:59Z");
    at_time_format(buf, 0);
    ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
    at_time_format(buf, 951782400);
    ck_assert_str_eq(buf, "2000-02-29T00:00:00Z");
    at_time_format(buf, 253402300799LL);
    ck_assert_str_eq(buf, "9999-12-31T23:59:59Z");
    /* Out of range values are clamped, never overflow the buffer. */
    at_time_format(buf, -100);
    ck_assert_str_eq(buf, "1970-01-01T00:00:00Z");
    at_time_format(buf, (at_time_t)0x7fffffffffffffffLL);
    ck_assert_str_eq(buf, "9999-12-31T23:59:59Z");
    ck_assert_uint_eq(strlen(buf), AT_TIME_STRLEN);
}
END_TEST

/* format then parse is the identity over a wide spread of times,
 * including every day of a leap and a common year. */
START_TEST(format_parse_round_trip)
{
    char buf[AT_TIME_STRLEN + 1];
    at_time_t t, back;
    const char *err;
    int i;

    for (t = 1; t < 253402300799LL; t += 86400LL * 17 + 3607) {
        at_time_format(buf, t);
        ck_assert_int_eq(at_time_parse(&back, buf, NOW, &err), APR_SUCCESS);
        ck_assert_int_eq(back, t);
    }
    for (i = 0; i < 731; i++) {
        t = 1704067200LL + (at_time_t)i * 86400 + 86399;  /* 2024, 2025 */
        at_time_format(buf, t);
        ck_assert_int_eq(at_time_parse(&back, buf, NOW, &err), APR_SUCCESS);
        ck_assert_int_eq(back, t);
    }
}
END_TEST

/* The result never depends on the process time zone. */
START_TEST(independent_of_tz)
{
    at_time_t a, b;
    const char *err;

    setenv("TZ", "UTC", 1);
    ck_assert_int_eq(at_time_parse(&a, "2026-06-01T10:00", NOW, &err),
                     APR_SUCCESS);
    setenv("TZ", "America/New_York", 1);
    ck_assert_int_eq(at_time_parse(&b, "2026-06-01T10:00", NOW, &err),
                     APR_SUCCESS);
    ck_assert_int_eq(a, b);
    ck_assert_int_eq(a, 1780308000);
}
END_TEST

START_TEST(now_is_sane)
{
    at_time_t n = at_time_now();

    ck_assert(n > 1700000000);
    ck_assert(n < 253402300799LL);
}
END_TEST

static Suite *time_suite(void)
{
    Suite *s = suite_create("at_time");
    TCase *tc = unit_tcase("time");

    tcase_add_loop_test(tc, time_ok, 0, (int)ARRAY_LEN(ok));
    tcase_add_loop_test(tc, time_bad, 0, (int)ARRAY_LEN(bad));
    tcase_add_test(tc, time_null_and_overflow_now);
    tcase_add_loop_test(tc, duration_table, 0, (int)ARRAY_LEN(dur));
    tcase_add_test(tc, format_known);
    tcase_add_test(tc, format_parse_round_trip);
    tcase_add_test(tc, independent_of_tz);
    tcase_add_test(tc, now_is_sane);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(time_suite)
