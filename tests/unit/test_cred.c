/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Unit tests of at_cred.c: a table of odd Authorization header values for
 * every form, the bare-header form and the b64token predicate. */
#include <string.h>

#include "unit.h"
#include "at_cred.h"

#define TOK "apt_AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ011MWnyA"

enum { ABS = AT_CRED_ABSENT, OK = AT_CRED_FOUND, BAD = AT_CRED_MALFORMED };

struct auth_case {
    const char *value;
    int bearer, basic, cpanel;  /* accepted forms */
    int want;
    at_form_t form;
    const char *user;           /* expected when OK */
    const char *token;          /* expected when OK */
};

static const struct auth_case auth[] = {
    /* Bearer */
    { "Bearer " TOK, 1, 0, 0, OK, AT_FORM_BEARER, NULL, TOK },
    { "bearer " TOK, 1, 0, 0, OK, AT_FORM_BEARER, NULL, TOK },
    { "BEARER " TOK, 1, 0, 0, OK, AT_FORM_BEARER, NULL, TOK },
    { "bEaReR tok", 1, 0, 0, OK, AT_FORM_BEARER, NULL, "tok" },
    { "Bearer   " TOK, 1, 0, 0, OK, AT_FORM_BEARER, NULL, TOK },
    { "  Bearer " TOK "  ", 1, 0, 0, OK, AT_FORM_BEARER, NULL, TOK },
    { "Bearer tok=", 1, 0, 0, OK, AT_FORM_BEARER, NULL, "tok=" },
    { "Bearer a-._~+/b==", 1, 0, 0, OK, AT_FORM_BEARER, NULL, "a-._~+/b==" },
    { "", 1, 1, 1, ABS, AT_FORM_NONE, NULL, NULL },
    { "   ", 1, 1, 1, ABS, AT_FORM_NONE, NULL, NULL },
    { "Bearer", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer ", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer    ", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer  x y", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer " TOK " extra", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer ==", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer =tok", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer tok=x", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer tok!", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer tok,", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer \"tok\"", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer apt_' OR 1=1--", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer tok;rm -rf /", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer t\xc3\xa9k", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer \xff\xfe", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer tok\x01", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer tok\r\nX-Evil: 1", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer\ttok", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer tok\x7f", 1, 0, 0, BAD, AT_FORM_BEARER, NULL, NULL },
    { "Bearer " TOK, 0, 1, 1, ABS, AT_FORM_NONE, NULL, NULL },
    { "Bearerx tok", 1, 0, 0, ABS, AT_FORM_NONE, NULL, NULL },
    { "Beare tok", 1, 0, 0, ABS, AT_FORM_NONE, NULL, NULL },
    { "Bear\x01" "er tok", 1, 0, 0, ABS, AT_FORM_NONE, NULL, NULL },
    { "Token tok", 1, 1, 1, ABS, AT_FORM_NONE, NULL, NULL },
    { "Digest username=\"x\"", 1, 1, 1, ABS, AT_FORM_NONE, NULL, NULL },
    { TOK, 1, 1, 1, ABS, AT_FORM_NONE, NULL, NULL },
    /* cPanel style */
    { "cpanel owner:" TOK, 0, 0, 1, OK, AT_FORM_SCHEME, "owner", TOK },
    { "CPanel owner:" TOK, 0, 0, 1, OK, AT_FORM_SCHEME, "owner", TOK },
    { "cpanel ow\xc3\xa9ner:tok", 0, 0, 1, OK, AT_FORM_SCHEME,
      "ow\xc3\xa9ner", "tok" },
    { "cpanel " TOK, 0, 0, 1, BAD, AT_FORM_SCHEME, NULL, NULL },
    { "cpanel :" TOK, 0, 0, 1, BAD, AT_FORM_SCHEME, NULL, NULL },
    { "cpanel owner:", 0, 0, 1, BAD, AT_FORM_SCHEME, NULL, NULL },
    { "cpanel owner", 0, 0, 1, BAD, AT_FORM_SCHEME, NULL, NULL },
    { "cpanel :", 0, 0, 1, BAD, AT_FORM_SCHEME, NULL, NULL },
    { "cpanel", 0, 0, 1, BAD, AT_FORM_SCHEME, NULL, NULL },
    { "cpanel owner:a:b", 0, 0, 1, BAD, AT_FORM_SCHEME, NULL, NULL },
    { "cpanel owner: tok", 0, 0, 1, BAD, AT_FORM_SCHEME, NULL, NULL },
    { "cpanel owner :tok", 0, 0, 1, BAD, AT_FORM_SCHEME, NULL, NULL },
    { "cpanel owner:tok!", 0, 0, 1, BAD, AT_FORM_SCHEME, NULL, NULL },
    { "cpanel own\ter:tok", 0, 0, 1, BAD, AT_FORM_SCHEME, NULL, NULL },
    { "cpanel owner:tok", 1, 1, 0, ABS, AT_FORM_NONE, NULL, NULL },
    { "whm owner:tok", 0, 0, 1, ABS, AT_FORM_NONE, NULL, NULL },
    /* Basic */
    { "Basic b3duZXI6YXB0X3Rvaw==", 0, 1, 0, OK, AT_FORM_BASIC, "owner",
      "apt_tok" },
    { "basic YTpi", 0, 1, 0, OK, AT_FORM_BASIC, "a", "b" },
    { "Basic b3fDqW5lcjp0b2s=", 0, 1, 0, OK, AT_FORM_BASIC,
      "ow\xc3\xa9ner", "tok" },
    { "Basic !!!", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic ", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic b3duZXI=", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic OnRvaw==", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic b3duZXI6", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic b3duIGVyOnRvaw==", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic b3duZXI6dG9rAQ==", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic b3duZXI6dG9rIGVu", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic b3duZXI6dABvaw==", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic b3duZXI6dG9rIQ==", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic b3duZXI6YTpi", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic YTpi=", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic YTp", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic YTpi====", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic YT=i", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic ====", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic b3duZXI6YXB0X3Rvaw", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic b3duZXI6YXB0X3Rvaw=", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic b3duZXJ=", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic YT-i", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic YTpi YTpi", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic YTpi\n", 0, 1, 0, BAD, AT_FORM_BASIC, NULL, NULL },
    { "Basic YTpi", 1, 0, 1, ABS, AT_FORM_NONE, NULL, NULL },
};

static const char *const cpanel_words[] = { "cpanel", NULL };

START_TEST(authorization_table)
{
    const struct auth_case *c = &auth[_i];
    at_cred_t cred;
    const char *why = NULL;
    at_cred_status_t st;

    st = at_cred_parse_authorization(&cred, c->value, c->bearer, c->basic,
                                     c->cpanel ? cpanel_words : NULL, &why,
                                     tp);
    ck_assert_msg((int)st == c->want, "case %d '%s': got %d (%s), want %d",
                  _i, c->value, (int)st, why ? why : "-", c->want);
    if (st == AT_CRED_FOUND) {
        ck_assert_int_eq(cred.form, c->form);
        ck_assert_str_eq(cred.token, c->token);
        if (c->user) {
            ck_assert_str_eq(cred.user, c->user);
        }
        else {
            ck_assert_ptr_null(cred.user);
        }
    }
    else {
        ck_assert_ptr_nonnull(why);
        ck_assert_ptr_null(cred.token);
        if (st == AT_CRED_MALFORMED) {
            ck_assert_int_eq(cred.form, c->form);
        }
    }
    /* The reason never quotes the credentials. */
    if (why != NULL) {
        ck_assert_ptr_null(strstr(why, "apt_"));
        ck_assert_ptr_null(strstr(why, "owner"));
        ck_assert_ptr_null(strstr(why, "1=1"));
    }
}
END_TEST

START_TEST(authorization_edge)
{
    at_cred_t cred;
    const char *why;
    const char *const words[] = { "cpanel", "whm", NULL };
    char *big;

    ck_assert_int_eq(at_cred_parse_authorization(&cred, NULL, 1, 1, words,
                                                 &why, tp), AT_CRED_ABSENT);
    ck_assert_int_eq(at_cred_parse_authorization(&cred, "WHM u:t", 0, 0,
                                                 words, &why, tp),
                     AT_CRED_FOUND);
    ck_assert_str_eq(cred.user, "u");
    /* A very long but well-formed token is the token parser's problem. */
    big = apr_palloc(tp, 70000);
    memcpy(big, "Bearer ", 7);
    memset(big + 7, 'a', 70000 - 8);
    big[70000 - 1] = '\0';
    ck_assert_int_eq(at_cred_parse_authorization(&cred, big, 1, 0, NULL,
                                                 &why, tp), AT_CRED_FOUND);
    ck_assert_uint_eq(strlen(cred.token), 70000 - 8);
    big[40000] = ' ';
    ck_assert_int_eq(at_cred_parse_authorization(&cred, big, 1, 0, NULL,
                                                 &why, tp),
                     AT_CRED_MALFORMED);
    /* Nothing accepted: every value is ABSENT. */
    ck_assert_int_eq(at_cred_parse_authorization(&cred, "Bearer x", 0, 0,
                                                 NULL, &why, tp),
                     AT_CRED_ABSENT);
}
END_TEST

struct bare_case {
    const char *value;
    int want;
    const char *token;
};

static const struct bare_case bare[] = {
    { TOK, OK, TOK },
    { "  " TOK "\t", OK, TOK },
    { "abc==", OK, "abc==" },
    { "", BAD, NULL },
    { "   ", BAD, NULL },
    { "\t", BAD, NULL },
    { "Bearer " TOK, BAD, NULL },
    { "a b", BAD, NULL },
    { "tok\x01", BAD, NULL },
    { "to\nk", BAD, NULL },
    { "t\xc3\xa9k", BAD, NULL },
    { "==", BAD, NULL },
    { "tok=x", BAD, NULL },
    { "apt_' OR 1=1--", BAD, NULL },
};

START_TEST(bare_table)
{
    at_cred_t cred;
    const char *why = NULL;
    at_cred_status_t st = at_cred_parse_bare(&cred, bare[_i].value, &why, tp);

    ck_assert_msg((int)st == bare[_i].want, "case %d: got %d", _i, (int)st);
    if (st == AT_CRED_FOUND) {
        ck_assert_str_eq(cred.token, bare[_i].token);
        ck_assert_int_eq(cred.form, AT_FORM_HEADER);
        ck_assert_ptr_null(cred.user);
    }
    else {
        ck_assert_ptr_nonnull(why);
    }
}
END_TEST

START_TEST(bare_null)
{
    at_cred_t cred;
    const char *why;

    ck_assert_int_eq(at_cred_parse_bare(&cred, NULL, &why, tp),
                     AT_CRED_ABSENT);
}
END_TEST

START_TEST(b64token)
{
    ck_assert(at_cred_is_b64token("a", 1));
    ck_assert(at_cred_is_b64token("a=", 2));
    ck_assert(at_cred_is_b64token("A-._~+/9==", 10));
    ck_assert(!at_cred_is_b64token("", 0));
    ck_assert(!at_cred_is_b64token(NULL, 0));
    ck_assert(!at_cred_is_b64token("=", 1));
    ck_assert(!at_cred_is_b64token("a=b", 3));
    ck_assert(!at_cred_is_b64token("a b", 3));
    ck_assert(!at_cred_is_b64token("a\0b", 3));
    ck_assert(!at_cred_is_b64token("a!", 2));
    ck_assert(!at_cred_is_b64token("\xc3\xa9", 2));
    /* The length is honoured: bytes past it are not looked at. */
    ck_assert(at_cred_is_b64token("ab!", 2));
}
END_TEST

static Suite *cred_suite(void)
{
    Suite *s = suite_create("at_cred");
    TCase *tc = unit_tcase("cred");

    tcase_add_loop_test(tc, authorization_table, 0, (int)ARRAY_LEN(auth));
    tcase_add_test(tc, authorization_edge);
    tcase_add_loop_test(tc, bare_table, 0, (int)ARRAY_LEN(bare));
    tcase_add_test(tc, bare_null);
    tcase_add_test(tc, b64token);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(cred_suite)
