/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Unit tests of at_verify.c: every reason, the rotation grace window and
 * network allow-lists. */
#include <string.h>

#include "unit.h"
#include "at_verify.h"

#define NOW ((at_time_t)1800000000)

static at_token_t tok;
static char tokstr[AT_TOKEN_MAX + 1];
static at_token_rec_t rec;
static char digest[AT_DIGEST_HEX_LEN + 1];

/* A fresh token and a record that matches it, active, no restrictions. */
static void make_pair(void)
{
    ck_assert_int_eq(at_token_generate(&tok, tokstr, "apt"), APR_SUCCESS);
    at_token_digest(digest, tok.secret);
    memset(&rec, 0, sizeof(rec));
    rec.id = tok.id;
    rec.owner = "alice";
    rec.name = "ci";
    rec.digest = digest;
    rec.scopes = "dns";
    rec.created_at = NOW - 1000;
    rec.last_used_addr = "";
    rec.allowed_nets = "";
    rec.description = "";
    rec.prev_digest = "";
}

START_TEST(ok_plain)
{
    make_pair();
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL, NULL, tp),
                     AT_REASON_OK);
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, "127.0.0.1", "alice",
                                      tp), AT_REASON_OK);
}
END_TEST

START_TEST(wrong_secret_and_id)
{
    at_token_t other;

    make_pair();
    other = tok;
    other.secret[0] = other.secret[0] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(at_verify_record(&rec, &other, NOW, NULL, NULL, tp),
                     AT_REASON_WRONG_SECRET);
    other = tok;
    other.id[0] = other.id[0] == 'A' ? 'B' : 'A';
    ck_assert_int_eq(at_verify_record(&rec, &other, NOW, NULL, NULL, tp),
                     AT_REASON_UNKNOWN_ID);
    ck_assert_int_eq(at_verify_record(NULL, &tok, NOW, NULL, NULL, tp),
                     AT_REASON_UNKNOWN_ID);
    /* A record with an empty digest never matches. */
    rec.digest = "";
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL, NULL, tp),
                     AT_REASON_WRONG_SECRET);
}
END_TEST

START_TEST(user_mismatch)
{
    make_pair();
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL, "bob", tp),
                     AT_REASON_USER_MISMATCH);
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL, "alicex", tp),
                     AT_REASON_USER_MISMATCH);
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL, "alic", tp),
                     AT_REASON_USER_MISMATCH);
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL, "", tp),
                     AT_REASON_USER_MISMATCH);
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL, "alice", tp),
                     AT_REASON_OK);
    /* ASCII letters compare without regard to case, other bytes exactly. */
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL, "Alice", tp),
                     AT_REASON_OK);
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL, "ALICE", tp),
                     AT_REASON_OK);
    rec.owner = "\xc3\xa9mile";                          /* émile */
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL,
                                      "\xc3\xa9MILE", tp), AT_REASON_OK);
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL,
                                      "\xc3\x89mile", tp),  /* Émile */
                     AT_REASON_USER_MISMATCH);
}
END_TEST

START_TEST(revoked_and_expired)
{
    make_pair();
    rec.revoked_at = NOW - 1;
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL, NULL, tp),
                     AT_REASON_REVOKED);
    rec.revoked_at = AT_TIME_NONE;
    rec.expires_at = NOW;
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL, NULL, tp),
                     AT_REASON_EXPIRED);
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW - 1, NULL, NULL, tp),
                     AT_REASON_OK);
    /* Both: revoked wins (documented order). */
    rec.revoked_at = NOW - 5;
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW + 5, NULL, NULL, tp),
                     AT_REASON_REVOKED);
}
END_TEST

START_TEST(order_of_checks)
{
    at_token_t other;

    make_pair();
    rec.revoked_at = NOW - 1;
    rec.expires_at = NOW - 1;
    rec.allowed_nets = "10.0.0.0/8";
    other = tok;
    other.secret[5] = other.secret[5] == 'z' ? 'y' : 'z';
    /* secret first, then user, revoked, expired, address */
    ck_assert_int_eq(at_verify_record(&rec, &other, NOW, "192.0.2.1", "bob",
                                      tp), AT_REASON_WRONG_SECRET);
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, "192.0.2.1", "bob",
                                      tp), AT_REASON_USER_MISMATCH);
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, "192.0.2.1", "alice",
                                      tp), AT_REASON_REVOKED);
    rec.revoked_at = AT_TIME_NONE;
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, "192.0.2.1", "alice",
                                      tp), AT_REASON_EXPIRED);
    rec.expires_at = AT_TIME_NONE;
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, "192.0.2.1", "alice",
                                      tp), AT_REASON_ADDRESS);
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, "10.1.2.3", "alice",
                                      tp), AT_REASON_OK);
    /* client_ip NULL skips the network check. */
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, NULL, "alice", tp),
                     AT_REASON_OK);
}
END_TEST

