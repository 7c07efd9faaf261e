/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* The token decision shared by the module and the tool. */
#include <string.h>

#include <apr_cstr.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <arpa/inet.h>

#include <openssl/crypto.h>

#include "at_time.h"
#include "at_verify.h"

const char *at_reason_str(at_reason_t r)
{
    switch (r) {
    case AT_REASON_OK:            return "ok";
    case AT_REASON_MALFORMED:     return "malformed";
    case AT_REASON_WRONG_PREFIX:  return "wrong_prefix";
    case AT_REASON_BAD_CHECKSUM:  return "bad_checksum";
    case AT_REASON_UNKNOWN_ID:    return "unknown_id";
    case AT_REASON_WRONG_SECRET:  return "wrong_secret";
    case AT_REASON_EXPIRED:       return "expired";
    case AT_REASON_REVOKED:       return "revoked";
    case AT_REASON_ADDRESS:       return "address_not_allowed";
    case AT_REASON_ROTATED_OUT:   return "rotated_out";
    case AT_REASON_USER_MISMATCH: return "user_mismatch";
    }
    return "unknown";
}

const char *at_error_text(const char *s, apr_pool_t *p)
{
    char *out, *o;

    if (s == NULL) {
        return NULL;
    }
    out = o = apr_pstrdup(p, s);
    for (; *o; o++) {
        unsigned char c = (unsigned char)*o;

        if (c < 0x20 || c == 0x22 || c == 0x5c || c > 0x7e) {
            *o = '?';
        }
    }
    return out;
}

static const char *with_time(const char *what, at_time_t t, apr_pool_t *p)
{
    char buf[AT_TIME_STRLEN + 1];

    if (t == AT_TIME_NONE) {
        return what;
    }
    at_time_format(buf, t);
    return apr_pstrcat(p, what, " at ", buf, NULL);
}

const char *at_reason_description(at_reason_t r, const at_token_rec_t *rec,
                                  const char *client_ip, apr_pool_t *p)
{
    const char *s;

    switch (r) {
    case AT_REASON_EXPIRED:
        s = with_time("the token expired", rec ? rec->expires_at
                                             : AT_TIME_NONE, p);
        break;
    case AT_REASON_REVOKED:
        s = with_time("the token was revoked", rec ? rec->revoked_at
                                                 : AT_TIME_NONE, p);
        break;
    case AT_REASON_ADDRESS:
        s = client_ip ? apr_pstrcat(p, "the token may not be used from ",
                                    client_ip, NULL)
                      : "the token may not be used from this address";
        break;
    case AT_REASON_ROTATED_OUT:
        s = "this secret was replaced when the token was rotated and its "
            "grace period has ended; use the new secret";
        break;
    case AT_REASON_USER_MISMATCH:
        s = "the user name does not match the token's owner";
        break;
    default:
        /* Before the secret has been shown: say nothing specific. */
        return NULL;
    }
    return at_error_text(s, p);
}

at_reason_t at_reason_from_parse(at_token_status_t st)
{
    switch (st) {
    case AT_TOKEN_OK:           return AT_REASON_OK;
    case AT_TOKEN_BAD_PREFIX:   return AT_REASON_WRONG_PREFIX;
    case AT_TOKEN_BAD_CHECKSUM: return AT_REASON_BAD_CHECKSUM;
    default:                    return AT_REASON_MALFORMED;
    }
}

/* A numeric IPv4 or IPv6 address, so that apr_sockaddr_info_get never
 * turns into a DNS lookup. */
static int numeric_ip(const char *ip)
{
    unsigned char buf[sizeof(struct in6_addr)];

    return inet_pton(AF_INET, ip, buf) == 1
           || inet_pton(AF_INET6, ip, buf) == 1;
}

