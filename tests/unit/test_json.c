/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* The strict JSON reader and the writer (at_json), fed hostile input:
 * what it accepts and refuses, what it decodes, and what memory and time
 * a hostile text costs it. */

#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <apr_allocator.h>
#include <apr_strings.h>

#include "at_json.h"
#include "unit.h"

/* What the pools took from the system.  Debian's APR maps each block of
 * an allocator (mmap), so the address space grows; an APR that takes its
 * blocks from malloc grows the heap instead, which under AddressSanitizer
 * its own allocator holds. */
#if defined(__SANITIZE_ADDRESS__)
#define HEAP_FROM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HEAP_FROM_ASAN 1
#endif
#endif

#ifdef HEAP_FROM_ASAN
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

static apr_size_t heap_bytes(void)
{
#ifdef HEAP_FROM_ASAN
    return __sanitizer_get_current_allocated_bytes();
#else
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
#endif
}

static apr_size_t mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    return (apr_size_t)pages * (apr_size_t)sysconf(_SC_PAGESIZE);
}

static double cpu_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One parse into a fresh pool with its own allocator, so that nothing is
 * recycled from earlier work: *bytes is what the heap grew by.  The pool
 * (*pp) holds the result; the caller destroys it. */
static apr_status_t parse_measured(at_json_t **v, const char **err,
                                   apr_size_t *bytes, apr_pool_t **pp,
                                   const char *text, apr_size_t len,
                                   int max_depth)
{
    apr_allocator_t *a;
    apr_size_t heap, mapped;
    apr_status_t rv;

    ck_assert_int_eq(apr_allocator_create(&a), APR_SUCCESS);
    ck_assert_int_eq(apr_pool_create_ex(pp, NULL, NULL, a), APR_SUCCESS);
    apr_allocator_owner_set(a, *pp);
    heap = heap_bytes();
    mapped = mapped_bytes();
    rv = at_json_parse(v, text, len, max_depth, err, *pp);
    heap = heap_bytes() - heap;
    mapped = mapped_bytes() - mapped;
    /* One of them is the pool's growth, the other nearly nothing. */
    *bytes = heap > mapped ? heap : mapped;
    return rv;
}

/* head, then copies of item joined by ',' while the text stays within
 * size bytes, then tail.  A '#' in item becomes the copy's number, so
 * that keys and strings can differ. */
static char *repeat(apr_size_t *len, const char *head, const char *item,
                    const char *tail, apr_size_t size)
{
    char *t = apr_palloc(tp, size + 1);
    apr_size_t n = strlen(head), tl = strlen(tail);
    unsigned long i;

    memcpy(t, head, n);
    for (i = 0;; i++) {
        char one[256], num[24];
        apr_size_t k = 0;
        const char *c;

        apr_snprintf(num, sizeof(num), "%lu", i);
        if (i > 0) {
            one[k++] = ',';
        }
        for (c = item; *c; c++) {
            if (*c == '#') {
                memcpy(one + k, num, strlen(num));
                k += strlen(num);
            }
            else {
                one[k++] = *c;
            }
        }
        if (n + k + tl > size) {
            break;
        }
        memcpy(t + n, one, k);
        n += k;
    }
    memcpy(t + n, tail, tl);
    n += tl;
    t[n] = '\0';
    *len = n;
    return t;
}

