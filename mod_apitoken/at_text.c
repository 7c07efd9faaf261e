/* Licensed under the Apache License, Version 2.0 (see COPYING). */

/* Text: UTF-8, the rules of names and free text, and the display escaper
 * (see at_text.h). */

#include <string.h>

#include <apr_strings.h>

#include "at_text.h"

#define QUOTE_MAX 120

apr_size_t at_utf8_seq(const unsigned char *s, apr_size_t avail,
                       apr_uint32_t *cp)
{
    apr_uint32_t c;
    apr_size_t n, i;

    if (avail == 0) {
        return 0;
    }
    if (s[0] < 0x80) {
        n = 1;
        c = s[0];
    }
    else {
        if (s[0] >= 0xc2 && s[0] <= 0xdf) {
            n = 2;
            c = s[0] & 0x1f;
        }
        else if (s[0] >= 0xe0 && s[0] <= 0xef) {
            n = 3;
            c = s[0] & 0x0f;
        }
        else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
            n = 4;
            c = s[0] & 0x07;
        }
        else {
            return 0;
        }
        if (n > avail) {
            return 0;
        }
        for (i = 1; i < n; i++) {
            if ((s[i] & 0xc0) != 0x80) {   /* also stops at a NUL */
                return 0;
            }
            c = (c << 6) | (s[i] & 0x3f);
        }
        if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000)
            || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff) {
            return 0;
        }
    }
    if (cp) {
        *cp = c;
    }
    return n;
}

/* Escape u into buf (room for 4 bytes per input byte) up to max input
 * bytes (the last sequence may run 3 past it); quote: backslash and quote
 * are escaped too.  Returns the bytes written; *used the bytes read. */
static apr_size_t escape(char *buf, const unsigned char *u, apr_size_t max,
                         int quote, apr_size_t *used)
{
    apr_size_t i = 0, o = 0;

    while (u[i] && i < max) {
        apr_uint32_t cp = 0;
        apr_size_t n = at_utf8_seq(u + i, AT_UTF8_NUL_TERMINATED, &cp);

        if (n > 0 && !AT_IS_CONTROL(cp)
            && !(quote && (cp == '\\' || cp == '\''))) {
            memcpy(buf + o, u + i, n);
            o += n;
            i += n;
        }
        else {
            /* Byte by byte, C1 included: U+009B is \xc2\x9b. */
            apr_size_t k, len = n ? n : 1;

            for (k = 0; k < len; k++) {
                apr_snprintf(buf + o, 5, "\\x%02x", u[i++]);
                o += 4;
            }
        }
    }
    *used = i;
    return o;
}

const char *at_text_clean(const char *s, apr_pool_t *p)
{
    const unsigned char *u = (const unsigned char *)(s ? s : "");
    apr_size_t len = strlen((const char *)u), used, o;
    char *buf;

    /* The tool refuses control characters, but the database may have been
     * written by something else: never send raw escapes to a terminal.
     * The common case needs no copy. */
    buf = apr_palloc(p, len * 4 + 1);
    o = escape(buf, u, len, 0, &used);
    if (o == len) {
        return s ? s : "";
    }
    buf[o] = '\0';
    return buf;
}

const char *at_text_quote(const char *s, apr_pool_t *p)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t o = 0, used;
    char *buf;

    if (!s) {
        return "(none)";
    }
    /* At most 4 output bytes per input byte (\xNN), and the last sequence
     * may run 3 bytes past the maximum; quotes, "..." and NUL. */
    buf = apr_palloc(p, (QUOTE_MAX + 3) * 4 + 8);
    buf[o++] = '\'';
    o += escape(buf + o, u, QUOTE_MAX, 1, &used);
    buf[o++] = '\'';
    if (u[used]) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

/* Valid UTF-8 without control characters (C0, DEL and C1: a C1 byte pair
 * such as U+009B is a terminal escape in some emulators). */
static const char *check_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    apr_uint32_t cp;
    apr_size_t n;

    while (*p) {
        n = at_utf8_seq(p, AT_UTF8_NUL_TERMINATED, &cp);
        if (n == 0) {
            return "is not valid UTF-8";
        }
        if (AT_IS_CONTROL(cp)) {
            return "contains a control character";
        }
        p += n;
    }
    return NULL;
}

static const char *check_name_like(const char *s)
{
    if (s == NULL || *s == '\0') {
        return "must not be empty";
    }
    if (strlen(s) > AT_NAME_MAX) {
        return "is longer than 128 bytes";
    }
    return check_text(s);
}

const char *at_check_stored_owner(const char *s)
{
    const char *why = check_name_like(s);

    if (why == NULL && strchr(s, ':') != NULL) {
        /* The owner is the user part of "USER:TOKEN" credentials. */
        return "must not contain ':'";
    }
    return why;
}

const char *at_check_owner(const char *s)
{
    const char *why = at_check_stored_owner(s);

    if (why == NULL && strchr(s, ' ') != NULL) {
        /* Neither the Basic nor the cPanel form can carry a space. */
        return "must not contain a space (no credential form can carry it)";
    }
    return why;
}

const char *at_check_name(const char *s)
{
    return check_name_like(s);
}

const char *at_check_actor(const char *s)
{
    if (s == NULL || *s == '\0') {
        return "must not be empty";
    }
    if (strlen(s) > AT_ACTOR_MAX) {
        return "is longer than 144 bytes";
    }
    return check_text(s);
}

const char *at_check_description(const char *s)
{
    if (s == NULL) {
        return NULL;
    }
    if (strlen(s) > AT_DESCRIPTION_MAX) {
        return "is longer than 1024 bytes";
    }
    return check_text(s);
}