int at_nets_allow(const char *nets, const char *ip, apr_pool_t *p)
{
    apr_sockaddr_t *sa;
    char *list, *word, *state;
    int n = 0;

    if (ip == NULL || !numeric_ip(ip)) {
        return 0;
    }
    if (nets == NULL) {
        return 1;
    }
    if (apr_sockaddr_info_get(&sa, ip, APR_UNSPEC, 0, APR_IPV4_ADDR_OK, p)
        != APR_SUCCESS) {
        return 0;
    }
    list = apr_pstrdup(p, nets);
    for (word = apr_strtok(list, " ,\t", &state); word != NULL;
         word = apr_strtok(NULL, " ,\t", &state)) {
        apr_ipsubnet_t *sub;
        char *slash = strchr(word, '/');

        n++;
        if (slash != NULL) {
            *slash++ = '\0';
        }
        /* apr_ipsubnet_create only accepts numeric addresses; a word it
         * refuses matches nothing (the tool validates lists on input). */
        if (apr_ipsubnet_create(&sub, word, slash, p) == APR_SUCCESS
            && apr_ipsubnet_test(sub, sa)) {
            return 1;
        }
    }
    return n == 0;
}

void at_verify_prepare(at_verify_prep_t *v, const at_token_rec_t *rec,
                       apr_pool_t *p)
{
    apr_array_header_t *nets;

    memset(v, 0, sizeof(*v));
    v->have_digest = at_digest_from_hex(v->digest, rec->digest);
    v->have_prev = rec->prev_digest != NULL && rec->prev_digest[0] != '\0'
                   && at_digest_from_hex(v->prev_digest, rec->prev_digest);
    if (p == NULL) {
        return;
    }
    /* NULL: a word that does not parse; the text is checked then, and
     * fails closed. */
    nets = at_nets_parse_list(rec->allowed_nets, p);
    if (nets != NULL) {
        v->nets = (const at_net_t *)nets->elts;
        v->n_nets = nets->nelts;
        v->nets_parsed = 1;
    }
}

at_reason_t at_verify_prepared(const at_token_rec_t *rec,
                               const at_verify_prep_t *v,
                               const at_token_t *tok, at_time_t now,
                               const char *client_ip, const char *user,
                               apr_pool_t *p)
{
    unsigned char md[AT_DIGEST_LEN];
    at_reason_t r = AT_REASON_OK;
    int ok;

    if (rec == NULL || tok == NULL || rec->id == NULL
        || strcmp(rec->id, tok->id) != 0) {
        return AT_REASON_UNKNOWN_ID;
    }
    ok = at_token_digest_bytes(md, tok->secret);
    if (!ok || !v->have_digest
        || CRYPTO_memcmp(md, v->digest, AT_DIGEST_LEN) != 0) {
        if (ok && v->have_prev
            && CRYPTO_memcmp(md, v->prev_digest, AT_DIGEST_LEN) == 0) {
            if (now >= rec->prev_until) {
                r = AT_REASON_ROTATED_OUT;
            }
        }
        else {
            r = AT_REASON_WRONG_SECRET;
        }
    }
    OPENSSL_cleanse(md, sizeof(md));
    if (r != AT_REASON_OK) {
        return r;
    }
    /* Case-blind: the token alone decides who the request is, and clients
     * and people spell user names as they like. */
    if (user != NULL
        && (rec->owner == NULL || apr_cstr_casecmp(user, rec->owner) != 0)) {
        return AT_REASON_USER_MISMATCH;
    }
    if (rec->revoked_at != AT_TIME_NONE) {
        return AT_REASON_REVOKED;
    }
    if (rec->expires_at != AT_TIME_NONE && now >= rec->expires_at) {
        return AT_REASON_EXPIRED;
    }
    if (client_ip != NULL && rec->allowed_nets != NULL
        && rec->allowed_nets[0] != '\0'
        && !(v->nets_parsed
             ? at_nets_contain(v->nets, v->n_nets, client_ip)
             : at_nets_allow(rec->allowed_nets, client_ip, p))) {
        return AT_REASON_ADDRESS;
    }
    return AT_REASON_OK;
}

at_reason_t at_verify_record(const at_token_rec_t *rec, const at_token_t *tok,
                             at_time_t now, const char *client_ip,
                             const char *user, apr_pool_t *p)
{
    at_verify_prep_t v;
    at_reason_t r;

    if (rec == NULL) {
        return AT_REASON_UNKNOWN_ID;
    }
    at_verify_prepare(&v, rec, NULL);
    r = at_verify_prepared(rec, &v, tok, now, client_ip, user, p);
    OPENSSL_cleanse(&v, sizeof(v));
    return r;
}
