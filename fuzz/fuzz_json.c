/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* libFuzzer target: the strict JSON reader on raw bytes, at the API's
 * depth and at the default one.  Invariants on an accepted text: the tree
 * keeps within the value and depth limits; strings are valid UTF-8 without
 * NUL and as long as said; every member is found by its key (no
 * duplicates); the writer's text of the tree parses back to the same tree.
 * On a refused text: no tree and a reason with a byte offset inside it,
 * never the reader's own buffers running out. */
#include <stdint.h>

#include "fuzz_common.h"
#include "at_json.h"
#include "at_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct walk_t {
    apr_size_t nodes;
    int depth;
} walk_t;

static void check_utf8(const char *s, apr_size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0;

    FUZZ_ASSERT(strlen(s) == len);
    while (i < len) {
        apr_size_t n = at_utf8_seq(u + i, len - i, NULL);

        FUZZ_ASSERT(n > 0);
        i += n;
    }
}

static void check(const at_json_t *v, int depth, walk_t *w)
{
    int i;

    w->nodes++;
    if (depth > w->depth) {
        w->depth = depth;
    }
    switch (v->type) {
    case AT_JSON_STRING:
        check_utf8(v->str, v->len);
        break;
    case AT_JSON_NUMBER:
        FUZZ_ASSERT(v->str && strlen(v->str) == v->len && v->len <= 64);
        break;
    case AT_JSON_ARRAY:
    case AT_JSON_OBJECT:
        FUZZ_ASSERT(v->items && v->items->nelts >= 0);
        for (i = 0; i < v->items->nelts; i++) {
            const at_json_t *m = APR_ARRAY_IDX(v->items, i, at_json_t *);

            if (v->type == AT_JSON_OBJECT) {
                FUZZ_ASSERT(m->key != NULL);
                check_utf8(m->key, strlen(m->key));
                /* The first member with the key is this one: keys are
                 * unique (quadratic, so only for modest objects). */
                if (v->items->nelts <= 256) {
                    FUZZ_ASSERT(at_json_get(v, m->key) == m);
                }
            }
            else {
                FUZZ_ASSERT(m->key == NULL);
            }
            check(m, depth + 1, w);
        }
        break;
    default:
        FUZZ_ASSERT(v->type == AT_JSON_NULL || v->type == AT_JSON_TRUE
                    || v->type == AT_JSON_FALSE);
    }
}

static void write_tree(at_jbuf_t *b, const at_json_t *v)
{
    int i;

    switch (v->type) {
    case AT_JSON_NULL:   at_jbuf_raw(b, "null");  return;
    case AT_JSON_TRUE:   at_jbuf_raw(b, "true");  return;
    case AT_JSON_FALSE:  at_jbuf_raw(b, "false"); return;
    case AT_JSON_NUMBER: at_jbuf_raw(b, v->str);  return;
    case AT_JSON_STRING: at_jbuf_str(b, v->str);  return;
    default:
        break;
    }
    at_jbuf_raw(b, v->type == AT_JSON_OBJECT ? "{" : "[");
    for (i = 0; i < v->items->nelts; i++) {
        const at_json_t *m = APR_ARRAY_IDX(v->items, i, at_json_t *);

        if (i) {
            at_jbuf_raw(b, ",");
        }
        if (v->type == AT_JSON_OBJECT) {
            at_jbuf_str(b, m->key);
            at_jbuf_raw(b, ":");
        }
        write_tree(b, m);
    }
    at_jbuf_raw(b, v->type == AT_JSON_OBJECT ? "}" : "]");
}

static void same(const at_json_t *a, const at_json_t *b)
{
    int i;

    FUZZ_ASSERT(a->type == b->type);
    FUZZ_ASSERT((a->key == NULL) == (b->key == NULL));
    FUZZ_ASSERT(a->key == NULL || strcmp(a->key, b->key) == 0);
    if (a->type == AT_JSON_STRING || a->type == AT_JSON_NUMBER) {
        FUZZ_ASSERT(a->len == b->len && memcmp(a->str, b->str, a->len) == 0);
    }
    if (a->type == AT_JSON_ARRAY || a->type == AT_JSON_OBJECT) {
        FUZZ_ASSERT(a->items->nelts == b->items->nelts);
        for (i = 0; i < a->items->nelts; i++) {
            same(APR_ARRAY_IDX(a->items, i, at_json_t *),
                 APR_ARRAY_IDX(b->items, i, at_json_t *));
        }
    }
}

static void one(const char *text, size_t size, int max_depth, apr_pool_t *p)
{
    at_json_t *v = NULL, *v2 = NULL;
    const char *err = NULL, *at;
    walk_t w = { 0, 0 };
    at_jbuf_t b;
    apr_size_t n;
    const char *out;

    if (at_json_parse(&v, text, size, max_depth, &err, p) != APR_SUCCESS) {
        FUZZ_ASSERT(v == NULL && err != NULL);
        /* the reader's own bounds never run out */
        FUZZ_ASSERT(strstr(err, "internal error") == NULL);
        at = strstr(err, " at byte ");
        FUZZ_ASSERT(at != NULL);
        FUZZ_ASSERT(strtoul(at + 9, NULL, 10) <= size);
        return;
    }
    FUZZ_ASSERT(v != NULL && err == NULL);
    check(v, 0, &w);
    FUZZ_ASSERT(w.nodes <= AT_JSON_MAX_NODES && w.nodes <= size / 2 + 1);
    /* depth counts from 0 at the top; max_depth counts containers */
    FUZZ_ASSERT(w.depth <= (max_depth > 0 ? max_depth : AT_JSON_MAX_DEPTH));
    at_jbuf_init(&b, p);
    write_tree(&b, v);
    out = at_jbuf_text(&b, &n);
    if (at_json_parse(&v2, out, n, max_depth, &err, p) != APR_SUCCESS) {
        fprintf(stderr, "written text refused: %s\n", err);
        FUZZ_ASSERT(!"the writer's text of a tree parses back");
    }
    same(v, v2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    apr_pool_t *p = fuzz_pool();
    /* An exact-size heap copy, so that ASan sees any read past size. */
    char *buf = malloc(size ? size : 1);

    if (buf == NULL) {
        return 0;
    }
    if (size) {
        memcpy(buf, data, size);
    }
    one(buf, size, 16, p);
    one(buf, size, 0, p);
    free(buf);
    return 0;
}
