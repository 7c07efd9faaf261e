/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* The strict JSON reader and the writer (at_json), fed hostile input. */

#include <string.h>

#include "at_json.h"
#include "unit.h"

static const char *const good[] = {
    "{}", "[]", " {\"a\": 1} ", "\"x\"", "0", "-0.5e+10", "true", "null",
    "{\"a\": [1, 2, {\"b\": false}], \"c\": \"\\u00e9\\ud83d\\ude00\"}",
    "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "\"\xc3\xa9\"",
};

static const char *const evil[] = {
    "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{'a':1}", "{a:1}", "[01]",
    "[1.]", "[.5]", "[+1]", "[1e]", "[-]", "NaN", "[Infinity]", "tru",
    "nul", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "\"abc", "\"a\\x\"",
    "\"\\u12\"", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00\"",
    "\"\\ud800\\u0041\"", "\"a\tb\"", "\"\xc3\"", "\"\xc0\xaf\"",
    "\"\xed\xa0\x80\"", "\"\xf5\x80\x80\x80\"", "{} {}", "[1] x",
    "{\"a\":1,\"a\":2}", "/* c */ {}", "{\"a\":1}//", "[1,,2]",
    "\xef\xbb\xbf{}",
};

START_TEST(accepts)
{
    at_json_t *v;
    const char *err;

    ck_assert_msg(at_json_parse(&v, good[_i], strlen(good[_i]), 0, &err, tp)
                  == APR_SUCCESS, "%s: %s", good[_i], err);
}
END_TEST

START_TEST(refuses)
{
    at_json_t *v;
    const char *err = NULL;

    ck_assert_msg(at_json_parse(&v, evil[_i], strlen(evil[_i]), 0, &err, tp)
                  == APR_EINVAL, "accepted %s", evil[_i]);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_null(v);
}
END_TEST

START_TEST(values)
{
    const char *t = "{\"n\": \"caf\\u00e9\", \"s\": [\"dns\", \"x\"],"
                    " \"f\": true, \"e\": -12.5}";
    const at_json_t *m;
    at_json_t *v;
    const char *err;

    ck_assert_int_eq(at_json_parse(&v, t, strlen(t), 0, &err, tp),
                     APR_SUCCESS);
    ck_assert_int_eq(v->type, AT_JSON_OBJECT);
    m = at_json_get(v, "n");
    ck_assert_str_eq(m->str, "caf\xc3\xa9");
    ck_assert_int_eq(m->len, 5);
    m = at_json_get(v, "s");
    ck_assert_int_eq(m->type, AT_JSON_ARRAY);
    ck_assert_int_eq(m->items->nelts, 2);
    ck_assert_int_eq(at_json_get(v, "f")->type, AT_JSON_TRUE);
    ck_assert(at_json_get(v, "e")->num == -12.5);
    ck_assert_ptr_null(at_json_get(v, "missing"));
    ck_assert_ptr_null(at_json_get(m, "n"));
}
END_TEST

START_TEST(embedded_nul_and_depth)
{
    char deep[200];
    at_json_t *v;
    const char *err;

    ck_assert_int_eq(at_json_parse(&v, "\"a\0b\"", 5, 0, &err, tp),
                     APR_EINVAL);
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    ck_assert_int_eq(at_json_parse(&v, deep, 200, 32, &err, tp), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "deeply"));
    ck_assert_int_eq(at_json_parse(&v, deep + 70, 60, 32, &err, tp),
                     APR_SUCCESS);
    ck_assert_int_eq(at_json_parse(&v, NULL, 0, 0, &err, tp), APR_EINVAL);
}
END_TEST

START_TEST(writer)
{
    at_jbuf_t b;
    apr_size_t n;
    const char *t;
    at_json_t *v;
    const char *err;

    at_jbuf_init(&b, tp);
    at_jbuf_raw(&b, "[");
    at_jbuf_str(&b, "a\"b\\c\n\x01</script>&\xff\xc3\xa9");
    at_jbuf_raw(&b, ", ");
    at_jbuf_words(&b, " dns  email:read ");
    at_jbuf_printf(&b, ", %d, ", 42);
    at_jbuf_str(&b, NULL);
    at_jbuf_raw(&b, "]");
    t = at_jbuf_text(&b, &n);
    ck_assert_int_eq(n, strlen(t));
    ck_assert_str_eq(t, "[\"a\\\"b\\\\c\\u000a\\u0001\\u003c/script\\u003e"
                        "\\u0026\\ufffd\xc3\xa9\", [\"dns\", \"email:read\"],"
                        " 42, null]");
    ck_assert_int_eq(at_json_parse(&v, t, n, 0, &err, tp), APR_SUCCESS);
}
END_TEST

static Suite *json_suite(void)
{
    Suite *s = suite_create("json");
    TCase *tc = unit_tcase("json");

    tcase_add_loop_test(tc, accepts, 0, ARRAY_LEN(good));
    tcase_add_loop_test(tc, refuses, 0, ARRAY_LEN(evil));
    tcase_add_test(tc, values);
    tcase_add_test(tc, embedded_nul_and_depth);
    tcase_add_test(tc, writer);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(json_suite)
