/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Unit tests of at_token.c: format, parse (hostile input), generation,
 * digest and constant-time comparison. */
#include <string.h>

#include "unit.h"
#include "at_token.h"

/* Reference tokens whose checksums were computed independently with
 * Python's zlib.crc32, so the CRC is interoperable with zlib. */
#define GOOD "apt_AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ011MWnyA"
#define GOOD_ZERO "apt_000000000000000000000000000000000000000000004NOW3N"
#define GOOD_XYZ "xyz9_zzzzzzzzzzzzZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ2Z38Hp"

START_TEST(known_tokens_parse)
{
    at_token_t t;

    ck_assert_int_eq(at_token_parse(&t, GOOD, strlen(GOOD), "apt"),
                     AT_TOKEN_OK);
    ck_assert_str_eq(t.prefix, "apt");
    ck_assert_str_eq(t.id, "AAAAAAAAAAAA");
    ck_assert_str_eq(t.secret, "0123456789abcdefghijABCDEFGHIJ01");
    ck_assert_int_eq(at_token_parse(&t, GOOD, strlen(GOOD), NULL),
                     AT_TOKEN_OK);
    ck_assert_int_eq(at_token_parse(&t, GOOD_ZERO, strlen(GOOD_ZERO), "apt"),
                     AT_TOKEN_OK);
    ck_assert_int_eq(at_token_parse(&t, GOOD_XYZ, strlen(GOOD_XYZ), NULL),
                     AT_TOKEN_OK);
    ck_assert_str_eq(t.prefix, "xyz9");
    ck_assert_int_eq(at_token_parse(&t, GOOD_XYZ, strlen(GOOD_XYZ), "apt"),
                     AT_TOKEN_BAD_PREFIX);
    /* NULL out-parameter is allowed: validation only. */
    ck_assert_int_eq(at_token_parse(NULL, GOOD, strlen(GOOD), "apt"),
                     AT_TOKEN_OK);
}
END_TEST

START_TEST(format_known)
{
    at_token_t t;
    char out[AT_TOKEN_MAX + 1];

    memset(&t, 0, sizeof(t));
    strcpy(t.prefix, "apt");
    strcpy(t.id, "AAAAAAAAAAAA");
    strcpy(t.secret, "0123456789abcdefghijABCDEFGHIJ01");
    at_token_format(out, &t);
    ck_assert_str_eq(out, GOOD);
}
END_TEST

struct bad_case {
    const char *s;
    apr_size_t len;           /* 0 = strlen(s) unless s is "" */
    const char *prefix;
    at_token_status_t want;
};

#define B50 "AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ011MWnyA"
#define S(x) x, sizeof(x) - 1