START_TEST(rotation_grace)
{
    at_token_t old, cur;
    char s[AT_TOKEN_MAX + 1], olddig[AT_DIGEST_HEX_LEN + 1];

    make_pair();
    old = tok;
    ck_assert_int_eq(at_token_regenerate(&cur, s, "apt", tok.id),
                     APR_SUCCESS);
    at_token_digest(olddig, old.secret);
    at_token_digest(digest, cur.secret);
    rec.prev_digest = olddig;
    rec.prev_until = NOW + 3600;
    ck_assert_int_eq(at_verify_record(&rec, &cur, NOW, NULL, NULL, tp),
                     AT_REASON_OK);
    ck_assert_int_eq(at_verify_record(&rec, &old, NOW, NULL, NULL, tp),
                     AT_REASON_OK);
    ck_assert_int_eq(at_verify_record(&rec, &old, NOW + 3599, NULL, NULL, tp),
                     AT_REASON_OK);
    ck_assert_int_eq(at_verify_record(&rec, &old, NOW + 3600, NULL, NULL, tp),
                     AT_REASON_ROTATED_OUT);
    ck_assert_int_eq(at_verify_record(&rec, &old, NOW + 99999, NULL, NULL,
                                      tp), AT_REASON_ROTATED_OUT);
    ck_assert_int_eq(at_verify_record(&rec, &cur, NOW + 99999, NULL, NULL,
                                      tp), AT_REASON_OK);
    /* The old secret inside its grace still obeys revocation. */
    rec.revoked_at = NOW - 1;
    ck_assert_int_eq(at_verify_record(&rec, &old, NOW, NULL, NULL, tp),
                     AT_REASON_REVOKED);
    /* No grace at all: the old secret is simply wrong. */
    rec.revoked_at = AT_TIME_NONE;
    rec.prev_digest = "";
    ck_assert_int_eq(at_verify_record(&rec, &old, NOW, NULL, NULL, tp),
                     AT_REASON_WRONG_SECRET);
}
END_TEST

struct net_case {
    const char *nets;
    const char *ip;
    int want;
};

static const struct net_case nets[] = {
    { "", "127.0.0.1", 1 },
    { "   ", "127.0.0.1", 1 },
    { "127.0.0.1", "127.0.0.1", 1 },
    { "127.0.0.1", "127.0.0.2", 0 },
    { "10.0.0.0/8", "10.255.1.2", 1 },
    { "10.0.0.0/8", "11.0.0.1", 0 },
    { "192.168.1.0/24 10.0.0.0/8", "10.0.0.1", 1 },
    { "192.168.1.0/24,10.0.0.0/8", "192.168.1.77", 1 },
    { "192.168.1.0/24, 10.0.0.0/8", "192.168.2.1", 0 },
    { "192.168.1.0/255.255.255.0", "192.168.1.5", 1 },
    /* APR refuses a zero-bit mask; "any" is the empty list. */
    { "0.0.0.0/0", "203.0.113.9", 0 },
    { "10.0.0.0/8", "::ffff:10.1.2.3", 1 },
    { "10.0.0.0/8", "::ffff:11.1.2.3", 0 },
    { "::1", "::1", 1 },
    { "::1", "::2", 0 },
    { "2001:db8::/32", "2001:db8:1::5", 1 },
    { "2001:db8::/32", "2001:db9::5", 0 },
    { "2001:db8::/32", "10.0.0.1", 0 },
    { "10.0.0.0/8", "2001:db8::1", 0 },
    { "garbage", "127.0.0.1", 0 },
    { "garbage 127.0.0.1", "127.0.0.1", 1 },
    { "10.0.0.0/33", "10.0.0.1", 0 },
    { "10.0.0.0/-1", "10.0.0.1", 0 },
    { "localhost", "127.0.0.1", 0 },
    { "127.0.0.1", "localhost", 0 },
    { "127.0.0.1", "", 0 },
    { "127.0.0.1", "127.0.0.1 ", 0 },
    { "127.0.0.1", "127.0.0.1/32", 0 },
    { "127.0.0.1", "999.0.0.1", 0 },
    { "", "not-an-ip", 0 },
    { "fe80::/10", "fe80::1%eth0", 0 },
    { "127.0.0.1", "' OR 1=1--", 0 },
};

START_TEST(nets_table)
{
    const struct net_case *c = &nets[_i];

    ck_assert_msg(at_nets_allow(c->nets, c->ip, tp) == c->want,
                  "nets '%s' ip '%s' want %d", c->nets, c->ip, c->want);
}
END_TEST

