/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Strict JSON for the management API: a recursive-descent reader bounded
 * in depth (so hostile nesting cannot exhaust the stack), in values and in
 * memory, and a writer that escapes enough for the text to be safe inside
 * HTML too.
 *
 * The reader's memory is linear in the input by construction: a node per
 * value, an exactly sized array per container, and every decoded string
 * and number in one buffer of the input's length (a string's text is never
 * longer than its escaped form, and its NUL takes the place of a quote).
 * The children of the open containers wait on one stack sized by the
 * input, and duplicate keys are found by sorting that stack when an object
 * closes, so the time is O(n log n) whatever the number of keys. */

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "at_json.h"
#include "at_store.h"

typedef struct reader_t {
    const unsigned char *s;
    apr_size_t len;
    apr_size_t pos;
    int max_depth;
    const char *err;
    apr_pool_t *p;
    char *text;                 /* decoded strings and numbers, NUL-ended */
    apr_size_t text_used;
    apr_size_t text_size;
    at_json_t **stack;          /* children of the open containers */
    apr_size_t top;
    apr_size_t stack_size;
    apr_size_t nodes;
} reader_t;

static apr_status_t bad_at(reader_t *r, apr_size_t pos, const char *why)
{
    if (!r->err) {
        r->err = apr_psprintf(r->p, "%s at byte %" APR_SIZE_T_FMT, why, pos);
    }
    return APR_EINVAL;
}

static apr_status_t bad(reader_t *r, const char *why)
{
    return bad_at(r, r->pos, why);
}

static void skip_ws(reader_t *r)
{
    while (r->pos < r->len
           && (r->s[r->pos] == ' ' || r->s[r->pos] == '\t'
               || r->s[r->pos] == '\n' || r->s[r->pos] == '\r')) {
        r->pos++;
    }
}

static int peek(reader_t *r)
{
    return r->pos < r->len ? r->s[r->pos] : -1;
}

static int literal(reader_t *r, const char *word)
{
    apr_size_t n = strlen(word);

    if (r->len - r->pos >= n && !memcmp(r->s + r->pos, word, n)) {
        r->pos += n;
        return 1;
    }
    return 0;
}

static int hex4(reader_t *r, unsigned long *cp)
{
    int i;

    *cp = 0;
    if (r->len - r->pos < 4) {
        return 0;
    }
    for (i = 0; i < 4; i++) {
        int c = r->s[r->pos + i];

        *cp <<= 4;
        if (c >= '0' && c <= '9') {
            *cp |= c - '0';
        }
        else if (c >= 'a' && c <= 'f') {
            *cp |= c - 'a' + 10;
        }
        else if (c >= 'A' && c <= 'F') {
            *cp |= c - 'A' + 10;
        }
        else {
            return 0;
        }
    }
    r->pos += 4;
    return 1;
}

static apr_size_t put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* At the opening quote; the text goes to the shared buffer.  Room is
 * certain: r->text_used never exceeds the input consumed before a value,
 * and the decoded text plus its NUL is never longer than the rest of the
 * input.  The check makes a broken invariant an error, not an overflow. */