static const struct bad_case bad[] = {
    { "", 0, "apt", AT_TOKEN_EMPTY },
    { NULL, 0, "apt", AT_TOKEN_EMPTY },
    { S("apt_" B50 "A"), "apt", AT_TOKEN_BAD_LENGTH },
    { S("apt_" B50 B50), "apt", AT_TOKEN_TOO_LONG },
    { S("abcdefghijklmnopq_" B50), NULL, AT_TOKEN_TOO_LONG },
    { S("abcdefghijklmnop_" B50), NULL, AT_TOKEN_BAD_CHECKSUM },
    { S("apx_" B50), "apt", AT_TOKEN_BAD_PREFIX },
    { S("apt_" B50), "ap", AT_TOKEN_BAD_PREFIX },
    { S("apt_" B50), "aptx", AT_TOKEN_BAD_PREFIX },
    { S("ap_" B50), "apt", AT_TOKEN_BAD_PREFIX },
    { S("APT_" B50), "apt", AT_TOKEN_BAD_PREFIX },
    { S("APT_" B50), NULL, AT_TOKEN_BAD_PREFIX },
    { S("Apt_" B50), "apt", AT_TOKEN_BAD_PREFIX },
    { S("1apt_" B50), NULL, AT_TOKEN_BAD_PREFIX },
    { S("_" B50), "apt", AT_TOKEN_BAD_PREFIX },
    { S("apt" B50), "apt", AT_TOKEN_BAD_PREFIX },
    { S("apt__" B50), "apt", AT_TOKEN_BAD_PREFIX },
    { S("apt_" B50 "_"), "apt", AT_TOKEN_BAD_PREFIX },
    { S("apt_"), "apt", AT_TOKEN_BAD_LENGTH },
    { S("apt"), "apt", AT_TOKEN_BAD_PREFIX },
    { S("_"), "apt", AT_TOKEN_BAD_PREFIX },
    { S("a_pt_" B50), "apt", AT_TOKEN_BAD_PREFIX },
    { S("apt_AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ011MWny"), "apt",
      AT_TOKEN_BAD_LENGTH },
    { S("apt_AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ011MWnyB"), "apt",
      AT_TOKEN_BAD_CHECKSUM },
    { S("apt_AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ011MWnya"), "apt",
      AT_TOKEN_BAD_CHECKSUM },
    { S("apt_aAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ011MWnyA"), "apt",
      AT_TOKEN_BAD_CHECKSUM },
    { S("apt_AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ101MWnyA"), "apt",
      AT_TOKEN_BAD_CHECKSUM },
    { S("apt_" B50 " "), "apt", AT_TOKEN_BAD_CHAR },
    { S(" apt_" B50), "apt", AT_TOKEN_BAD_CHAR },
    { S("apt_" B50 "\t"), "apt", AT_TOKEN_BAD_CHAR },
    { S("apt_" B50 "\r\n"), "apt", AT_TOKEN_BAD_CHAR },
    { S("apt_" B50 "\n"), "apt", AT_TOKEN_BAD_CHAR },
    { S("apt_AAAAAA AAAAA0123456789abcdefghijABCDEFGHIJ011MWnyA"), "apt",
      AT_TOKEN_BAD_CHAR },
    { S("apt_AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ01\0MWnyA"), "apt",
      AT_TOKEN_BAD_CHAR },
    { S("apt_" B50 "\0"), "apt", AT_TOKEN_BAD_CHAR },
    { S("\0apt_" B50), "apt", AT_TOKEN_BAD_CHAR },
    { S("apt_AAAAAAAAAAA\xc3\xa9"
        "0123456789abcdefghijABCDEFGHIJ011MWny"), "apt",
      AT_TOKEN_BAD_CHAR },
    { S("apt_\xff\xfe" B50), "apt", AT_TOKEN_BAD_CHAR },
    { S("\xef\xbb\xbf" "apt_" B50), "apt", AT_TOKEN_BAD_CHAR },
    { S("apt_' OR 1=1--"), "apt", AT_TOKEN_BAD_CHAR },
    { S("apt_AAAAAAAAAAAA'; DROP TABLE tokens;--"), "apt", AT_TOKEN_BAD_CHAR },
    { S("apt_AAAAAAAAAAAA%27%20OR%201%3D1"), "apt", AT_TOKEN_BAD_CHAR },
    { S("apt-AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ011MWnyA"), "apt",
      AT_TOKEN_BAD_CHAR },
    { S("apt.AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ011MWnyA"), "apt",
      AT_TOKEN_BAD_CHAR },
    { S("apt_AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ011MWny="), "apt",
      AT_TOKEN_BAD_CHAR },
    { S("apt_AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ011MW+/A"), "apt",
      AT_TOKEN_BAD_CHAR },
    { S("Bearer apt_" B50), "apt", AT_TOKEN_BAD_CHAR },
    { S("apt_" "aaaaaaaaaaaa0123456789abcdefghijabcdefghij011mwnya"), "apt",
      AT_TOKEN_BAD_CHECKSUM },
    { S("apt_" "AAAAAAAAAAAA0123456789ABCDEFGHIJABCDEFGHIJ011MWNYA"), "apt",
      AT_TOKEN_BAD_CHECKSUM },
    { S("apt_00000000000000000000000000000000000000000000000000"), "apt",
      AT_TOKEN_BAD_CHECKSUM },
    { S("apt_zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"), "apt",
      AT_TOKEN_BAD_CHECKSUM },
    { S("apt_AAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ01"), "apt",
      AT_TOKEN_BAD_LENGTH },
    { S("aptAAAAAAAAAAAA0123456789abcdefghijABCDEFGHIJ011MWnyA"), "apt",
      AT_TOKEN_BAD_PREFIX },
    { S("ap_" B50), "apt", AT_TOKEN_BAD_PREFIX },
    { S("aptx_" B50), "apt", AT_TOKEN_BAD_PREFIX },
};