START_TEST(nets_null)
{
    ck_assert_int_eq(at_nets_allow(NULL, "127.0.0.1", tp), 1);
    ck_assert_int_eq(at_nets_allow("127.0.0.1", NULL, tp), 0);
}
END_TEST

START_TEST(reason_strings)
{
    static const char *const want[] = {
        "ok", "malformed", "wrong_prefix", "bad_checksum", "unknown_id",
        "wrong_secret", "expired", "revoked", "address_not_allowed",
        "rotated_out", "user_mismatch",
    };
    int i;

    for (i = 0; i < (int)ARRAY_LEN(want); i++) {
        ck_assert_str_eq(at_reason_str((at_reason_t)i), want[i]);
    }
    ck_assert_int_eq(at_reason_from_parse(AT_TOKEN_OK), AT_REASON_OK);
    ck_assert_int_eq(at_reason_from_parse(AT_TOKEN_BAD_PREFIX),
                     AT_REASON_WRONG_PREFIX);
    ck_assert_int_eq(at_reason_from_parse(AT_TOKEN_BAD_CHECKSUM),
                     AT_REASON_BAD_CHECKSUM);
    ck_assert_int_eq(at_reason_from_parse(AT_TOKEN_EMPTY),
                     AT_REASON_MALFORMED);
    ck_assert_int_eq(at_reason_from_parse(AT_TOKEN_BAD_CHAR),
                     AT_REASON_MALFORMED);
    ck_assert_int_eq(at_reason_from_parse(AT_TOKEN_BAD_LENGTH),
                     AT_REASON_MALFORMED);
    ck_assert_int_eq(at_reason_from_parse(AT_TOKEN_TOO_LONG),
                     AT_REASON_MALFORMED);
}
END_TEST

/* Before the secret has been shown nothing specific is said; after it,
 * each reason has its text, quote-safe. */
START_TEST(descriptions)
{
    static const at_reason_t generic[] = {
        AT_REASON_OK, AT_REASON_MALFORMED, AT_REASON_WRONG_PREFIX,
        AT_REASON_BAD_CHECKSUM, AT_REASON_UNKNOWN_ID, AT_REASON_WRONG_SECRET,
    };
    int i;

    make_pair();
    for (i = 0; i < (int)ARRAY_LEN(generic); i++) {
        ck_assert_ptr_null(at_reason_description(generic[i], &rec,
                                                 "192.0.2.1", tp));
    }
    rec.expires_at = 1577836800;                 /* 2020-01-01 */
    ck_assert_str_eq(at_reason_description(AT_REASON_EXPIRED, &rec, NULL,
                                           tp),
                     "the token expired at 2020-01-01T00:00:00Z");
    rec.revoked_at = 1577836801;
    ck_assert_str_eq(at_reason_description(AT_REASON_REVOKED, &rec, NULL,
                                           tp),
                     "the token was revoked at 2020-01-01T00:00:01Z");
    ck_assert_str_eq(at_reason_description(AT_REASON_REVOKED, NULL, NULL,
                                           tp), "the token was revoked");
    ck_assert_str_eq(at_reason_description(AT_REASON_ADDRESS, &rec,
                                           "2001:db8::1", tp),
                     "the token may not be used from 2001:db8::1");
    /* Whatever the address text holds, the result stays quote-safe. */
    ck_assert_str_eq(at_reason_description(AT_REASON_ADDRESS, &rec,
                                           "a\"b\\c\r\n", tp),
                     "the token may not be used from a?b?c??");
    ck_assert_ptr_nonnull(at_reason_description(AT_REASON_ROTATED_OUT, &rec,
                                                NULL, tp));
    ck_assert_ptr_nonnull(at_reason_description(AT_REASON_USER_MISMATCH,
                                                &rec, NULL, tp));
}
END_TEST

/* error_description = *( %x20-21 / %x23-5B / %x5D-7E ) */
START_TEST(error_text)
{
    char all[256];
    const char *out;
    int c;

    for (c = 1; c < 256; c++) {
        all[c - 1] = (char)c;
    }
    all[255] = '\0';
    out = at_error_text(all, tp);
    ck_assert_uint_eq(strlen(out), 255);
    for (c = 1; c < 256; c++) {
        int ok = (c >= 0x20 && c <= 0x21) || (c >= 0x23 && c <= 0x5b)
                 || (c >= 0x5d && c <= 0x7e);

        ck_assert_int_eq((unsigned char)out[c - 1], ok ? c : '?');
    }
    ck_assert_ptr_null(at_error_text(NULL, tp));
    ck_assert_str_eq(at_error_text("", tp), "");
}
END_TEST

