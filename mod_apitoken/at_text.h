/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_TEXT_H
#define AT_TEXT_H

/* Text: UTF-8 sequences, control characters, the rules of names and free
 * text (owner, name, actor, description), and the one escaper that makes
 * any stored or user-supplied value safe to show on a terminal or in an
 * error message.  No httpd headers. */

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

#define AT_NAME_MAX        128   /* owner and name, bytes */
/* An actor is an account name with room for a tag before it ("web:"):
 * every owner the store accepts is also a valid actor with its tag.  The
 * apitoken_audit.actor column is VARCHAR(144), schema 3. */
#define AT_ACTOR_TAG_MAX   16    /* "tag:", bytes */
#define AT_ACTOR_MAX       (AT_NAME_MAX + AT_ACTOR_TAG_MAX)
#define AT_DESCRIPTION_MAX 1024

/* Validation of free text that reaches SQL (quoted): owner and name are
 * 1..AT_NAME_MAX bytes of valid UTF-8 without control characters.  An
 * owner (account) is also without ':' and space: it is the user in
 * "cpanel USER:TOKEN" and in Basic, neither of which can carry them, and
 * the one rule for the tool, the management API and ApiTokenManageAdmins.
 * Description: 0..AT_DESCRIPTION_MAX, valid UTF-8, no control characters.
 * Each returns NULL when fine, else a reason. */
const char *at_check_owner(const char *s);
const char *at_check_name(const char *s);
/* The actor of an audit event: as a name, 1..AT_ACTOR_MAX bytes. */
const char *at_check_actor(const char *s);
const char *at_check_description(const char *s);
/* What the store accepts as the owner of a row it writes back: the owner
 * rule as it was before the space rule, so that tokens written by an
 * earlier version can still be revoked, rotated and changed. */
const char *at_check_stored_owner(const char *s);

#endif