START_TEST(hostile_tokens)
{
    const struct bad_case *c = &bad[_i];
    apr_size_t len = c->len;
    at_token_t t;
    at_token_status_t st;

    if (c->s != NULL && len == 0 && c->s[0] != '\0') {
        len = strlen(c->s);
    }
    memset(&t, 'x', sizeof(t));
    st = at_token_parse(&t, c->s, len, c->prefix);
    ck_assert_msg(st == c->want, "case %d: got %d (%s), want %d", _i, (int)st,
                  at_token_status_str(st), (int)c->want);
    /* A rejected token leaves no partial secret behind. */
    ck_assert_str_eq(t.secret, "");
    ck_assert_str_eq(t.id, "");
}
END_TEST

/* Every single-character change of a real token, at every position, to
 * every other base62 character, is caught (by the prefix check or the
 * CRC; CRC32 detects all single-symbol errors). */
START_TEST(every_position_altered)
{
    static const char alpha[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char buf[sizeof(GOOD)];
    apr_size_t pos, k, n = strlen(GOOD);
    at_token_status_t st;

    for (pos = 0; pos < n; pos++) {
        for (k = 0; k < sizeof(alpha) - 1; k++) {
            memcpy(buf, GOOD, sizeof(GOOD));
            if (buf[pos] == alpha[k]) {
                continue;
            }
            buf[pos] = alpha[k];
            st = at_token_parse(NULL, buf, n, "apt");
            ck_assert_msg(st != AT_TOKEN_OK, "pos %zu char %c accepted",
                          pos, alpha[k]);
        }
        /* Deleting the character changes the length. */
        memcpy(buf, GOOD, pos);
        memcpy(buf + pos, GOOD + pos + 1, n - pos);
        ck_assert_int_ne(at_token_parse(NULL, buf, n - 1, "apt"), AT_TOKEN_OK);
    }
    /* Swapping two adjacent different characters in the body. */
    for (pos = 4; pos + 1 < n; pos++) {
        memcpy(buf, GOOD, sizeof(GOOD));
        if (buf[pos] == buf[pos + 1]) {
            continue;
        }
        buf[pos] = GOOD[pos + 1];
        buf[pos + 1] = GOOD[pos];
        ck_assert_int_ne(at_token_parse(NULL, buf, n, "apt"), AT_TOKEN_OK);
    }
}
END_TEST

/* The explicit length is honoured: a prefix of a good buffer is not read
 * past, and trailing bytes after len are ignored. */
START_TEST(explicit_length)
{
    char buf[sizeof(GOOD) + 8];

    memcpy(buf, GOOD, strlen(GOOD));
    memcpy(buf + strlen(GOOD), "garbage", 8);
    ck_assert_int_eq(at_token_parse(NULL, buf, strlen(GOOD), "apt"),
                     AT_TOKEN_OK);
    ck_assert_int_eq(at_token_parse(NULL, buf, strlen(GOOD) + 1, "apt"),
                     AT_TOKEN_BAD_LENGTH);
    ck_assert_int_eq(at_token_parse(NULL, buf, 3, "apt"),
                     AT_TOKEN_BAD_PREFIX);
}
END_TEST

START_TEST(generate_round_trip)
{
    at_token_t t, u;
    char out[AT_TOKEN_MAX + 1], again[AT_TOKEN_MAX + 1];
    char first_id[AT_ID_LEN + 1] = "";
    int i, distinct_ids = 0;

    for (i = 0; i < 2000; i++) {
        const char *prefix = (i % 3 == 0) ? "apt"
                             : (i % 3 == 1) ? "x" : "abcdefghijklmnop";
        apr_size_t j;

        ck_assert_int_eq(at_token_generate(&t, out, prefix), APR_SUCCESS);
        ck_assert_uint_eq(strlen(out), strlen(prefix) + 1 + AT_BODY_LEN);
        ck_assert_int_eq(at_token_parse(&u, out, strlen(out), prefix),
                         AT_TOKEN_OK);
        ck_assert_str_eq(u.prefix, prefix);
        ck_assert_str_eq(u.id, t.id);
        ck_assert_str_eq(u.secret, t.secret);
        ck_assert(at_id_valid(u.id));
        at_token_format(again, &u);
        ck_assert_str_eq(again, out);
        for (j = strlen(prefix) + 1; out[j]; j++) {
            ck_assert(strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "abcdefghijklmnopqrstuvwxyz", out[j]) != NULL);
        }
        if (i == 0) {
            strcpy(first_id, t.id);
        }
        else if (strcmp(first_id, t.id) != 0) {
            distinct_ids++;
        }
    }
    ck_assert_int_eq(distinct_ids, 1999);
}
END_TEST

