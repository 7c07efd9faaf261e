/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_JSON_H
#define AT_JSON_H

/* A small strict JSON (RFC 8259) reader and a string-building writer, for
 * the management API.  No httpd headers.
 *
 * The reader accepts exactly one value with optional surrounding
 * whitespace and refuses: trailing commas, comments, single quotes, bare
 * words, leading zeros, invalid UTF-8, lone surrogates, "\u0000" (values
 * become C strings), control characters in strings, duplicate object keys,
 * nesting deeper than max_depth, more than AT_JSON_MAX_NODES values.
 *
 * Everything comes from the pool, in an amount linear in len whatever the
 * shape of the text: at most 88 bytes per value (node, exactly sized
 * array, slot in its container) and 5 per byte of text (decoded strings,
 * work stack); for a 64 KB text under 1 MB.  The time is O(len log len):
 * duplicate keys are found by sorting. */

#include <apr_pools.h>
#include <apr_tables.h>

typedef enum {
    AT_JSON_NULL = 0,
    AT_JSON_FALSE,
    AT_JSON_TRUE,
    AT_JSON_NUMBER,
    AT_JSON_STRING,
    AT_JSON_ARRAY,
    AT_JSON_OBJECT
} at_json_type_t;

typedef struct at_json_t at_json_t;
struct at_json_t {
    at_json_type_t type;
    const char *str;            /* STRING: the value; NUMBER: its text */
    apr_size_t len;             /* STRING, NUMBER: bytes of str, no NUL */
    double num;                 /* NUMBER */
    const char *key;            /* member of an OBJECT: its key, else NULL */
    apr_array_header_t *items;  /* ARRAY/OBJECT: at_json_t *, in order */
};

/* The deepest nesting allowed, whatever max_depth asks (the reader
 * recurses once per level). */
#define AT_JSON_MAX_DEPTH 32
/* Values (scalars and containers, at any depth) in one text: far above
 * what a management request needs, and it bounds the nodes whatever the
 * length of the text. */
#define AT_JSON_MAX_NODES 8192

/* Parse text[0..len) into *out.  max_depth: containers nested deeper are
 * refused (<= 0 or above AT_JSON_MAX_DEPTH: AT_JSON_MAX_DEPTH).
 * APR_EINVAL with *out NULL and *err ("... at byte N", from p) when the
 * text is not one strict JSON value. */
apr_status_t at_json_parse(at_json_t **out, const char *text, apr_size_t len,
                           int max_depth, const char **err, apr_pool_t *p);

/* Member key of obj, NULL when obj is not an object or has no such key. */
const at_json_t *at_json_get(const at_json_t *obj, const char *key);

/* The writer: a growing buffer of text. */
typedef struct at_jbuf_t {
    apr_array_header_t *a;      /* of char, no NUL until at_jbuf_text */
} at_jbuf_t;

void at_jbuf_init(at_jbuf_t *b, apr_pool_t *p);
void at_jbuf_raw(at_jbuf_t *b, const char *s);
void at_jbuf_printf(at_jbuf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* s as a JSON string; invalid UTF-8 becomes U+FFFD, control characters
 * and '<', '>', '&' are \u-escaped.  NULL writes null. */
void at_jbuf_str(at_jbuf_t *b, const char *s);
/* The space-separated words of s as an array of strings. */
void at_jbuf_words(at_jbuf_t *b, const char *s);
/* NUL-terminated text; *len receives its length when not NULL. */
const char *at_jbuf_text(at_jbuf_t *b, apr_size_t *len);

#endif
