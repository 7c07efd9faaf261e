/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Parsers of the credential-carrying header values (ApiTokenAccept forms).
 * They only split and validate; the token itself is checked later by
 * at_token_parse.  Error texts are static and never quote the input. */
#include <string.h>

#include <apr_base64.h>
#include <apr_cstr.h>
#include <apr_strings.h>

#include "at_cred.h"

static int is_b64token_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~' || c == '+' || c == '/';
}

int at_cred_is_b64token(const char *s, apr_size_t len)
{
    apr_size_t i = 0;

    if (s == NULL) {
        return 0;
    }
    while (i < len && is_b64token_char((unsigned char)s[i])) {
        i++;
    }
    if (i == 0) {
        return 0;
    }
    while (i < len && s[i] == '=') {
        i++;
    }
    return i == len;
}

static int is_ctl(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

static int has_ctl(const char *s, apr_size_t len)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (is_ctl((unsigned char)s[i])) {
            return 1;
        }
    }
    return 0;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }
    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }
    if (c == '+') {
        return 62;
    }
    if (c == '/') {
        return 63;
    }
    return -1;
}

/* Strict RFC 4648 base64: whole quanta, padding only at the end, and the
 * unused bits of the last symbol zero (so each value has one spelling).
 * apr_base64_decode itself skips nothing and stops silently on garbage,
 * hence the check first. */
static int strict_base64(const char *s, apr_size_t len)
{
    apr_size_t i, pad = 0;
    int last;

    if (len == 0 || len % 4 != 0) {
        return 0;
    }
    if (s[len - 1] == '=') {
        pad = (s[len - 2] == '=') ? 2 : 1;
    }
    for (i = 0; i < len - pad; i++) {
        if (b64_value((unsigned char)s[i]) < 0) {
            return 0;
        }
    }
    if (pad == 0) {
        return 1;
    }
    last = b64_value((unsigned char)s[len - pad - 1]);
    return pad == 2 ? (last & 0x0F) == 0 : (last & 0x03) == 0;
}

/* Split "USER:TOKEN" (n bytes).  User non-empty, token a b64token. */
static at_cred_status_t split_user_token(at_cred_t *out, const char *s,
                                         apr_size_t n, const char **why,
                                         apr_pool_t *p)
{
    const char *colon = memchr(s, ':', n);
    apr_size_t ulen;

    if (colon == NULL) {
        *why = "no ':' between user and token";
        return AT_CRED_MALFORMED;
    }
    ulen = (apr_size_t)(colon - s);
    if (ulen == 0) {
        *why = "empty user";
        return AT_CRED_MALFORMED;
    }
    if (ulen + 1 == n) {
        *why = "empty token";
        return AT_CRED_MALFORMED;
    }
    if (!at_cred_is_b64token(colon + 1, n - ulen - 1)) {
        *why = "token has characters outside RFC 6750 b64token";
        return AT_CRED_MALFORMED;
    }
    out->user = apr_pstrmemdup(p, s, ulen);
    out->token = apr_pstrmemdup(p, colon + 1, n - ulen - 1);
    return AT_CRED_FOUND;
}

