/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Token format, generation, parsing, digest and constant-time comparison.
 * See at_token.h for the format. */
#include <string.h>
#include <pthread.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "at_token.h"

static const char b62[] =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static int is_b62(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
           || (c >= 'a' && c <= 'z');
}

/* CRC-32 as zlib computes it (reflected polynomial 0xEDB88320); neither
 * APR nor libcrypto exports one.  The table is constant, so it is safe to
 * use from any thread without initialisation. */
static const apr_uint32_t crc_table[256] = {
    0x00000000u, 0x77073096u, 0xee0e612cu, 0x990951bau,
    0x076dc419u, 0x706af48fu, 0xe963a535u, 0x9e6495a3u,
    0x0edb8832u, 0x79dcb8a4u, 0xe0d5e91eu, 0x97d2d988u,
    0x09b64c2bu, 0x7eb17cbdu, 0xe7b82d07u, 0x90bf1d91u,
    0x1db71064u, 0x6ab020f2u, 0xf3b97148u, 0x84be41deu,
    0x1adad47du, 0x6ddde4ebu, 0xf4d4b551u, 0x83d385c7u,
    0x136c9856u, 0x646ba8c0u, 0xfd62f97au, 0x8a65c9ecu,
    0x14015c4fu, 0x63066cd9u, 0xfa0f3d63u, 0x8d080df5u,
    0x3b6e20c8u, 0x4c69105eu, 0xd56041e4u, 0xa2677172u,
    0x3c03e4d1u, 0x4b04d447u, 0xd20d85fdu, 0xa50ab56bu,
    0x35b5a8fau, 0x42b2986cu, 0xdbbbc9d6u, 0xacbcf940u,
    0x32d86ce3u, 0x45df5c75u, 0xdcd60dcfu, 0xabd13d59u,
    0x26d930acu, 0x51de003au, 0xc8d75180u, 0xbfd06116u,
    0x21b4f4b5u, 0x56b3c423u, 0xcfba9599u, 0xb8bda50fu,
    0x2802b89eu, 0x5f058808u, 0xc60cd9b2u, 0xb10be924u,
    0x2f6f7c87u, 0x58684c11u, 0xc1611dabu, 0xb6662d3du,
    0x76dc4190u, 0x01db7106u, 0x98d220bcu, 0xefd5102au,
    0x71b18589u, 0x06b6b51fu, 0x9fbfe4a5u, 0xe8b8d433u,
    0x7807c9a2u, 0x0f00f934u, 0x9609a88eu, 0xe10e9818u,
    0x7f6a0dbbu, 0x086d3d2du, 0x91646c97u, 0xe6635c01u,
    0x6b6b51f4u, 0x1c6c6162u, 0x856530d8u, 0xf262004eu,
    0x6c0695edu, 0x1b01a57bu, 0x8208f4c1u, 0xf50fc457u,
    0x65b0d9c6u, 0x12b7e950u, 0x8bbeb8eau, 0xfcb9887cu,
    0x62dd1ddfu, 0x15da2d49u, 0x8cd37cf3u, 0xfbd44c65u,
    0x4db26158u, 0x3ab551ceu, 0xa3bc0074u, 0xd4bb30e2u,
    0x4adfa541u, 0x3dd895d7u, 0xa4d1c46du, 0xd3d6f4fbu,
    0x4369e96au, 0x346ed9fcu, 0xad678846u, 0xda60b8d0u,
    0x44042d73u, 0x33031de5u, 0xaa0a4c5fu, 0xdd0d7cc9u,
    0x5005713cu, 0x270241aau, 0xbe0b1010u, 0xc90c2086u,
    0x5768b525u, 0x206f85b3u, 0xb966d409u, 0xce61e49fu,
    0x5edef90eu, 0x29d9c998u, 0xb0d09822u, 0xc7d7a8b4u,
    0x59b33d17u, 0x2eb40d81u, 0xb7bd5c3bu, 0xc0ba6cadu,
    0xedb88320u, 0x9abfb3b6u, 0x03b6e20cu, 0x74b1d29au,
    0xead54739u, 0x9dd277afu, 0x04db2615u, 0x73dc1683u,
    0xe3630b12u, 0x94643b84u, 0x0d6d6a3eu, 0x7a6a5aa8u,
    0xe40ecf0bu, 0x9309ff9du, 0x0a00ae27u, 0x7d079eb1u,
    0xf00f9344u, 0x8708a3d2u, 0x1e01f268u, 0x6906c2feu,
    0xf762575du, 0x806567cbu, 0x196c3671u, 0x6e6b06e7u,
    0xfed41b76u, 0x89d32be0u, 0x10da7a5au, 0x67dd4accu,
    0xf9b9df6fu, 0x8ebeeff9u, 0x17b7be43u, 0x60b08ed5u,
    0xd6d6a3e8u, 0xa1d1937eu, 0x38d8c2c4u, 0x4fdff252u,
    0xd1bb67f1u, 0xa6bc5767u, 0x3fb506ddu, 0x48b2364bu,
    0xd80d2bdau, 0xaf0a1b4cu, 0x36034af6u, 0x41047a60u,
    0xdf60efc3u, 0xa867df55u, 0x316e8eefu, 0x4669be79u,
    0xcb61b38cu, 0xbc66831au, 0x256fd2a0u, 0x5268e236u,
    0xcc0c7795u, 0xbb0b4703u, 0x220216b9u, 0x5505262fu,
    0xc5ba3bbeu, 0xb2bd0b28u, 0x2bb45a92u, 0x5cb36a04u,
    0xc2d7ffa7u, 0xb5d0cf31u, 0x2cd99e8bu, 0x5bdeae1du,
    0x9b64c2b0u, 0xec63f226u, 0x756aa39cu, 0x026d930au,
    0x9c0906a9u, 0xeb0e363fu, 0x72076785u, 0x05005713u,
    0x95bf4a82u, 0xe2b87a14u, 0x7bb12baeu, 0x0cb61b38u,
    0x92d28e9bu, 0xe5d5be0du, 0x7cdcefb7u, 0x0bdbdf21u,
    0x86d3d2d4u, 0xf1d4e242u, 0x68ddb3f8u, 0x1fda836eu,
    0x81be16cdu, 0xf6b9265bu, 0x6fb077e1u, 0x18b74777u,
    0x88085ae6u, 0xff0f6a70u, 0x66063bcau, 0x11010b5cu,
    0x8f659effu, 0xf862ae69u, 0x616bffd3u, 0x166ccf45u,
    0xa00ae278u, 0xd70dd2eeu, 0x4e048354u, 0x3903b3c2u,
    0xa7672661u, 0xd06016f7u, 0x4969474du, 0x3e6e77dbu,
    0xaed16a4au, 0xd9d65adcu, 0x40df0b66u, 0x37d83bf0u,
    0xa9bcae53u, 0xdebb9ec5u, 0x47b2cf7fu, 0x30b5ffe9u,
    0xbdbdf21cu, 0xcabac28au, 0x53b39330u, 0x24b4a3a6u,
    0xbad03605u, 0xcdd70693u, 0x54de5729u, 0x23d967bfu,
    0xb3667a2eu, 0xc4614ab8u, 0x5d681b02u, 0x2a6f2b94u,
    0xb40bbe37u, 0xc30c8ea1u, 0x5a05df1bu, 0x2d02ef8du
};

