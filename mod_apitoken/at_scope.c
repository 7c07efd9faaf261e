/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* Scope names, normalisation and the feature[:level] satisfaction rule. */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "at_scope.h"

#define PART_MAX 64

static int part_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'
           || c == '-';
}

int at_scope_valid(const char *s)
{
    apr_size_t i, part = 0;
    int colons = 0;

    if (s == NULL) {
        return 0;
    }
    for (i = 0; s[i]; i++) {
        if (i >= AT_SCOPE_MAX) {
            return 0;
        }
        if (s[i] == ':') {
            if (part == 0 || ++colons > 1) {
                return 0;
            }
            part = 0;
        }
        else if (!part_char((unsigned char)s[i]) || ++part > PART_MAX) {
            return 0;
        }
    }
    return part > 0;
}

int at_scope_satisfies(const char *granted, const char *required)
{
    apr_size_t gl;

    if (granted == NULL || required == NULL || !*granted) {
        return 0;
    }
    if (strcmp(granted, required) == 0) {
        return 1;
    }
    /* A bare feature covers each of its levels; a level covers only itself. */
    if (strchr(granted, ':') != NULL) {
        return 0;
    }
    gl = strlen(granted);
    return strncmp(granted, required, gl) == 0 && required[gl] == ':';
}

int at_scopes_satisfy(const apr_array_header_t *granted, int full_access,
                      const char *required)
{
    int i;

    if (full_access) {
        return 1;
    }
    if (granted == NULL) {
        return 0;
    }
    for (i = 0; i < granted->nelts; i++) {
        if (at_scope_satisfies(APR_ARRAY_IDX(granted, i, const char *),
                               required)) {
            return 1;
        }
    }
    return 0;
}

static int is_sep(char c)
{
    return c == ' ' || c == ',' || c == '\t';
}

/* Split text into words, fold ASCII upper case, validate and append to
 * words.  APR_EINVAL with *bad on the first invalid word. */
static apr_status_t add_words(apr_array_header_t *words, const char *text,
                              const char **bad, apr_pool_t *p)
{
    const char *s = text;

    while (*s) {
        const char *start;
        char *w;
        apr_size_t n, i;

        while (*s && is_sep(*s)) {
            s++;
        }
        if (!*s) {
            break;
        }
        start = s;
        while (*s && !is_sep(*s)) {
            s++;
        }
        n = (apr_size_t)(s - start);
        w = apr_pstrmemdup(p, start, n);
        for (i = 0; i < n; i++) {
            if (w[i] >= 'A' && w[i] <= 'Z') {
                w[i] = (char)(w[i] - 'A' + 'a');
            }
        }
        if (!at_scope_valid(w)) {
            if (bad) {
                /* The original spelling, so the message matches the input. */
                *bad = apr_pstrmemdup(p, start, n);
            }
            return APR_EINVAL;
        }
        APR_ARRAY_PUSH(words, const char *) = w;
    }
    return APR_SUCCESS;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sort, drop duplicates and scopes implied by a broader granted one.
 * A level "f:l" is implied exactly when the bare feature "f" is present,
 * which a binary search over the sorted words finds: O(n log n). */
static apr_array_header_t *normalise_words(apr_array_header_t *w,
                                          apr_pool_t *p)
{
    apr_array_header_t *out = apr_array_make(p, w->nelts > 0 ? w->nelts : 1,
                                             sizeof(const char *));
    int i;

    if (w->nelts > 1) {
        qsort(w->elts, (size_t)w->nelts, sizeof(const char *), cmp_str);
    }
    for (i = 0; i < w->nelts; i++) {
        const char *s = APR_ARRAY_IDX(w, i, const char *);
        const char *colon = strchr(s, ':');

        if (out->nelts > 0
            && strcmp(APR_ARRAY_IDX(out, out->nelts - 1, const char *), s)
               == 0) {
            continue;
        }
        if (colon != NULL) {
            const char *feature = apr_pstrmemdup(p, s,
                                                 (apr_size_t)(colon - s));

            if (bsearch(&feature, w->elts, (size_t)w->nelts,
                        sizeof(const char *), cmp_str) != NULL) {
                continue;
            }
        }
        APR_ARRAY_PUSH(out, const char *) = s;
    }
    return out;
}

apr_status_t at_scopes_parse(apr_array_header_t **out, const char *text,
                             const char **bad, apr_pool_t *p)
{
    apr_array_header_t *w = apr_array_make(p, 4, sizeof(const char *));
    apr_status_t rv;

    *out = NULL;
    if (text != NULL && (rv = add_words(w, text, bad, p)) != APR_SUCCESS) {
        return rv;
    }
    *out = normalise_words(w, p);
    return APR_SUCCESS;
}

apr_status_t at_scopes_normalise(apr_array_header_t **out,
                                 const apr_array_header_t *in,
                                 const char **bad, apr_pool_t *p)
{
    apr_array_header_t *w = apr_array_make(p, 4, sizeof(const char *));
    apr_status_t rv;
    int i;

    *out = NULL;
    for (i = 0; in != NULL && i < in->nelts; i++) {
        const char *s = APR_ARRAY_IDX(in, i, const char *);

        if (s == NULL) {
            continue;
        }
        if ((rv = add_words(w, s, bad, p)) != APR_SUCCESS) {
            return rv;
        }
    }
    *out = normalise_words(w, p);
    return APR_SUCCESS;
}

const char *at_scopes_join(const apr_array_header_t *scopes, apr_pool_t *p)
{
    if (scopes == NULL || scopes->nelts == 0) {
        return "";
    }
    return apr_array_pstrcat(p, scopes, ' ');
}