/* The prepared check (digests as bytes, networks parsed once) decides
 * exactly as the check of the text, record by record. */
START_TEST(prepared_same_decision)
{
    static const char *const nets_cases[] = {
        "", "127.0.0.0/8", "10.0.0.0/8", "10.0.0.0/8 ::1", "bogus/99",
        "127.0.0.1 not-an-address"
    };
    char upper[AT_DIGEST_HEX_LEN + 1], prevhex[AT_DIGEST_HEX_LEN + 1];
    at_token_t other;
    char otherstr[AT_TOKEN_MAX + 1];
    int i, k;

    ck_assert_int_eq(at_token_generate(&other, otherstr, "apt"),
                     APR_SUCCESS);
    for (k = 0; k < 8; k++) {
        for (i = 0; i < (int)ARRAY_LEN(nets_cases); i++) {
            at_verify_prep_t v;
            at_reason_t a, b;

            make_pair();
            rec.allowed_nets = nets_cases[i];
            switch (k) {
            case 1:                      /* upper-case hex never matched */
                strcpy(upper, digest);
                for (char *c = upper; *c; c++) {
                    *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 32 : *c);
                }
                rec.digest = upper;
                break;
            case 2:                      /* truncated digest */
                digest[40] = '\0';
                break;
            case 3:                      /* previous secret, in grace */
                at_token_digest(prevhex, tok.secret);
                at_token_digest(digest, other.secret);
                rec.prev_digest = prevhex;
                rec.prev_until = NOW + 10;
                break;
            case 4:                      /* previous secret, grace over */
                at_token_digest(prevhex, tok.secret);
                at_token_digest(digest, other.secret);
                rec.prev_digest = prevhex;
                rec.prev_until = NOW;
                break;
            case 5:
                rec.revoked_at = NOW - 1;
                break;
            case 6:
                rec.expires_at = NOW;
                break;
            case 7:                      /* wrong secret */
                at_token_digest(digest, other.secret);
                break;
            }
            a = at_verify_record(&rec, &tok, NOW, "127.0.0.1", "alice", tp);
            at_verify_prepare(&v, &rec, tp);
            b = at_verify_prepared(&rec, &v, &tok, NOW, "127.0.0.1",
                                   "alice", tp);
            ck_assert_msg(a == b, "case %d nets '%s': text %s, prepared %s",
                          k, nets_cases[i], at_reason_str(a),
                          at_reason_str(b));
        }
    }
    make_pair();
    rec.allowed_nets = "10.0.0.0/8";
    ck_assert_int_eq(at_verify_record(&rec, &tok, NOW, "127.0.0.1", NULL,
                                      tp), AT_REASON_ADDRESS);
}
END_TEST

START_TEST(digest_from_hex)
{
    unsigned char md[AT_DIGEST_LEN], want[AT_DIGEST_LEN];
    char hex[AT_DIGEST_HEX_LEN + 2];

    ck_assert_int_eq(at_token_digest_bytes(want, "secret"), 1);
    at_token_digest(hex, "secret");
    ck_assert_int_eq(at_digest_from_hex(md, hex), 1);
    ck_assert_mem_eq(md, want, AT_DIGEST_LEN);
    ck_assert_int_eq(at_digest_from_hex(md, NULL), 0);
    ck_assert_int_eq(at_digest_from_hex(md, ""), 0);
    strcat(hex, "0");                          /* one digit too many */
    ck_assert_int_eq(at_digest_from_hex(md, hex), 0);
    hex[AT_DIGEST_HEX_LEN] = '\0';
    hex[7] = 'g';
    ck_assert_int_eq(at_digest_from_hex(md, hex), 0);
    hex[7] = 'A';
    ck_assert_int_eq(at_digest_from_hex(md, hex), 0);
}
END_TEST

static Suite *verify_suite(void)
{
    Suite *s = suite_create("at_verify");
    TCase *tc = unit_tcase("verify");

    tcase_add_test(tc, ok_plain);
    tcase_add_test(tc, wrong_secret_and_id);
    tcase_add_test(tc, user_mismatch);
    tcase_add_test(tc, revoked_and_expired);
    tcase_add_test(tc, order_of_checks);
    tcase_add_test(tc, rotation_grace);
    tcase_add_loop_test(tc, nets_table, 0, (int)ARRAY_LEN(nets));
    tcase_add_test(tc, nets_null);
    tcase_add_test(tc, reason_strings);
    tcase_add_test(tc, descriptions);
    tcase_add_test(tc, error_text);
    tcase_add_test(tc, prepared_same_decision);
    tcase_add_test(tc, digest_from_hex);
    suite_add_tcase(s, tc);
    return s;
}

UNIT_MAIN(verify_suite)