static apr_uint32_t crc32_of(const char *s, apr_size_t len)
{
    apr_uint32_t c = 0xFFFFFFFFu;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        c = crc_table[(c ^ (unsigned char)s[i]) & 0xFF] ^ (c >> 8);
    }
    return c ^ 0xFFFFFFFFu;
}

/* CRC as AT_CHECKSUM_LEN base62 digits, most significant first
 * (62^6 > 2^32, so six digits always suffice). */
static void checksum_digits(char *out, apr_uint32_t v)
{
    int i;

    for (i = AT_CHECKSUM_LEN - 1; i >= 0; i--) {
        out[i] = b62[v % 62];
        v /= 62;
    }
}

static void checksum_b62(char *out, const char *s, apr_size_t len)
{
    checksum_digits(out, crc32_of(s, len));
}

int at_prefix_valid(const char *prefix)
{
    apr_size_t i;

    if (prefix == NULL || !(prefix[0] >= 'a' && prefix[0] <= 'z')) {
        return 0;
    }
    for (i = 0; prefix[i]; i++) {
        if (i >= AT_PREFIX_MAX) {
            return 0;
        }
        if (!((prefix[i] >= 'a' && prefix[i] <= 'z')
              || (prefix[i] >= '0' && prefix[i] <= '9'))) {
            return 0;
        }
    }
    return 1;
}