static const char *const good[] = {
    "{}", "[]", " {\"a\": 1} ", "\"x\"", "0", "-0.5e+10", "true", "null",
    "{\"a\": [1, 2, {\"b\": false}], \"c\": \"\\u00e9\\ud83d\\ude00\"}",
    "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]", "\"\xc3\xa9\"",
    /* the same key in different objects, keys that are prefixes */
    "{\"a\": {\"a\": 1}, \"b\": {\"a\": 1}, \"ab\": [{\"a\": 1}, {\"a\": 2}]}",
    "{\"a\": 1, \"ab\": 2, \"abc\": 3, \"A\": 4, \"\": 5}",
    "\"\\udbff\\udfff\"", "\"\xf4\x8f\xbf\xbf\"", "\"\xef\xbf\xbf\"",
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
    /* surrogates: reversed pair, high then high, high at the end */
    "\"\\udc00\\ud800\"", "\"\\ud800\\ud800\"", "\"\\ud800\"",
    "\"\\ud800\\\"", "\"\\ud800\\u\"", "\"\\uD800\\uDBFF\"",
    /* invalid UTF-8: overlong, beyond U+10FFFF, stray continuation, cut */
    "\"\xe0\x80\xaf\"", "\"\xf0\x80\x80\xaf\"", "\"\xf4\x90\x80\x80\"",
    "\"\x80\"", "\"\xbf\"", "\"\xe2\x82\"", "\"\xfe\"", "\"\xff\"",
    "{\"\xc3\":1}",
    /* duplicate keys: spelt differently, far apart, nested */
    "{\"a\":1,\"\\u0061\":2}", "{\"\\u00e9\":1,\"\xc3\xa9\":2}",
    "{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"a\":7}",
    "[{\"x\":{\"y\":1,\"y\":2}}]",
    /* escapes */
    "\"\\U0041\"", "\"\\u00g0\"", "\"\\'\"", "\"\\\"",
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

/* JSON string -> the bytes it decodes to. */
static const struct {
    const char *json;
    const char *bytes;
} escapes[] = {
    { "\"\\u0041\\u00e9\\u20ac\"", "A\xc3\xa9\xe2\x82\xac" },
    { "\"\\u007f\\u0080\\u07ff\\u0800\\uffff\"",
      "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf" },
    { "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80" },
    { "\"\\uD834\\uDD1E\"", "\xf0\x9d\x84\x9e" },
    { "\"\\ud800\\udc00\"", "\xf0\x90\x80\x80" },
    { "\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf" },
    { "\"a\\\"b\\\\c\\/d\"", "a\"b\\c/d" },
    { "\"\\b\\f\\n\\r\\t\"", "\b\f\n\r\t" },
    { "\"\\u0001\"", "\x01" },
    { "\"\"", "" },
    { "\"\xf0\x9f\x98\x80 \xc3\xa9\"", "\xf0\x9f\x98\x80 \xc3\xa9" },
};

START_TEST(decodes)
{
    const char *t = escapes[_i].json;
    at_json_t *v;
    const char *err;

    ck_assert_msg(at_json_parse(&v, t, strlen(t), 0, &err, tp)
                  == APR_SUCCESS, "%s: %s", t, err);
    ck_assert_int_eq(v->type, AT_JSON_STRING);
    ck_assert_str_eq(v->str, escapes[_i].bytes);
    ck_assert_int_eq(v->len, strlen(escapes[_i].bytes));
}
END_TEST

START_TEST(values)
{
    const char *t = "{\"n\": \"caf\\u00e9\", \"s\": [\"dns\", \"x\"],"
                    " \"f\": true, \"e\": -12.5, \"\\u006b\": \"k\"}";
    const at_json_t *m;
    at_json_t *v;
    const char *err;
    static const char *const order[] = { "n", "s", "f", "e", "k" };
    int i;

    ck_assert_int_eq(at_json_parse(&v, t, strlen(t), 0, &err, tp),
                     APR_SUCCESS);
    ck_assert_int_eq(v->type, AT_JSON_OBJECT);
    /* Members keep the order of the text (duplicates are found by
     * sorting, but not the members themselves). */
    ck_assert_int_eq(v->items->nelts, 5);
    for (i = 0; i < 5; i++) {
        ck_assert_str_eq(APR_ARRAY_IDX(v->items, i, at_json_t *)->key,
                         order[i]);
    }
    m = at_json_get(v, "n");
    ck_assert_str_eq(m->str, "caf\xc3\xa9");
    ck_assert_int_eq(m->len, 5);
    m = at_json_get(v, "s");
    ck_assert_int_eq(m->type, AT_JSON_ARRAY);
    ck_assert_int_eq(m->items->nelts, 2);
    ck_assert_ptr_null(APR_ARRAY_IDX(m->items, 0, at_json_t *)->key);
    ck_assert_str_eq(APR_ARRAY_IDX(m->items, 1, at_json_t *)->str, "x");
    ck_assert_int_eq(at_json_get(v, "f")->type, AT_JSON_TRUE);
    ck_assert(at_json_get(v, "e")->num == -12.5);
    ck_assert_str_eq(at_json_get(v, "e")->str, "-12.5");
    ck_assert_str_eq(at_json_get(v, "k")->str, "k");
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
    ck_assert_int_eq(at_json_parse(&v, "{\"a\0\":1}", 8, 0, &err, tp),
                     APR_EINVAL);
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    ck_assert_int_eq(at_json_parse(&v, deep, 200, 32, &err, tp), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "deeply"));
    ck_assert_int_eq(at_json_parse(&v, deep + 70, 60, 32, &err, tp),
                     APR_SUCCESS);
    ck_assert_int_eq(at_json_parse(&v, NULL, 0, 0, &err, tp), APR_EINVAL);
    /* Exactly max_depth levels pass, one more does not. */
    ck_assert_int_eq(at_json_parse(&v, deep + 84, 32, 16, &err, tp),
                     APR_SUCCESS);
    ck_assert_int_eq(at_json_parse(&v, deep + 83, 34, 16, &err, tp),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "deeply"));
    /* A caller cannot ask for more than AT_JSON_MAX_DEPTH. */
    ck_assert_int_eq(at_json_parse(&v, deep + 50, 100, 1000000, &err, tp),
                     APR_EINVAL);
    ck_assert_int_eq(at_json_parse(&v, deep + 68, 64, 1000000, &err, tp),
                     APR_SUCCESS);
}
END_TEST

