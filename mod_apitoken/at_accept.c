/* Licensed under the Apache License, Version 2.0 (see COPYING). */
/* A small Accept parser (RFC 9110, 12.5.1): media ranges, parameters with
 * tokens or quoted strings, and the q weight in thousandths. */
#include <string.h>

#include <apr_cstr.h>
#include <apr_strings.h>

#include "at_accept.h"

/* RFC 9110 tchar */
static int is_tchar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || (c != '\0'
                                         && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

static const char *skip_token(const char *s)
{
    while (is_tchar(*s)) {
        s++;
    }
    return s;
}

/* Past a quoted-string starting at s (*s == '"'); NULL when unterminated. */
static const char *skip_quoted(const char *s)
{
    for (s++; *s; s++) {
        if (*s == '\\') {
            if (!*++s) {
                return NULL;
            }
        }
        else if (*s == '"') {
            return s + 1;
        }
    }
    return NULL;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in
 * thousandths; -1 when v[0..n) is not one. */
static int parse_q(const char *v, apr_size_t n)
{
    int q, scale = 100;
    apr_size_t i;

    if (n == 0 || (v[0] != '0' && v[0] != '1')) {
        return -1;
    }
    q = (v[0] - '0') * 1000;
    if (n == 1) {
        return q;
    }
    if (v[1] != '.' || n > 5) {
        return -1;
    }
    for (i = 2; i < n; i++, scale /= 10) {
        if (v[i] < '0' || v[i] > '9') {
            return -1;
        }
        q += (v[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* The best match so far of one media type. */
typedef struct match_t {
    const char *type;      /* "application" */
    const char *subtype;   /* "json" */
    int level;             /* 0 none, 1 star/star, 2 type/star, 3 exact,
                            * 4 exact with parameters */
    int q;
} match_t;

static void consider(match_t *m, const char *t, apr_size_t tlen,
                     const char *st, apr_size_t stlen, int params, int q)
{
    int level = 0;

    if (tlen == 1 && *t == '*') {
        level = (stlen == 1 && *st == '*') ? 1 : 0;
    }
    else if (tlen == strlen(m->type)
             && !apr_cstr_casecmpn(t, m->type, tlen)) {
        if (stlen == 1 && *st == '*') {
            level = 2;
        }
        else if (stlen == strlen(m->subtype)
                 && !apr_cstr_casecmpn(st, m->subtype, stlen)) {
            level = params ? 4 : 3;
        }
    }
    if (level > m->level || (level && level == m->level && q > m->q)) {
        m->level = level;
        m->q = q;
    }
}

/* Past a parameter value at s: a token or a quoted-string; NULL when a
 * quoted-string is unterminated (the rest of the field is inside it). */
static const char *skip_value(const char *s)
{
    return *s == '"' ? skip_quoted(s) : skip_token(s);
}

int at_accept_wants_json(const char *accept)
{
    match_t json = { "application", "json", 0, 0 };
    match_t html = { "text", "html", 0, 0 };
    const char *s = accept;

    if (s == NULL) {
        return 0;
    }
    while (s && *s) {
        const char *t, *st = NULL;
        apr_size_t tlen, stlen = 0;
        int q = 1000, params = 0, bad = 0;

        s = skip_ows(s);
        if (*s == ',') {
            s++;
            continue;
        }
        t = s;
        s = skip_token(s);
        tlen = (apr_size_t)(s - t);
        if (tlen == 0 || *s != '/') {
            bad = 1;
        }
        else {
            st = ++s;
            s = skip_token(s);
            stlen = (apr_size_t)(s - st);
            bad = stlen == 0;
        }
        /* Parameters: OWS ";" OWS token "=" ( token / quoted-string ) */
        while (!bad) {
            const char *name, *val;
            apr_size_t nlen;

            s = skip_ows(s);
            if (*s != ';') {
                break;
            }
            s = skip_ows(s + 1);
            if (*s == ',' || *s == ';' || !*s) {
                continue;              /* an empty parameter is allowed */
            }
            name = s;
            s = skip_token(s);
            nlen = (apr_size_t)(s - name);
            if (nlen == 0 || *s != '=') {
                bad = 1;
                break;
            }
            val = ++s;
            if ((s = skip_value(s)) == NULL) {
                break;
            }
            if (nlen == 1 && (*name == 'q' || *name == 'Q')) {
                q = parse_q(val, (apr_size_t)(s - val));
                bad = q < 0;
                /* What follows q are accept-extensions, not media type
                 * parameters: they do not make the range more specific. */
                while (!bad && s && *skip_ows(s) == ';') {
                    s = skip_token(skip_ows(skip_ows(s) + 1));
                    if (*s == '=') {
                        s = skip_value(s + 1);
                    }
                }
                break;
            }
            params = 1;
        }
        if (s == NULL) {
            break;                     /* unterminated quote: ignore it all */
        }
        s = skip_ows(s);
        if (!bad && *s && *s != ',') {
            bad = 1;
        }
        if (!bad) {
            consider(&json, t, tlen, st, stlen, params, q);
            consider(&html, t, tlen, st, stlen, params, q);
        }
        /* Skip the rest of a malformed element, quotes included. */
        while (s && *s && *s != ',') {
            s = *s == '"' ? skip_quoted(s) : s + 1;
        }
    }
    return json.level >= 2 && json.q > 0 && json.q >= html.q;
}