START_TEST(generate_rejects_bad_prefix)
{
    at_token_t t;
    char out[AT_TOKEN_MAX + 1];

    ck_assert_int_eq(at_token_generate(&t, out, ""), APR_EGENERAL);
    ck_assert_int_eq(at_token_generate(&t, out, "APT"), APR_EGENERAL);
    ck_assert_int_eq(at_token_generate(&t, out, "a_b"), APR_EGENERAL);
    ck_assert_int_eq(at_token_generate(&t, out, "abcdefghijklmnopq"),
                     APR_EGENERAL);
    ck_assert_int_eq(at_token_generate(&t, out, NULL), APR_EGENERAL);
}
END_TEST

START_TEST(regenerate_keeps_id)
{
    at_token_t t, u;
    char out[AT_TOKEN_MAX + 1], out2[AT_TOKEN_MAX + 1];

    ck_assert_int_eq(at_token_generate(&t, out, "apt"), APR_SUCCESS);
    ck_assert_int_eq(at_token_regenerate(&u, out2, "apt", t.id), APR_SUCCESS);
    ck_assert_str_eq(u.id, t.id);
    ck_assert_str_ne(u.secret, t.secret);
    ck_assert_int_eq(at_token_parse(NULL, out2, strlen(out2), "apt"),
                     AT_TOKEN_OK);
    ck_assert_int_eq(at_token_regenerate(&u, out2, "apt", "short"),
                     APR_EGENERAL);
    ck_assert_int_eq(at_token_regenerate(&u, out2, "apt", "AAAAAAAAAAA_"),
                     APR_EGENERAL);
    ck_assert_int_eq(at_token_regenerate(&u, out2, "apt", NULL),
                     APR_EGENERAL);
}
END_TEST

/* Rough uniformity check of the secret alphabet: with 62 symbols and
 * 64,000 samples each symbol is expected about 1032 times; a modulo bias
 * of 256 % 62 would push the first 8 symbols about 25% higher. */