at_cred_status_t at_cred_parse_authorization(at_cred_t *out, const char *value,
                                             int bearer, int basic,
                                             const char *const *scheme_words,
                                             const char **why, apr_pool_t *p)
{
    const char *s, *end, *scheme, *cred;
    apr_size_t slen, clen, vlen;
    at_form_t form = AT_FORM_NONE;

    memset(out, 0, sizeof(*out));
    *why = NULL;
    if (value == NULL) {
        *why = "no credentials";
        return AT_CRED_ABSENT;
    }
    vlen = strlen(value);
    s = value;
    end = value + vlen;
    /* httpd trims the field value; be as lenient with what remains. */
    while (s < end && (*s == ' ' || *s == '\t')) {
        s++;
    }
    while (end > s && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    scheme = s;
    while (s < end && *s != ' ' && *s != '\t') {
        s++;
    }
    slen = (apr_size_t)(s - scheme);
    if (slen == 0) {
        *why = "empty Authorization header";
        return AT_CRED_ABSENT;
    }
    if (bearer && slen == 6
        && apr_cstr_casecmpn(scheme, "Bearer", 6) == 0) {
        form = AT_FORM_BEARER;
    }
    else if (basic && slen == 5
             && apr_cstr_casecmpn(scheme, "Basic", 5) == 0) {
        form = AT_FORM_BASIC;
    }
    else if (scheme_words != NULL) {
        const char *const *w;

        for (w = scheme_words; *w; w++) {
            if (strlen(*w) == slen
                && apr_cstr_casecmpn(scheme, *w, slen) == 0) {
                form = AT_FORM_SCHEME;
                break;
            }
        }
    }
    if (form == AT_FORM_NONE) {
        *why = "authorization scheme not accepted here";
        return AT_CRED_ABSENT;
    }
    out->form = form;
    if (has_ctl(value, vlen)) {
        *why = "control character in Authorization header";
        return AT_CRED_MALFORMED;
    }
    /* One or more spaces separate the scheme from the credentials. */
    while (s < end && *s == ' ') {
        s++;
    }
    cred = s;
    clen = (apr_size_t)(end - cred);
    if (clen == 0) {
        *why = "empty credentials";
        return AT_CRED_MALFORMED;
    }
    if (memchr(cred, ' ', clen) != NULL) {
        *why = "extra parts after the credentials";
        return AT_CRED_MALFORMED;
    }

    switch (form) {
    case AT_FORM_BEARER:
        if (!at_cred_is_b64token(cred, clen)) {
            *why = "token has characters outside RFC 6750 b64token";
            return AT_CRED_MALFORMED;
        }
        out->token = apr_pstrmemdup(p, cred, clen);
        return AT_CRED_FOUND;

    case AT_FORM_SCHEME:
        return split_user_token(out, cred, clen, why, p);

    case AT_FORM_BASIC: {
        char *dec;
        int dlen;

        if (!strict_base64(cred, clen)) {
            *why = "invalid base64 in Basic credentials";
            return AT_CRED_MALFORMED;
        }
        {
            char *enc = apr_pstrmemdup(p, cred, clen);

            dec = apr_palloc(p, (apr_size_t)apr_base64_decode_len(enc) + 1);
            dlen = apr_base64_decode(dec, enc);
        }
        if (dlen < 0 || memchr(dec, '\0', (apr_size_t)dlen) != NULL
            || has_ctl(dec, (apr_size_t)dlen)) {
            *why = "control character in Basic credentials";
            return AT_CRED_MALFORMED;
        }
        if (memchr(dec, ' ', (apr_size_t)dlen) != NULL) {
            *why = "space in Basic credentials";
            return AT_CRED_MALFORMED;
        }
        return split_user_token(out, dec, (apr_size_t)dlen, why, p);
    }

    default:
        break;
    }
    *why = "authorization scheme not accepted here";
    return AT_CRED_ABSENT;
}

at_cred_status_t at_cred_parse_bare(at_cred_t *out, const char *value,
                                    const char **why, apr_pool_t *p)
{
    const char *s, *end;

    memset(out, 0, sizeof(*out));
    *why = NULL;
    if (value == NULL) {
        *why = "no credentials";
        return AT_CRED_ABSENT;
    }
    out->form = AT_FORM_HEADER;
    s = value;
    end = value + strlen(value);
    while (s < end && (*s == ' ' || *s == '\t')) {
        s++;
    }
    while (end > s && (end[-1] == ' ' || end[-1] == '\t')) {
        end--;
    }
    if (s == end) {
        *why = "empty token";
        return AT_CRED_MALFORMED;
    }
    if (has_ctl(s, (apr_size_t)(end - s))) {
        *why = "control character in token header";
        return AT_CRED_MALFORMED;
    }
    if (memchr(s, ' ', (apr_size_t)(end - s)) != NULL) {
        *why = "extra parts after the token";
        return AT_CRED_MALFORMED;
    }
    if (!at_cred_is_b64token(s, (apr_size_t)(end - s))) {
        *why = "token has characters outside RFC 6750 b64token";
        return AT_CRED_MALFORMED;
    }
    out->token = apr_pstrmemdup(p, s, (apr_size_t)(end - s));
    return AT_CRED_FOUND;
}