int at_id_valid(const char *id)
{
    apr_size_t i;

    if (id == NULL) {
        return 0;
    }
    for (i = 0; i < AT_ID_LEN; i++) {
        if (!is_b62((unsigned char)id[i])) {
            return 0;
        }
    }
    return id[AT_ID_LEN] == '\0';
}

/* Fill out[0..n) with uniform base62 characters.  Bytes >= 248 (4 * 62)
 * are discarded so that every character is equally likely. */
static apr_status_t random_b62(char *out, apr_size_t n)
{
    unsigned char buf[64];
    apr_size_t got = 0, i;
    int rounds;

    /* The chance of needing more than a few rounds is negligible; the bound
     * only guards against a broken generator. */
    for (rounds = 0; got < n && rounds < 64; rounds++) {
        if (RAND_bytes(buf, (int)sizeof(buf)) != 1) {
            OPENSSL_cleanse(buf, sizeof(buf));
            return APR_EGENERAL;
        }
        for (i = 0; i < sizeof(buf) && got < n; i++) {
            if (buf[i] < 248) {
                out[got++] = b62[buf[i] % 62];
            }
        }
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    return got == n ? APR_SUCCESS : APR_EGENERAL;
}

void at_token_format(char *out, const at_token_t *tok)
{
    apr_size_t plen = strlen(tok->prefix);
    char *p = out;

    memcpy(p, tok->prefix, plen);
    p += plen;
    *p++ = '_';
    memcpy(p, tok->id, AT_ID_LEN);
    p += AT_ID_LEN;
    memcpy(p, tok->secret, AT_SECRET_LEN);
    p += AT_SECRET_LEN;
    checksum_b62(p, out, (apr_size_t)(p - out));
    p[AT_CHECKSUM_LEN] = '\0';
}

apr_status_t at_token_regenerate(at_token_t *tok, char *out, const char *prefix,
                                 const char *id)
{
    if (!at_prefix_valid(prefix) || !at_id_valid(id)) {
        return APR_EGENERAL;
    }
    memset(tok, 0, sizeof(*tok));
    strcpy(tok->prefix, prefix);
    memcpy(tok->id, id, AT_ID_LEN);
    if (random_b62(tok->secret, AT_SECRET_LEN) != APR_SUCCESS) {
        at_token_wipe(tok);
        return APR_EGENERAL;
    }
    at_token_format(out, tok);
    return APR_SUCCESS;
}

apr_status_t at_token_generate(at_token_t *tok, char *out, const char *prefix)
{
    char id[AT_ID_LEN + 1];

    if (!at_prefix_valid(prefix) || random_b62(id, AT_ID_LEN) != APR_SUCCESS) {
        return APR_EGENERAL;
    }
    id[AT_ID_LEN] = '\0';
    return at_token_regenerate(tok, out, prefix, id);
}

/* Character classes of the token alphabet, for the one pass of
 * at_token_parse: base62, and what a prefix may hold ([a-z0-9]). */
#define TC_B62    1
#define TC_PREFIX 2

static const unsigned char token_class[256] = {
    ['0'] = 3, ['1'] = 3, ['2'] = 3, ['3'] = 3, ['4'] = 3,
    ['5'] = 3, ['6'] = 3, ['7'] = 3, ['8'] = 3, ['9'] = 3,
    ['a'] = 3, ['b'] = 3, ['c'] = 3, ['d'] = 3, ['e'] = 3, ['f'] = 3,
    ['g'] = 3, ['h'] = 3, ['i'] = 3, ['j'] = 3, ['k'] = 3, ['l'] = 3,
    ['m'] = 3, ['n'] = 3, ['o'] = 3, ['p'] = 3, ['q'] = 3, ['r'] = 3,
    ['s'] = 3, ['t'] = 3, ['u'] = 3, ['v'] = 3, ['w'] = 3, ['x'] = 3,
    ['y'] = 3, ['z'] = 3,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1
};

/* One pass over the string: the alphabet, where the prefix ends, whether
 * it holds only [a-z0-9], and the CRC of everything before the checksum
 * (the body has a fixed length, so where the checksum starts is known
 * before the pass). */
at_token_status_t at_token_parse(at_token_t *tok, const char *str,
                                 apr_size_t len, const char *expected_prefix)
{
    char sum[AT_CHECKSUM_LEN];
    apr_size_t i, us = 0, plen, crc_len;
    apr_size_t first_other = len;   /* first byte not in [a-z0-9] */
    apr_uint32_t crc = 0xFFFFFFFFu;
    int have_us = 0;

    if (tok != NULL) {
        memset(tok, 0, sizeof(*tok));
    }
    if (str == NULL || len == 0) {
        return AT_TOKEN_EMPTY;
    }
    if (len > AT_TOKEN_MAX) {
        return AT_TOKEN_TOO_LONG;
    }
    crc_len = len > AT_CHECKSUM_LEN ? len - AT_CHECKSUM_LEN : 0;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)str[i];
        unsigned char k = token_class[c];

        if (!(k & TC_PREFIX) && first_other == len) {
            first_other = i;
        }
        if (c == '_') {
            /* The body is pure base62, so the last '_' ends the prefix. */
            us = i;
            have_us = 1;
        }
        else if (!k) {
            return AT_TOKEN_BAD_CHAR;
        }
        if (i < crc_len) {
            crc = crc_table[(crc ^ c) & 0xFF] ^ (crc >> 8);
        }
    }
    plen = us;
    /* A valid prefix: 1..AT_PREFIX_MAX of [a-z0-9], a letter first, so
     * the first byte outside [a-z0-9] is the '_' that ends it. */
    if (!have_us || plen == 0 || plen > AT_PREFIX_MAX || first_other != us
        || !(str[0] >= 'a' && str[0] <= 'z')
        || (expected_prefix
            && (strlen(expected_prefix) != plen
                || memcmp(str, expected_prefix, plen) != 0))) {
        return AT_TOKEN_BAD_PREFIX;
    }
    if (len - plen - 1 != AT_BODY_LEN) {
        return AT_TOKEN_BAD_LENGTH;
    }
    checksum_digits(sum, crc ^ 0xFFFFFFFFu);
    if (CRYPTO_memcmp(sum, str + len - AT_CHECKSUM_LEN, AT_CHECKSUM_LEN) != 0) {
        return AT_TOKEN_BAD_CHECKSUM;
    }
    if (tok != NULL) {
        memcpy(tok->prefix, str, plen);
        memcpy(tok->id, str + plen + 1, AT_ID_LEN);
        memcpy(tok->secret, str + plen + 1 + AT_ID_LEN, AT_SECRET_LEN);
    }
    return AT_TOKEN_OK;
}