START_TEST(secret_alphabet_uniform)
{
    static const char alpha[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    unsigned counts[62];
    at_token_t t;
    char out[AT_TOKEN_MAX + 1];
    int i, j;

    memset(counts, 0, sizeof(counts));
    for (i = 0; i < 2000; i++) {
        ck_assert_int_eq(at_token_generate(&t, out, "apt"), APR_SUCCESS);
        for (j = 0; j < AT_SECRET_LEN; j++) {
            counts[strchr(alpha, t.secret[j]) - alpha]++;
        }
    }
    for (j = 0; j < 62; j++) {
        ck_assert_msg(counts[j] > 850 && counts[j] < 1220,
                      "symbol %c seen %u times", alpha[j], counts[j]);
    }
}
END_TEST

START_TEST(prefix_and_id_valid)
{
    ck_assert(at_prefix_valid("apt"));
    ck_assert(at_prefix_valid("a"));
    ck_assert(at_prefix_valid("a1b2"));
    ck_assert(at_prefix_valid("abcdefghijklmnop"));
    ck_assert(!at_prefix_valid("abcdefghijklmnopq"));
    ck_assert(!at_prefix_valid(""));
    ck_assert(!at_prefix_valid(NULL));
    ck_assert(!at_prefix_valid("1apt"));
    ck_assert(!at_prefix_valid("Apt"));
    ck_assert(!at_prefix_valid("a-b"));
    ck_assert(!at_prefix_valid("a_b"));
    ck_assert(!at_prefix_valid("a b"));
    ck_assert(at_id_valid("AAAAAAAAAAAA"));
    ck_assert(at_id_valid("0aZ0aZ0aZ0aZ"));
    ck_assert(!at_id_valid("AAAAAAAAAAA"));
    ck_assert(!at_id_valid("AAAAAAAAAAAAA"));
    ck_assert(!at_id_valid("AAAAAAAAAAA_"));
    ck_assert(!at_id_valid("AAAAAAAAAAA'"));
    ck_assert(!at_id_valid(""));
    ck_assert(!at_id_valid(NULL));
}
END_TEST

START_TEST(digest_known_answers)
{
    char hex[AT_DIGEST_HEX_LEN + 1];

    at_token_digest(hex, "abc");
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223"
                          "b00361a396177a9cb410ff61f20015ad");
    at_token_digest(hex, "");
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb924"
                          "27ae41e4649b934ca495991b7852b855");
    at_token_digest(hex, "0123456789abcdefghijABCDEFGHIJ01");
    ck_assert_str_eq(hex, "97fb3002a2cf4fc92c42c707796e328e"
                          "0f35f00270aa4b7585372e3bc7cc00ab");
}
END_TEST

START_TEST(digest_equal)
{
    char a[AT_DIGEST_HEX_LEN + 1], b[AT_DIGEST_HEX_LEN + 1];

    at_token_digest(a, "abc");
    at_token_digest(b, "abc");
    ck_assert(at_digest_equal(a, b));
    at_token_digest(b, "abd");
    ck_assert(!at_digest_equal(a, b));
    ck_assert(!at_digest_equal(a, NULL));
    ck_assert(!at_digest_equal(NULL, a));
    ck_assert(!at_digest_equal(NULL, NULL));
    ck_assert(!at_digest_equal("", ""));
    ck_assert(!at_digest_equal(a, ""));
    b[63] = '\0';
    ck_assert(!at_digest_equal(a, b));
    ck_assert(!at_digest_equal("abc", "abcd"));
    ck_assert(at_digest_equal("abc", "abc"));
}
END_TEST

START_TEST(wipe)
{
    at_token_t t;
    char out[AT_TOKEN_MAX + 1];
    static const char zero[AT_SECRET_LEN + 1];

    ck_assert_int_eq(at_token_generate(&t, out, "apt"), APR_SUCCESS);
    at_token_wipe(&t);
    ck_assert(memcmp(t.secret, zero, sizeof(zero)) == 0);
    at_token_wipe(NULL);
}
END_TEST

START_TEST(status_strings)
{
    int s;

    for (s = AT_TOKEN_OK; s <= AT_TOKEN_BAD_CHECKSUM; s++) {
        ck_assert_ptr_nonnull(at_token_status_str((at_token_status_t)s));
    }
    ck_assert_str_eq(at_token_status_str(AT_TOKEN_OK), "ok");
}
END_TEST

static Suite *token_suite(void)
{
    Suite *s = suite_create("at_token");
    TCase *tc = unit_tcase("token");

    tcase_add_test(tc, known_tokens_parse);
    tcase_add_test(tc, format_known);
    tcase_add_loop_test(tc, hostile_tokens, 0, (int)ARRAY_LEN(bad));
    tcase_add_test(tc, every_position_altered);
    tcase_add_test(tc, explicit_length);
    tcase_add_test(tc, generate_round_trip);
    tcase_add_test(tc, generate_rejects_bad_prefix);
    tcase_add_test(tc, regenerate_keeps_id);
    tcase_add_test(tc, secret_alphabet_uniform);
    tcase_add_test(tc, prefix_and_id_valid);
    tcase_add_test(tc, digest_known_answers);
    tcase_add_test(tc, digest_equal);
    tcase_add_test(tc, wipe);
    tcase_add_test(tc, status_strings);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(token_suite)
