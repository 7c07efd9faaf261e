/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Unit tests of at_text.c (the display escaper and UTF-8) and of
 * at_token_json.c (the token object of the tool and the API). */
#include <string.h>

#include "unit.h"
#include "at_text.h"
#include "at_token_json.h"

static const struct {
    const char *in, *clean, *quote;
} cases[] = {
    { "plain", "plain", "'plain'" },
    { "", "", "''" },
    { "caf\xc3\xa9", "caf\xc3\xa9", "'caf\xc3\xa9'" },
    { "a\nb", "a\\x0ab", "'a\\x0ab'" },
    { "\x1b[31m", "\\x1b[31m", "'\\x1b[31m'" },
    { "del\x7f", "del\\x7f", "'del\\x7f'" },
    { "csi\xc2\x9b", "csi\\xc2\\x9b", "'csi\\xc2\\x9b'" },   /* C1 */
    { "bad\xff", "bad\\xff", "'bad\\xff'" },                 /* not UTF-8 */
    { "half\xc3", "half\\xc3", "'half\\xc3'" },
    { "back\\slash", "back\\slash", "'back\\x5cslash'" },
    { "it's", "it's", "'it\\x27s'" },
};

START_TEST(escapes)
{
    apr_pool_t *p = tp;

    ck_assert_str_eq(at_text_clean(cases[_i].in, p), cases[_i].clean);
    ck_assert_str_eq(at_text_quote(cases[_i].in, p), cases[_i].quote);
}
END_TEST

START_TEST(clean_copies_only_when_needed)
{
    apr_pool_t *p = tp;
    const char *s = "nothing to escape";

    ck_assert_ptr_eq(at_text_clean(s, p), s);
    ck_assert_str_eq(at_text_clean(NULL, p), "");
    ck_assert_str_eq(at_text_quote(NULL, p), "(none)");
}
END_TEST

START_TEST(quote_shortens)
{
    apr_pool_t *p = tp;
    char long_in[400];
    const char *q;

    memset(long_in, 'x', sizeof(long_in) - 1);
    long_in[sizeof(long_in) - 1] = '\0';
    q = at_text_quote(long_in, p);
    ck_assert_int_eq((int)strlen(q), 120 + 2 + 3);
    ck_assert(strcmp(q + strlen(q) - 4, "'...") == 0);
    /* All controls: each byte becomes four, within the buffer. */
    memset(long_in, '\x01', sizeof(long_in) - 1);
    q = at_text_quote(long_in, p);
    ck_assert_int_eq((int)strlen(q), 120 * 4 + 2 + 3);
}
END_TEST

START_TEST(utf8_sequences)
{
    apr_uint32_t cp = 0;

    ck_assert_uint_eq(at_utf8_seq((const unsigned char *)"A", 1, &cp), 1);
    ck_assert_uint_eq(cp, 'A');
    ck_assert_uint_eq(at_utf8_seq((const unsigned char *)"\xe2\x82\xac",
                                  AT_UTF8_NUL_TERMINATED, &cp), 3);
    ck_assert_uint_eq(cp, 0x20ac);
    ck_assert_uint_eq(at_utf8_seq((const unsigned char *)"\xc0\x80",
                                  AT_UTF8_NUL_TERMINATED, NULL), 0);
    ck_assert_uint_eq(at_utf8_seq((const unsigned char *)"\xed\xa0\x80",
                                  AT_UTF8_NUL_TERMINATED, NULL), 0);
    ck_assert_uint_eq(at_utf8_seq((const unsigned char *)"\xe2\x82",
                                  2, NULL), 0);
    ck_assert(AT_IS_CONTROL(0x9b) && AT_IS_CONTROL(0x7f));
    ck_assert(!AT_IS_CONTROL(0xa0) && !AT_IS_CONTROL(' '));
}
END_TEST

START_TEST(token_object)
{
    apr_pool_t *p = tp;
    at_token_rec_t r;
    at_jbuf_t b;
    const char *t;

    memset(&r, 0, sizeof(r));
    r.id = "AAAAAAAAAAAA";
    r.owner = "alice";
    r.name = "n<1>";
    r.scopes = "dns files:read";
    r.allowed_nets = "127.0.0.1";
    r.description = "";
    r.created_at = 86400;
    r.expires_at = AT_TIME_NONE;
    r.revoked_at = AT_TIME_NONE;
    r.last_used_at = AT_TIME_NONE;
    r.last_used_addr = "";
    r.prev_digest = "";
    at_jbuf_init(&b, p);
    at_token_json(&b, &r, 86410, NULL, "apt_secret", 0);
    t = at_jbuf_text(&b, NULL);
    ck_assert_str_eq(t, "{\"id\": \"AAAAAAAAAAAA\", \"owner\": \"alice\", "
                     "\"name\": \"n\\u003c1\\u003e\", \"description\": \"\", "
                     "\"full_access\": false, \"scopes\": [\"dns\", "
                     "\"files:read\"], \"allowed_networks\": "
                     "[\"127.0.0.1\"], \"resources\": [], "
                     "\"status\": \"active\", "
                     "\"created_at\": \"1970-01-02T00:00:00Z\", "
                     "\"expires_at\": null, \"revoked_at\": null, "
                     "\"last_used_at\": null, \"last_used_addr\": null, "
                     "\"previous_secret_until\": null, "
                     "\"token\": \"apt_secret\"}");
    at_jbuf_init(&b, p);
    at_token_json(&b, &r, 86410, "expiring_soon", NULL, 1);
    t = at_jbuf_text(&b, NULL);
    ck_assert(strstr(t, "\"status\": \"expiring_soon\"") != NULL);
    ck_assert(strstr(t, "token") == NULL);
    ck_assert(t[strlen(t) - 1] != '}');
}
END_TEST

static Suite *text_suite(void)
{
    Suite *s = suite_create("text");
    TCase *tc = unit_tcase("text");

    tcase_add_loop_test(tc, escapes, 0, ARRAY_LEN(cases));
    tcase_add_test(tc, clean_copies_only_when_needed);
    tcase_add_test(tc, quote_shortens);
    tcase_add_test(tc, utf8_sequences);
    tcase_add_test(tc, token_object);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(text_suite)