static apr_status_t read_string(reader_t *r, const char **out,
                                apr_size_t *outlen)
{
    char *buf, *o;

    if (r->text_size - r->text_used < r->len - r->pos + 1) {
        return bad(r, "internal error: text buffer");
    }
    r->pos++;
    buf = o = r->text + r->text_used;
    while (r->pos < r->len) {
        int c = r->s[r->pos];

        if (c == '"') {
            r->pos++;
            *o++ = '\0';
            *out = buf;
            *outlen = (apr_size_t)(o - buf) - 1;
            r->text_used += (apr_size_t)(o - buf);
            return APR_SUCCESS;
        }
        if (c < 0x20) {
            return bad(r, "control character in string");
        }
        if (c == '\\') {
            unsigned long cp, lo;

            if (++r->pos >= r->len) {
                break;
            }
            c = r->s[r->pos++];
            switch (c) {
            case '"':  *o++ = '"';  continue;
            case '\\': *o++ = '\\'; continue;
            case '/':  *o++ = '/';  continue;
            case 'b':  *o++ = '\b'; continue;
            case 'f':  *o++ = '\f'; continue;
            case 'n':  *o++ = '\n'; continue;
            case 'r':  *o++ = '\r'; continue;
            case 't':  *o++ = '\t'; continue;
            case 'u':
                if (!hex4(r, &cp)) {
                    return bad(r, "bad \\u escape");
                }
                if (cp == 0) {
                    return bad(r, "\\u0000 in string");
                }
                if (cp >= 0xdc00 && cp <= 0xdfff) {
                    return bad(r, "lone low surrogate");
                }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (!literal(r, "\\u") || !hex4(r, &lo)
                        || lo < 0xdc00 || lo > 0xdfff) {
                        return bad(r, "lone high surrogate");
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                o += put_utf8(o, cp);
                continue;
            default:
                r->pos--;
                return bad(r, "bad escape");
            }
        }
        else {
            apr_size_t n = at_utf8_seq(r->s + r->pos, r->len - r->pos, NULL);

            if (n == 0) {
                return bad(r, "invalid UTF-8");
            }
            memcpy(o, r->s + r->pos, n);
            o += n;
            r->pos += n;
        }
    }
    return bad(r, "unterminated string");
}

static apr_status_t read_number(reader_t *r, at_json_t *v)
{
    apr_size_t start = r->pos, n;
    char *text, *end;

    if (peek(r) == '-') {
        r->pos++;
    }
    if (peek(r) == '0') {
        r->pos++;
    }
    else if (peek(r) >= '1' && peek(r) <= '9') {
        while (peek(r) >= '0' && peek(r) <= '9') {
            r->pos++;
        }
    }
    else {
        return bad(r, "bad number");
    }
    if (peek(r) == '.') {
        r->pos++;
        if (!(peek(r) >= '0' && peek(r) <= '9')) {
            return bad(r, "bad number");
        }
        while (peek(r) >= '0' && peek(r) <= '9') {
            r->pos++;
        }
    }
    if (peek(r) == 'e' || peek(r) == 'E') {
        r->pos++;
        if (peek(r) == '+' || peek(r) == '-') {
            r->pos++;
        }
        if (!(peek(r) >= '0' && peek(r) <= '9')) {
            return bad(r, "bad number");
        }
        while (peek(r) >= '0' && peek(r) <= '9') {
            r->pos++;
        }
    }
    n = r->pos - start;
    if (n > 64) {
        return bad(r, "number too long");
    }
    /* The NUL may land one past the input's end (a number ends the text,
     * or a delimiter follows): the buffer has that byte. */
    if (r->text_size - r->text_used < n + 1) {
        return bad(r, "internal error: text buffer");
    }
    text = r->text + r->text_used;
    memcpy(text, r->s + start, n);
    text[n] = '\0';
    r->text_used += n + 1;
    v->type = AT_JSON_NUMBER;
    v->str = text;
    v->len = n;
    v->num = strtod(text, &end);
    return APR_SUCCESS;
}

/* Members compare by key; the keys carry no NUL ("\u0000" is refused). */
static int key_cmp(const void *a, const void *b)
{
    const at_json_t *x = *(const at_json_t *const *)a;
    const at_json_t *y = *(const at_json_t *const *)b;

    return strcmp(x->key, y->key);
}

/* Sorts the members (the caller has copied them in document order). */
static int has_duplicate(at_json_t **m, apr_size_t n)
{
    apr_size_t i;

    qsort(m, n, sizeof(*m), key_cmp);
    for (i = 1; i < n; i++) {
        if (!strcmp(m[i - 1]->key, m[i]->key)) {
            return 1;
        }
    }
    return 0;
}

/* An array header and its n elements in one allocation, nothing spare. */
static apr_array_header_t *exact_array(at_json_t *const *elts, apr_size_t n,
                                       apr_pool_t *p)
{
    apr_array_header_t *a = apr_palloc(p, sizeof(*a) + n * sizeof(*elts));

    a->pool = p;
    a->elt_size = (int)sizeof(*elts);
    a->nelts = a->nalloc = (int)n;
    a->elts = (char *)(a + 1);
    if (n) {
        memcpy(a->elts, elts, n * sizeof(*elts));
    }
    return a;
}

static apr_status_t read_value(reader_t *r, at_json_t **out, int depth);

static apr_status_t read_container(reader_t *r, at_json_t *v, int depth)
{
    int object = peek(r) == '{';
    int close = object ? '}' : ']';
    apr_size_t open = r->pos, base = r->top, n;

    if (depth >= r->max_depth) {
        return bad(r, "nested too deeply");
    }
    v->type = object ? AT_JSON_OBJECT : AT_JSON_ARRAY;
    r->pos++;
    skip_ws(r);
    if (peek(r) == close) {
        r->pos++;
        v->items = exact_array(NULL, 0, r->p);
        return APR_SUCCESS;
    }
    for (;;) {
        const char *key = NULL;
        apr_size_t keylen;
        at_json_t *item;
        apr_status_t rv;

        skip_ws(r);
        if (object) {
            if (peek(r) != '"') {
                return bad(r, "expected a string key");
            }
            if ((rv = read_string(r, &key, &keylen)) != APR_SUCCESS) {
                return rv;
            }
            skip_ws(r);
            if (peek(r) != ':') {
                return bad(r, "expected ':'");
            }
            r->pos++;
        }
        if ((rv = read_value(r, &item, depth + 1)) != APR_SUCCESS) {
            return rv;
        }
        item->key = key;
        /* Room is certain: a value per node, and nodes are counted. */
        if (r->top >= r->stack_size) {
            return bad(r, "internal error: stack");
        }
        r->stack[r->top++] = item;
        skip_ws(r);
        if (peek(r) == ',') {
            r->pos++;
            continue;
        }
        if (peek(r) == close) {
            r->pos++;
            break;
        }
        return bad(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    n = r->top - base;
    v->items = exact_array(r->stack + base, n, r->p);
    if (object && has_duplicate(r->stack + base, n)) {
        return bad_at(r, open, "duplicate key in the object");
    }
    r->top = base;
    return APR_SUCCESS;
}

static apr_status_t read_value(reader_t *r, at_json_t **out, int depth)
{
    at_json_t *v;
    apr_status_t rv = APR_SUCCESS;
    int c;

    skip_ws(r);
    if (++r->nodes > AT_JSON_MAX_NODES) {
        *out = NULL;
        return bad(r, "too many values");
    }
    v = apr_pcalloc(r->p, sizeof(*v));
    c = peek(r);
    if (c == '{' || c == '[') {
        rv = read_container(r, v, depth);
    }
    else if (c == '"') {
        v->type = AT_JSON_STRING;
        rv = read_string(r, &v->str, &v->len);
    }
    else if (c == '-' || (c >= '0' && c <= '9')) {
        rv = read_number(r, v);
    }
    else if (literal(r, "true")) {
        v->type = AT_JSON_TRUE;
    }
    else if (literal(r, "false")) {
        v->type = AT_JSON_FALSE;
    }
    else if (literal(r, "null")) {
        v->type = AT_JSON_NULL;
    }
    else {
        rv = bad(r, c < 0 ? "unexpected end" : "unexpected character");
    }
    *out = v;
    return rv;
}

apr_status_t at_json_parse(at_json_t **out, const char *text, apr_size_t len,
                           int max_depth, const char **err, apr_pool_t *p)
{
    reader_t r;
    apr_status_t rv;
    apr_size_t most;

    memset(&r, 0, sizeof(r));
    r.s = (const unsigned char *)text;
    r.len = text ? len : 0;
    r.max_depth = max_depth > 0 && max_depth < AT_JSON_MAX_DEPTH
                  ? max_depth : AT_JSON_MAX_DEPTH;
    r.p = p;
    *err = NULL;
    /* n values need at least 2n - 1 bytes ("[0,0]"), and only children
     * wait on the stack. */
    most = r.len / 2 + 1;
    r.stack_size = most < AT_JSON_MAX_NODES ? most : AT_JSON_MAX_NODES;
    r.stack = apr_palloc(p, r.stack_size * sizeof(*r.stack));
    r.text_size = r.len + 1;
    r.text = apr_palloc(p, r.text_size);
    rv = read_value(&r, out, 0);
    if (rv == APR_SUCCESS) {
        skip_ws(&r);
        if (r.pos != r.len) {
            rv = bad(&r, "trailing data");
        }
    }
    if (rv != APR_SUCCESS) {
        *out = NULL;
        *err = r.err;
    }
    return rv;
}

const at_json_t *at_json_get(const at_json_t *obj, const char *key)
{
    int i;

    if (!obj || obj->type != AT_JSON_OBJECT) {
        return NULL;
    }
    for (i = 0; i < obj->items->nelts; i++) {
        const at_json_t *m = APR_ARRAY_IDX(obj->items, i, at_json_t *);

        if (m->key && !strcmp(m->key, key)) {
            return m;
        }
    }
    return NULL;
}

void at_jbuf_init(at_jbuf_t *b, apr_pool_t *p)
{
    b->a = apr_array_make(p, 1024, 1);
}

static void put(at_jbuf_t *b, const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(b->a, char) = s[i];
    }
}

void at_jbuf_raw(at_jbuf_t *b, const char *s)
{
    put(b, s, strlen(s));
}

void at_jbuf_printf(at_jbuf_t *b, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    s = apr_pvsprintf(b->a->pool, fmt, ap);
    va_end(ap);
    at_jbuf_raw(b, s);
}

void at_jbuf_str(at_jbuf_t *b, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t avail;

    if (!s) {
        at_jbuf_raw(b, "null");
        return;
    }
    avail = strlen(s);
    put(b, "\"", 1);
    while (*u) {
        apr_size_t n = at_utf8_seq(u, avail, NULL);
        char esc[8];

        if (n > 1) {
            put(b, (const char *)u, n);
        }
        else if (n == 0) {
            at_jbuf_raw(b, "\\ufffd");
            n = 1;
        }
        else if (*u == '"' || *u == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*u;
            put(b, esc, 2);
        }
        else if (*u < 0x20 || *u == 0x7f || *u == '<' || *u == '>'
                 || *u == '&') {
            apr_snprintf(esc, sizeof(esc), "\\u%04x", *u);
            put(b, esc, 6);
        }
        else {
            put(b, (const char *)u, 1);
        }
        u += n;
        avail -= n;
    }
    put(b, "\"", 1);
}

void at_jbuf_words(at_jbuf_t *b, const char *s)
{
    const char *p = s ? s : "";
    int first = 1;

    put(b, "[", 1);
    while (*p) {
        apr_size_t n;

        while (*p == ' ') {
            p++;
        }
        n = strcspn(p, " ");
        if (n == 0) {
            break;
        }
        if (!first) {
            put(b, ", ", 2);
        }
        first = 0;
        at_jbuf_str(b, apr_pstrmemdup(b->a->pool, p, n));
        p += n;
    }
    put(b, "]", 1);
}

const char *at_jbuf_text(at_jbuf_t *b, apr_size_t *len)
{
    if (len) {
        *len = (apr_size_t)b->a->nelts;
    }
    APR_ARRAY_PUSH(b->a, char) = '\0';
    b->a->nelts--;
    return b->a->elts;
}