/* 10,000 keys are more values than allowed: refused, in bounded memory. */
START_TEST(ten_thousand_keys)
{
    apr_size_t len, bytes;
    char *t = repeat(&len, "{", "\"key-#\":#", "}", 200000);
    at_json_t *v;
    const char *err;
    apr_pool_t *p;

    ck_assert_ptr_nonnull(strstr(t, ",\"key-9999\":9999,"));
    ck_assert_int_eq(parse_measured(&v, &err, &bytes, &p, t, len, 0),
                     APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "too many values"));
    ck_assert_ptr_null(v);
    ck_assert_uint_le(bytes, 1 << 20);
    apr_pool_destroy(p);
}
END_TEST

/* Nearly as many keys as values allowed: all found, in order; one
 * duplicate at the far end is found, and reported at the object that
 * holds it. */
START_TEST(many_keys)
{
    apr_size_t len, bytes;
    char *t = repeat(&len, "{", "\"key-#\":#", "}", 120000);
    at_json_t *v;
    const char *err;
    apr_pool_t *p;
    char *dup;

    ck_assert_int_eq(parse_measured(&v, &err, &bytes, &p, t, len, 0),
                     APR_SUCCESS);
    ck_assert_int_ge(v->items->nelts, 7000);
    ck_assert_int_lt(v->items->nelts, AT_JSON_MAX_NODES - 2);
    ck_assert_int_eq(at_json_get(v, "key-0")->num, 0);
    ck_assert_int_eq(at_json_get(v, "key-5000")->num, 5000);
    ck_assert_int_eq(at_json_get(v, "key-6999")->num, 6999);
    ck_assert_str_eq(APR_ARRAY_IDX(v->items, 6777, at_json_t *)->key,
                     "key-6777");
    ck_assert_ptr_null(at_json_get(v, "key-"));
    ck_assert_uint_le(bytes, 10 * len);
    apr_pool_destroy(p);

    dup = apr_pstrcat(tp, "[0, ", apr_pstrndup(tp, t, len - 1),
                      ",\"key-1\":1}]", NULL);
    ck_assert_int_eq(at_json_parse(&v, dup, strlen(dup), 0, &err, tp),
                     APR_EINVAL);
    ck_assert_str_eq(err, "duplicate key in the object at byte 4");
}
END_TEST

/* Duplicate keys are found by sorting, not by comparing every pair: a
 * CPU-time bound that the pairwise search misses several times over
 * (keys with a long common prefix make each comparison cost). */
START_TEST(keys_time)
{
    apr_size_t len, bytes;
    char *t = repeat(&len, "{", "\"a-rather-long-common-key-prefix-#\":0",
                     "}", 300000);
    at_json_t *v;
    const char *err;
    apr_pool_t *p;
    double t0, spent;

    t0 = cpu_seconds();
    ck_assert_int_eq(parse_measured(&v, &err, &bytes, &p, t, len, 0),
                     APR_SUCCESS);
    spent = cpu_seconds() - t0;
    ck_assert_int_gt(v->items->nelts, 7000);
    ck_assert_msg(spent < 0.1, "%d keys took %.3f s of CPU",
                  v->items->nelts, spent);
    apr_pool_destroy(p);
}
END_TEST

/* Hostile shapes of about the management API's body size (64 KB): the
 * pool may grow by at most a small multiple of the text, whether the
 * text is accepted or refused by the value limit. */
