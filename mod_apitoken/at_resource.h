/* Licensed under the Apache License, Version 2.0 (see COPYING). */
#ifndef AT_RESOURCE_H
#define AT_RESOURCE_H

#include <apr_pools.h>

/* Resource patterns: what a token may act on (a DNS zone, a folder).
 *
 * A pattern is 1..AT_RESOURCE_MAX bytes of printable ASCII without space,
 * ',', '"' or '\', and without "..".  '*' matches any run of characters,
 * empty included, dots and slashes included: "*.example.org" matches
 * "a.example.org" and "a.b.example.org" but not "example.org";
 * "/backup/" followed by a star matches everything below /backup/.
 *
 * A resource that begins with '/' is a path and compares exactly; any
 * other is a name (host, domain, mailbox) and compares without regard to
 * the case of ASCII letters, one trailing '.' ignored (example.com. is
 * example.com).  Patterns that can only match names (not beginning with
 * '/' or '*') are stored in lower case without the trailing dot.
 *
 * A request's resource is refused (matches nothing, whatever the
 * patterns) when it is empty, longer than AT_RESOURCE_VALUE_MAX, holds a
 * control character or "..".  Matching takes time proportional to the
 * product of the lengths at worst, never exponential.
 *
 * A set is stored as the normalised patterns joined by single spaces,
 * sorted, without duplicates; "" is no pattern: unrestricted. */
#define AT_RESOURCE_MAX        255
#define AT_RESOURCES_MAX       1024  /* a stored set, bytes */
#define AT_RESOURCE_VALUE_MAX  1024

/* Split text on spaces and commas, check and normalise each pattern,
 * sort, drop duplicates; *norm receives the stored form.  APR_EINVAL with
 * *bad (the offending word, or text when the set is too long) and *why. */
apr_status_t at_resources_parse(const char **norm, const char *text,
                                const char **bad, const char **why,
                                apr_pool_t *p);

/* The set with the patterns of add added and those of del (normalised
 * the same way) removed; errors as at_resources_parse. */
apr_status_t at_resources_edit(const char **norm, const char *set,
                               const char *add, const char *del,
                               const char **bad, const char **why,
                               apr_pool_t *p);

/* NULL when v may be matched, else why not. */
const char *at_resource_value_check(const char *v);

/* 1 when a pattern of the stored set matches the resource v (already
 * checked with at_resource_value_check).  Walks the stored form in place:
 * nothing is allocated or parsed per call. */
int at_resources_match(const char *set, const char *v);

/* 1 when every resource a matches is matched by b as well, judged
 * conservatively: each pattern of a, read as a literal string (its '*'
 * a plain character, exact case), must be matched by some pattern of b.
 * "" (unrestricted) is covered only by "". */
int at_resources_covered(const char *a, const char *b);

#endif
