/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Resource patterns: normalisation, glob matching, the covered-by rule. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "at_resource.h"

static int pattern_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && c != ',' && c != '"' && c != '\\';
}

static unsigned char fold(unsigned char c, int nocase)
{
    return nocase && c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Glob match of p (pn bytes) against v (vn bytes): the greedy-star walk,
 * which on a mismatch resumes after the last star only, so the time is at
 * most pn * vn steps.  literal: p's '*' is a wildcard, v's is a plain
 * character either way. */
static int glob(const char *p, apr_size_t pn, const char *v, apr_size_t vn,
                int nocase)
{
    apr_size_t pi = 0, vi = 0, star = (apr_size_t)-1, mark = 0;

    while (vi < vn) {
        if (pi < pn && p[pi] == '*') {
            star = pi++;
            mark = vi;
        }
        else if (pi < pn && fold((unsigned char)p[pi], nocase)
                            == fold((unsigned char)v[vi], nocase)) {
            ++pi;
            ++vi;
        }
        else if (star != (apr_size_t)-1) {
            pi = star + 1;
            vi = ++mark;
        }
        else {
            return 0;
        }
    }
    while (pi < pn && p[pi] == '*') {
        ++pi;
    }
    return pi == pn;
}

/* Check and normalise one pattern of n bytes at w. */
static const char *pattern_norm(const char **out, const char *w,
                                apr_size_t n, apr_pool_t *p)
{
    char *s, *d;
    apr_size_t i;
    int name = w[0] != '/' && w[0] != '*';

    if (n > AT_RESOURCE_MAX) {
        return "is longer than 255 bytes";
    }
    for (i = 0; i < n; ++i) {
        if (!pattern_char((unsigned char)w[i])) {
            return "holds a character other than printable ASCII "
                   "(no space, comma, quote or backslash)";
        }
        if (i + 1 < n && w[i] == '.' && w[i + 1] == '.') {
            return "holds \"..\"";
        }
    }
    if (name && n > 1 && w[n - 1] == '.') {
        --n;
    }
    s = d = apr_pstrmemdup(p, w, n);
    /* Consecutive stars match what one does; one keeps the set canonical. */
    for (i = 0; i < n; ++i) {
        if (s[i] == '*' && d > s && d[-1] == '*') {
            continue;
        }
        *d++ = (char)fold((unsigned char)s[i], name);
    }
    *d = '\0';
    *out = s;
    return NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Words of text (spaces and commas) normalised, pushed onto arr. */
static apr_status_t add_words(apr_array_header_t *arr, const char *text,
                              const char **bad, const char **why,
                              apr_pool_t *p)
{
    const char *w = text ? text : "";

    for (;;) {
        apr_size_t n;
        const char *norm;

        w += strspn(w, " ,");
        if (!*w) {
            return APR_SUCCESS;
        }
        n = strcspn(w, " ,");
        if ((*why = pattern_norm(&norm, w, n, p)) != NULL) {
            *bad = apr_pstrmemdup(p, w, n > 300 ? 300 : n);
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(arr, const char *) = norm;
        w += n;
    }
}

/* Sorted, unique, joined; APR_EINVAL when longer than a set may be. */
static apr_status_t join_set(const char **norm, apr_array_header_t *arr,
                             const char **bad, const char **why,
                             apr_pool_t *p)
{
    apr_array_header_t *u = apr_array_make(p, arr->nelts + 1,
                                           sizeof(const char *));
    const char *s;
    int i;

    qsort(arr->elts, arr->nelts, sizeof(const char *), cmp_str);
    for (i = 0; i < arr->nelts; ++i) {
        const char *w = APR_ARRAY_IDX(arr, i, const char *);
        if (!u->nelts || strcmp(APR_ARRAY_IDX(u, u->nelts - 1, const char *),
                                w)) {
            APR_ARRAY_PUSH(u, const char *) = w;
        }
    }
    s = apr_array_pstrcat(p, u, ' ');
    if (strlen(s) > AT_RESOURCES_MAX) {
        *bad = "(all)";
        *why = "the patterns together are longer than 1024 bytes";
        return APR_EINVAL;
    }
    *norm = s;
    return APR_SUCCESS;
}

apr_status_t at_resources_parse(const char **norm, const char *text,
                                const char **bad, const char **why,
                                apr_pool_t *p)
{
    return at_resources_edit(norm, "", text, NULL, bad, why, p);
}

apr_status_t at_resources_edit(const char **norm, const char *set,
                               const char *add, const char *del,
                               const char **bad, const char **why,
                               apr_pool_t *p)
{
    apr_array_header_t *have = apr_array_make(p, 8, sizeof(const char *));
    apr_array_header_t *gone = apr_array_make(p, 4, sizeof(const char *));
    apr_array_header_t *keep = apr_array_make(p, 8, sizeof(const char *));
    apr_status_t rv;
    int i, j;

    if ((rv = add_words(have, set, bad, why, p)) != APR_SUCCESS
        || (rv = add_words(have, add, bad, why, p)) != APR_SUCCESS
        || (rv = add_words(gone, del, bad, why, p)) != APR_SUCCESS) {
        return rv;
    }
    for (i = 0; i < have->nelts; ++i) {
        const char *w = APR_ARRAY_IDX(have, i, const char *);
        for (j = 0; j < gone->nelts; ++j) {
            if (!strcmp(w, APR_ARRAY_IDX(gone, j, const char *))) {
                break;
            }
        }
        if (j == gone->nelts) {
            APR_ARRAY_PUSH(keep, const char *) = w;
        }
    }
    return join_set(norm, keep, bad, why, p);
}

const char *at_resource_value_check(const char *v)
{
    apr_size_t i;

    if (v == NULL || !*v) {
        return "the resource is empty";
    }
    for (i = 0; v[i]; ++i) {
        unsigned char c = (unsigned char)v[i];
        if (i >= AT_RESOURCE_VALUE_MAX) {
            return "the resource is longer than 1024 bytes";
        }
        if (c < 0x20 || c == 0x7f) {
            return "the resource holds a control character";
        }
        if (c == '.' && v[i + 1] == '.') {
            return "the resource holds \"..\"";
        }
    }
    return NULL;
}

/* Each pattern of the stored set in turn: *w and *n; 0 at the end. */
static int next_word(const char **cur, const char **w, apr_size_t *n)
{
    const char *s = *cur + strspn(*cur, " ");

    if (!*s) {
        return 0;
    }
    *w = s;
    *n = strcspn(s, " ");
    *cur = s + *n;
    return 1;
}

int at_resources_match(const char *set, const char *v)
{
    const char *cur = set ? set : "", *w;
    apr_size_t n, vn;
    int name;

    if (at_resource_value_check(v) != NULL) {
        return 0;
    }
    name = v[0] != '/';
    vn = strlen(v);
    if (name && vn > 1 && v[vn - 1] == '.') {
        --vn;
    }
    while (next_word(&cur, &w, &n)) {
        if (glob(w, n, v, vn, name)) {
            return 1;
        }
    }
    return 0;
}

int at_resources_covered(const char *a, const char *b)
{
    const char *ca = a ? a : "", *wa, *wb;
    apr_size_t na, nb;

    if (!b || !*b) {
        return 1;
    }
    if (!*ca) {
        return 0;
    }
    while (next_word(&ca, &wa, &na)) {
        const char *cb = b;
        int ok = 0;

        while (!ok && next_word(&cb, &wb, &nb)) {
            ok = glob(wb, nb, wa, na, 0);
        }
        if (!ok) {
            return 0;
        }
    }
    return 1;
}