static const struct {
    const char *head, *item, *tail;
    apr_status_t rv;
} shapes[] = {
    { "{\"s\":[", "\"\"", "]}", APR_EINVAL },   /* past the value limit */
    { "{\"s\":[", "\"ab\"", "]}", APR_EINVAL },
    { "{\"s\":[", "\"abcdefgh\"", "]}", APR_SUCCESS },
    { "[", "\"#\"", "]", APR_EINVAL },
    { "[", "\"s-#\"", "]", APR_SUCCESS },
    { "[", "0", "]", APR_EINVAL },
    { "[", "12", "]", APR_EINVAL },
    { "[", "[[0]]", "]", APR_EINVAL },
    { "[", "[]", "]", APR_EINVAL },
    { "[", "{}", "]", APR_EINVAL },
    { "[", "{\"a\":0,\"b\":[]}", "]", APR_EINVAL },
    { "[", "{\"a\":0,\"bcdefghijk\":[]}", "]", APR_SUCCESS },
    { "{", "\"#\":0", "}", APR_SUCCESS },
    { "{", "\"#\":{}", "}", APR_SUCCESS },
    { "[", "\"\\u00e9\\ud83d\\ude00\\n\"", "]", APR_SUCCESS },
    { "[\"", "x", "\"]", APR_SUCCESS },         /* one long string */
    { "[", "[[[[[[[[[[[[[[0]]]]]]]]]]]]]]", "]", APR_EINVAL },
};

#define BODY 63000
/* The limit asserted: 16 bytes of pool per byte of text.  By design at
 * most AT_JSON_MAX_NODES values of 88 bytes each (node, array header,
 * slot in the parent), a stack of 8 bytes per value and the text once:
 * under 14 times a 63 KB text.  The old reader took a copy of the rest of
 * the text for every string (thousands of times the text). */
#define PER_BYTE 16

START_TEST(bounded_memory)
{
    apr_size_t len, bytes;
    char *t = repeat(&len, shapes[_i].head, shapes[_i].item, shapes[_i].tail,
                     BODY);
    at_json_t *v;
    const char *err;
    apr_pool_t *p;
    apr_status_t rv;

    rv = parse_measured(&v, &err, &bytes, &p, t, len, 16);
    ck_assert_msg(rv == shapes[_i].rv, "%.40s...: %s", t,
                  rv == APR_SUCCESS ? "accepted" : err);
    if (rv != APR_SUCCESS) {
        ck_assert_ptr_nonnull(strstr(err, "too many values"));
    }
    ck_assert_msg(bytes <= PER_BYTE * len, "%.40s... (%" APR_SIZE_T_FMT
                  " bytes): %" APR_SIZE_T_FMT " bytes of pool (%.1f per byte)",
                  t, len, bytes, (double)bytes / (double)len);
    apr_pool_destroy(p);
}
END_TEST

/* AT_JSON_MAX_NODES values pass, one more does not, at any depth. */
START_TEST(value_limit)
{
    apr_size_t len, bytes;
    char *t = repeat(&len, "[", "0", "]", 2 * AT_JSON_MAX_NODES - 1);
    at_json_t *v;
    const char *err;
    apr_pool_t *p;

    ck_assert_int_eq(parse_measured(&v, &err, &bytes, &p, t, len, 0),
                     APR_SUCCESS);
    ck_assert_int_eq(v->items->nelts, AT_JSON_MAX_NODES - 1);
    apr_pool_destroy(p);
    t = repeat(&len, "[", "0", "]", 2 * AT_JSON_MAX_NODES + 1);
    ck_assert_int_eq(at_json_parse(&v, t, len, 0, &err, tp), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "too many values"));
    t = repeat(&len, "{\"a\":[", "[0]", "]}", 3 * AT_JSON_MAX_NODES);
    ck_assert_int_eq(at_json_parse(&v, t, len, 0, &err, tp), APR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "too many values"));
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
    tcase_add_loop_test(tc, decodes, 0, ARRAY_LEN(escapes));
    tcase_add_test(tc, values);
    tcase_add_test(tc, embedded_nul_and_depth);
    tcase_add_test(tc, ten_thousand_keys);
    tcase_add_test(tc, many_keys);
    tcase_add_test(tc, keys_time);
    tcase_add_loop_test(tc, bounded_memory, 0, ARRAY_LEN(shapes));
    tcase_add_test(tc, value_limit);
    tcase_add_test(tc, writer);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(json_suite)