const char *at_token_status_str(at_token_status_t st)
{
    switch (st) {
    case AT_TOKEN_OK:           return "ok";
    case AT_TOKEN_EMPTY:        return "empty token";
    case AT_TOKEN_TOO_LONG:     return "token too long";
    case AT_TOKEN_BAD_CHAR:     return "character outside the token alphabet";
    case AT_TOKEN_BAD_PREFIX:   return "missing or wrong token prefix";
    case AT_TOKEN_BAD_LENGTH:   return "wrong token length";
    case AT_TOKEN_BAD_CHECKSUM: return "bad token checksum";
    }
    return "unknown token status";
}

/* OpenSSL 3 looks EVP_sha256() up in its provider tables on every
 * EVP_Digest (locks, property matching) and makes a fresh context: most of
 * the cost of hashing a 32-byte secret.  One fetched SHA-256 for the
 * process and one reused context per thread skip both. */
static EVP_MD *sha256_md;
static pthread_key_t sha256_key;
static int sha256_have_key;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha256_have_key = pthread_key_create(&sha256_key, sha256_ctx_free) == 0;
}

/* SHA-256 of secret on this thread's context; 0 on any failure. */
static int sha256_reused(unsigned char *md, unsigned int *mdlen,
                         const char *secret)
{
    EVP_MD_CTX *ctx;

    if (!sha256_md || !sha256_have_key) {
        return 0;
    }
    ctx = pthread_getspecific(sha256_key);
    if (!ctx) {
        if ((ctx = EVP_MD_CTX_new()) == NULL) {
            return 0;
        }
        if (pthread_setspecific(sha256_key, ctx) != 0) {
            EVP_MD_CTX_free(ctx);
            return 0;
        }
    }
    return EVP_DigestInit_ex2(ctx, sha256_md, NULL) == 1
           && EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1
           && EVP_DigestFinal_ex(ctx, md, mdlen) == 1;
}

