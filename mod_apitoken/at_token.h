/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_TOKEN_H
#define AT_TOKEN_H

#include <apr.h>
#include <apr_errno.h>

/* Token string: <prefix>_<id><secret><checksum>, all after '_' in base62
 * ([0-9A-Za-z]).  id: public, 12 chars.  secret: 32 chars from a CSPRNG
 * (about 190 bits).  checksum: CRC32 of everything before it, as 6 base62
 * chars, zero-padded.  With the default prefix the regex is
 * apt_[0-9A-Za-z]{50}. */
#define AT_PREFIX_MAX    16
#define AT_ID_LEN        12
#define AT_SECRET_LEN    32
#define AT_CHECKSUM_LEN  6
#define AT_BODY_LEN      (AT_ID_LEN + AT_SECRET_LEN + AT_CHECKSUM_LEN)
#define AT_TOKEN_MAX     (AT_PREFIX_MAX + 1 + AT_BODY_LEN)
#define AT_DIGEST_LEN    32
#define AT_DIGEST_HEX_LEN (2 * AT_DIGEST_LEN)
#define AT_DEFAULT_PREFIX "apt"

typedef struct at_token_t {
    char prefix[AT_PREFIX_MAX + 1];
    char id[AT_ID_LEN + 1];
    char secret[AT_SECRET_LEN + 1];
} at_token_t;

typedef enum {
    AT_TOKEN_OK = 0,
    AT_TOKEN_EMPTY,         /* zero length */
    AT_TOKEN_TOO_LONG,      /* longer than AT_TOKEN_MAX */
    AT_TOKEN_BAD_CHAR,      /* a byte outside the alphabet (NUL, space, non-ASCII) */
    AT_TOKEN_BAD_PREFIX,    /* no '_' or a prefix other than the expected one */
    AT_TOKEN_BAD_LENGTH,    /* body not exactly AT_BODY_LEN */
    AT_TOKEN_BAD_CHECKSUM
} at_token_status_t;

/* A prefix is 1..AT_PREFIX_MAX chars of [a-z0-9], starting with a letter. */
int at_prefix_valid(const char *prefix);

/* A public id is exactly AT_ID_LEN base62 chars. */
int at_id_valid(const char *id);

/* New random id and secret.  Writes the full token string (NUL-terminated)
 * into out, which must hold AT_TOKEN_MAX + 1 bytes.  APR_EGENERAL when the
 * CSPRNG fails or the prefix is invalid. */
apr_status_t at_token_generate(at_token_t *tok, char *out, const char *prefix);

/* New secret for an existing id (rotation); same output contract. */
apr_status_t at_token_regenerate(at_token_t *tok, char *out, const char *prefix,
                                 const char *id);

/* Format tok into out (AT_TOKEN_MAX + 1 bytes) with its checksum. */
void at_token_format(char *out, const at_token_t *tok);

/* Parse str[0..len) (may contain NULs: they are rejected).  expected_prefix
 * NULL accepts any valid prefix.  No database access: a wrong checksum is
 * rejected here. */
at_token_status_t at_token_parse(at_token_t *tok, const char *str,
                                 apr_size_t len, const char *expected_prefix);

const char *at_token_status_str(at_token_status_t st);

/* Lower-case hex SHA-256 of the secret into hex (AT_DIGEST_HEX_LEN + 1). */
void at_token_digest(char *hex, const char *secret);

/* SHA-256 of the secret into md (AT_DIGEST_LEN bytes); 0 on failure. */
int at_token_digest_bytes(unsigned char *md, const char *secret);

/* A stored digest (exactly AT_DIGEST_HEX_LEN lower-case hex digits) as
 * AT_DIGEST_LEN bytes; 0 when hex is not one. */
int at_digest_from_hex(unsigned char *md, const char *hex);

/* Constant-time comparison of two hex digests; 0 when either is NULL or the
 * lengths differ. */
int at_digest_equal(const char *a, const char *b);

/* Wipe the secret (OPENSSL_cleanse). */
void at_token_wipe(at_token_t *tok);

#endif
