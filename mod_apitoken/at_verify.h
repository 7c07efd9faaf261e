/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_VERIFY_H
#define AT_VERIFY_H

#include <apr_pools.h>
#include "at_nets.h"
#include "at_token.h"
#include "at_store.h"

/* The decision shared by the module and `apitoken verify`: is this presented
 * token, for this record, good right now?  Scopes are checked separately
 * (at_scopes_satisfy) because httpd does that in the authz phase. */
typedef enum {
    AT_REASON_OK = 0,
    AT_REASON_MALFORMED,      /* not a token of ours (parse failed) */
    AT_REASON_WRONG_PREFIX,
    AT_REASON_BAD_CHECKSUM,
    AT_REASON_UNKNOWN_ID,
    AT_REASON_WRONG_SECRET,
    AT_REASON_EXPIRED,
    AT_REASON_REVOKED,
    AT_REASON_ADDRESS,        /* client address outside allowed networks */
    AT_REASON_ROTATED_OUT,    /* previous secret after its grace period */
    AT_REASON_USER_MISMATCH   /* cPanel/Basic user is not the owner */
} at_reason_t;

/* Short stable text for logs and JSON: "ok", "malformed", "wrong_prefix",
 * "bad_checksum", "unknown_id", "wrong_secret", "expired", "revoked",
 * "address_not_allowed", "rotated_out", "user_mismatch". */
const char *at_reason_str(at_reason_t r);

/* Map a token parse failure to its reason. */
at_reason_t at_reason_from_parse(at_token_status_t st);

/* Check tok against rec at time now.  client_ip NULL skips the network
 * check (the tool without --from); user NULL skips the owner check, which
 * compares ASCII letters without regard to case ("Alice" is "alice";
 * other bytes must be equal).  The
 * secret is compared by digest in constant time, first against
 * rec->digest, then against rec->prev_digest while now < rec->prev_until.
 * Order: secret, user, revoked, expired, address. */
at_reason_t at_verify_record(const at_token_rec_t *rec, const at_token_t *tok,
                             at_time_t now, const char *client_ip,
                             const char *user, apr_pool_t *p);

/* What a record needs decoded before a check, done once when a cache
 * keeps the record: its digests as bytes and its networks parsed.
 * nets_parsed 0: the list (if any) is checked as text, which fails closed
 * on a word that does not parse. */
typedef struct at_verify_prep_t {
    unsigned char digest[AT_DIGEST_LEN];
    unsigned char prev_digest[AT_DIGEST_LEN];
    int have_digest;            /* rec->digest is a well-formed digest */
    int have_prev;
    const at_net_t *nets;       /* rec->allowed_nets parsed */
    int n_nets;
    int nets_parsed;
} at_verify_prep_t;

/* Decode rec's digests into v; with p set, parse its networks too (the
 * array lives in p).  A malformed digest matches nothing. */
void at_verify_prepare(at_verify_prep_t *v, const at_token_rec_t *rec,
                       apr_pool_t *p);

/* at_verify_record on a prepared record: the same decision, with the
 * digests compared as AT_DIGEST_LEN bytes in constant time. */
at_reason_t at_verify_prepared(const at_token_rec_t *rec,
                               const at_verify_prep_t *v,
                               const at_token_t *tok, at_time_t now,
                               const char *client_ip, const char *user,
                               apr_pool_t *p);

/* What a client that has shown it holds the token's secret may be told
 * about a refusal, for error_description: "the token expired at ...",
 * "the token was revoked at ...", "the token may not be used from IP",
 * the rotated-out and user-mismatch texts.  NULL for the reasons decided
 * before that (ok, malformed, wrong prefix, bad checksum, unknown id,
 * wrong secret): those stay generic, so that nothing is learnt about ids
 * the client does not hold.  The text is quote-safe (at_error_text);
 * rec and client_ip may be NULL (the text then says less). */
const char *at_reason_description(at_reason_t r, const at_token_rec_t *rec,
                                  const char *client_ip, apr_pool_t *p);

/* s with every byte outside RFC 6750's error_description set
 * (%x20-21 / %x23-5B / %x5D-7E) replaced by '?', so it can stand in a
 * quoted-string and in JSON without escapes.  NULL gives NULL. */
const char *at_error_text(const char *s, apr_pool_t *p);

/* 1 when ip (text) is inside one of nets (space-separated addresses or
 * CIDRs, "" = any).  0 on an unparsable ip. */
int at_nets_allow(const char *nets, const char *ip, apr_pool_t *p);

#endif