int at_token_digest_bytes(unsigned char *md, const char *secret)
{
    unsigned int mdlen = 0;

    pthread_once(&sha256_once, sha256_fetch);
    if ((!sha256_reused(md, &mdlen, secret)
         && EVP_Digest(secret, strlen(secret), md, &mdlen,
                       sha256_md ? sha256_md : EVP_sha256(), NULL) != 1)
        || mdlen != AT_DIGEST_LEN) {
        /* Cannot happen with a working libcrypto. */
        return 0;
    }
    return 1;
}

void at_token_digest(char *hex, const char *secret)
{
    static const char hx[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int i;

    if (!at_token_digest_bytes(md, secret)) {
        /* An empty digest never equals a stored one, so failure denies. */
        hex[0] = '\0';
        return;
    }
    for (i = 0; i < AT_DIGEST_LEN; i++) {
        hex[2 * i] = hx[md[i] >> 4];
        hex[2 * i + 1] = hx[md[i] & 0xF];
    }
    hex[2 * AT_DIGEST_LEN] = '\0';
    OPENSSL_cleanse(md, sizeof(md));
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

int at_digest_from_hex(unsigned char *md, const char *hex)
{
    apr_size_t i;

    if (hex == NULL) {
        return 0;
    }
    /* Lower case only: the store writes it so, and a digest compared as
     * text never matched another spelling. */
    for (i = 0; i < AT_DIGEST_LEN; i++) {
        int hi = hex_value((unsigned char)hex[2 * i]);
        int lo = hi < 0 ? -1 : hex_value((unsigned char)hex[2 * i + 1]);

        if (lo < 0) {
            return 0;
        }
        md[i] = (unsigned char)(hi << 4 | lo);
    }
    return hex[2 * AT_DIGEST_LEN] == '\0';
}

int at_digest_equal(const char *a, const char *b)
{
    apr_size_t la, lb;

    if (a == NULL || b == NULL) {
        return 0;
    }
    la = strlen(a);
    lb = strlen(b);
    if (la != lb || la == 0) {
        return 0;
    }
    return CRYPTO_memcmp(a, b, la) == 0;
}

void at_token_wipe(at_token_t *tok)
{
    if (tok != NULL) {
        OPENSSL_cleanse(tok, sizeof(*tok));
    }
}
