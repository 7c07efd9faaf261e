/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Parsers of the credential-carrying header values (ApiTokenAccept forms).
 * They only split and validate; the token itself is checked later by
 * at_token_parse.  Error texts are static and never quote the input. */
#include <string.h>

#include <apr_base64.h>
#include <apr_cstr.h>
#include <apr_strings.h>

#include "at_cred.h"

/* Byte classes for the one pass over a credential: RFC 6750 b64token
 * characters (before any '='), control characters (tab included), and
 * the space that separates parts. */
#define CC_B64 1
#define CC_CTL 2
#define CC_SP  4

static const unsigned char cred_class[256] = {
    [0x00] = CC_CTL, [0x01] = CC_CTL, [0x02] = CC_CTL, [0x03] = CC_CTL,
    [0x04] = CC_CTL, [0x05] = CC_CTL, [0x06] = CC_CTL, [0x07] = CC_CTL,
    [0x08] = CC_CTL, [0x09] = CC_CTL, [0x0a] = CC_CTL, [0x0b] = CC_CTL,
    [0x0c] = CC_CTL, [0x0d] = CC_CTL, [0x0e] = CC_CTL, [0x0f] = CC_CTL,
    [0x10] = CC_CTL, [0x11] = CC_CTL, [0x12] = CC_CTL, [0x13] = CC_CTL,
    [0x14] = CC_CTL, [0x15] = CC_CTL, [0x16] = CC_CTL, [0x17] = CC_CTL,
    [0x18] = CC_CTL, [0x19] = CC_CTL, [0x1a] = CC_CTL, [0x1b] = CC_CTL,
    [0x1c] = CC_CTL, [0x1d] = CC_CTL, [0x1e] = CC_CTL, [0x1f] = CC_CTL,
    [0x7f] = CC_CTL, [' '] = CC_SP,
    ['-'] = CC_B64, ['.'] = CC_B64, ['_'] = CC_B64, ['~'] = CC_B64,
    ['+'] = CC_B64, ['/'] = CC_B64,
    ['0'] = CC_B64, ['1'] = CC_B64, ['2'] = CC_B64, ['3'] = CC_B64,
    ['4'] = CC_B64, ['5'] = CC_B64, ['6'] = CC_B64, ['7'] = CC_B64,
    ['8'] = CC_B64, ['9'] = CC_B64,
    ['A'] = CC_B64, ['B'] = CC_B64, ['C'] = CC_B64, ['D'] = CC_B64,
    ['E'] = CC_B64, ['F'] = CC_B64, ['G'] = CC_B64, ['H'] = CC_B64,
    ['I'] = CC_B64, ['J'] = CC_B64, ['K'] = CC_B64, ['L'] = CC_B64,
    ['M'] = CC_B64, ['N'] = CC_B64, ['O'] = CC_B64, ['P'] = CC_B64,
    ['Q'] = CC_B64, ['R'] = CC_B64, ['S'] = CC_B64, ['T'] = CC_B64,
    ['U'] = CC_B64, ['V'] = CC_B64, ['W'] = CC_B64, ['X'] = CC_B64,
    ['Y'] = CC_B64, ['Z'] = CC_B64,
    ['a'] = CC_B64, ['b'] = CC_B64, ['c'] = CC_B64, ['d'] = CC_B64,
    ['e'] = CC_B64, ['f'] = CC_B64, ['g'] = CC_B64, ['h'] = CC_B64,
    ['i'] = CC_B64, ['j'] = CC_B64, ['k'] = CC_B64, ['l'] = CC_B64,
    ['m'] = CC_B64, ['n'] = CC_B64, ['o'] = CC_B64, ['p'] = CC_B64,
    ['q'] = CC_B64, ['r'] = CC_B64, ['s'] = CC_B64, ['t'] = CC_B64,
    ['u'] = CC_B64, ['v'] = CC_B64, ['w'] = CC_B64, ['x'] = CC_B64,
    ['y'] = CC_B64, ['z'] = CC_B64
};

/* What one pass over s[0..len) found. */
typedef struct scan_t {
    int ctl;         /* a control character */
    int space;       /* a space */
    int b64token;    /* the whole is one b64token */
} scan_t;

static void scan(scan_t *sc, const char *s, apr_size_t len)
{
    apr_size_t i;
    unsigned int seen = 0;
    int in_pad = 0, bad = 0;

    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned int k = cred_class[c];

        seen |= k;
        if (c == '=') {
            /* Padding ends the token: at least one character before. */
            bad |= (i == 0);
            in_pad = 1;
        }
        else if (!(k & CC_B64) || in_pad) {
            bad = 1;
        }
    }
    sc->ctl = (seen & CC_CTL) != 0;
    sc->space = (seen & CC_SP) != 0;
    sc->b64token = len > 0 && !bad;
}

int at_cred_is_b64token(const char *s, apr_size_t len)
{
    scan_t sc;

    if (s == NULL) {
        return 0;
    }
    scan(&sc, s, len);
    return sc.b64token;
}

/* The token part s[0..n), as a string: s itself when it already ends the
 * NUL-terminated value (no copy), else a copy. */
static const char *token_string(const char *s, apr_size_t n, apr_pool_t *p)
{
    return s[n] == '\0' ? s : apr_pstrmemdup(p, s, n);
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
    out->token_len = n - ulen - 1;
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
    int trimmed_tab = 0;
    scan_t sc;

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
        trimmed_tab |= *s++ == '\t';
    }
    while (end > s && (end[-1] == ' ' || end[-1] == '\t')) {
        trimmed_tab |= *--end == '\t';
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
    /* One or more spaces separate the scheme from the credentials. */
    while (s < end && *s == ' ') {
        s++;
    }
    cred = s;
    clen = (apr_size_t)(end - cred);
    /* One pass over the credentials; the scheme held no control
     * character (it matched a word), so only the trimmed tabs remain. */
    scan(&sc, cred, clen);
    if (sc.ctl || trimmed_tab) {
        *why = "control character in Authorization header";
        return AT_CRED_MALFORMED;
    }
    if (clen == 0) {
        *why = "empty credentials";
        return AT_CRED_MALFORMED;
    }
    if (sc.space) {
        *why = "extra parts after the credentials";
        return AT_CRED_MALFORMED;
    }

    switch (form) {
    case AT_FORM_BEARER:
        if (!sc.b64token) {
            *why = "token has characters outside RFC 6750 b64token";
            return AT_CRED_MALFORMED;
        }
        out->token = token_string(cred, clen, p);
        out->token_len = clen;
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
        if (dlen < 0) {
            *why = "invalid base64 in Basic credentials";
            return AT_CRED_MALFORMED;
        }
        scan(&sc, dec, (apr_size_t)dlen);      /* NUL is a control too */
        if (sc.ctl) {
            *why = "control character in Basic credentials";
            return AT_CRED_MALFORMED;
        }
        if (sc.space) {
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
    apr_size_t n;
    scan_t sc;

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
    n = (apr_size_t)(end - s);
    scan(&sc, s, n);
    if (sc.ctl) {
        *why = "control character in token header";
        return AT_CRED_MALFORMED;
    }
    if (sc.space) {
        *why = "extra parts after the token";
        return AT_CRED_MALFORMED;
    }
    if (!sc.b64token) {
        *why = "token has characters outside RFC 6750 b64token";
        return AT_CRED_MALFORMED;
    }
    out->token = token_string(s, n, p);
    out->token_len = n;
    return AT_CRED_FOUND;
}
