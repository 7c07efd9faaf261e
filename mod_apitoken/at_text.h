/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_TEXT_H
#define AT_TEXT_H

/* Text: UTF-8 sequences, control characters, and the one escaper that
 * makes any stored or user-supplied value safe to show on a terminal or in
 * an error message.  No httpd headers. */

#include <apr.h>
#include <apr_pools.h>

/* Length in bytes of the well-formed UTF-8 sequence at s (RFC 3629: no
 * overlong forms, surrogates or code points above U+10FFFF), reading at
 * most avail bytes; 0 when it is not well-formed.  For a NUL-terminated
 * string pass AT_UTF8_NUL_TERMINATED: the NUL ends any sequence.  *cp (may
 * be NULL) receives the code point. */
#define AT_UTF8_NUL_TERMINATED ((apr_size_t)-1)
apr_size_t at_utf8_seq(const unsigned char *s, apr_size_t avail,
                       apr_uint32_t *cp);

/* A code point the terminal may obey: C0, DEL or C1 (U+0080 to U+009F;
 * some emulators take U+009B as CSI). */
#define AT_IS_CONTROL(cp) ((cp) < 0x20 || ((cp) >= 0x7f && (cp) <= 0x9f))

/* s for a terminal: controls and invalid UTF-8 as \xNN, one per byte
 * (U+009B: \xc2\x9b); s itself when nothing needs escaping; "" for NULL. */
const char *at_text_clean(const char *s, apr_pool_t *p);

/* s quoted for an error message: as at_text_clean, and backslash and
 * quote escaped too, in single quotes, shortened after 120 bytes with
 * "..."; "(none)" for NULL. */
const char *at_text_quote(const char *s, apr_pool_t *p);

#endif
