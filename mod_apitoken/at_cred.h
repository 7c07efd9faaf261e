/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_CRED_H
#define AT_CRED_H

#include <apr_pools.h>

/* Credential forms a location accepts (ApiTokenAccept) and the parsers for
 * each header value.  Pure functions with no httpd types, so they are unit
 * tested and fuzzed alone. */

typedef enum {
    AT_FORM_NONE = 0,
    AT_FORM_BEARER,   /* Authorization: Bearer TOKEN (scheme case-insensitive) */
    AT_FORM_SCHEME,   /* Authorization: WORD USER:TOKEN   (cPanel style) */
    AT_FORM_BASIC,    /* Authorization: Basic base64(USER:TOKEN) */
    AT_FORM_HEADER    /* NAME: TOKEN */
} at_form_t;

typedef enum {
    AT_CRED_ABSENT = 0,  /* not a form we accept here: ignore it */
    AT_CRED_FOUND,       /* *out filled */
    AT_CRED_MALFORMED    /* ours but malformed: 400 invalid_request */
} at_cred_status_t;

typedef struct at_cred_t {
    at_form_t form;
    const char *user;    /* SCHEME and BASIC: the user part; else NULL */
    const char *token;   /* the token string as sent (not yet parsed);
                          * may point into the header value */
    apr_size_t token_len;
} at_cred_t;

/* Parse the value of one Authorization header.  bearer / basic say whether
 * those forms are accepted; scheme_words (NULL-terminated, may be NULL) are
 * the accepted scheme:WORD words.  Schemes compare case-insensitively.
 * AT_CRED_MALFORMED: empty token, a character outside RFC 6750's b64token,
 * missing or extra parts, bad base64, no ':' where one is needed, empty
 * user; *why (static text) names the problem.  Never copies the secret into
 * *why. */
at_cred_status_t at_cred_parse_authorization(at_cred_t *out, const char *value,
                                             int bearer, int basic,
                                             const char *const *scheme_words,
                                             const char **why, apr_pool_t *p);

/* Parse the value of a header:NAME header: optional surrounding spaces and
 * tabs, then one b64token. */
at_cred_status_t at_cred_parse_bare(at_cred_t *out, const char *value,
                                    const char **why, apr_pool_t *p);

/* 1 when s[0..len) is an RFC 6750 b64token:
 * 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" */
int at_cred_is_b64token(const char *s, apr_size_t len);

#endif
